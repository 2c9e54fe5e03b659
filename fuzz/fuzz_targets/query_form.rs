//! Fuzz target `query_form`: see `kinko_server::fuzzing::query_form` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::query_form(data));
