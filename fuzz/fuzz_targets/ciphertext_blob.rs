//! Fuzz target `ciphertext_blob`: see `kinko_server::fuzzing::ciphertext_blob` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::ciphertext_blob(data));
