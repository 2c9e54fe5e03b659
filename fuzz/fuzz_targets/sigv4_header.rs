//! Fuzz target `sigv4_header`: see `kinko_server::fuzzing::sigv4_header` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::sigv4_header(data));
