//! Fuzz target `sigv4_query`: see `kinko_server::fuzzing::sigv4_query` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::sigv4_query(data));
