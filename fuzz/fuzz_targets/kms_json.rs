//! Fuzz target `kms_json`: see `kinko_server::fuzzing::kms_json` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::kms_json(data));
