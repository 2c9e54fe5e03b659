//! Fuzz target `backup`: see `kinko_server::fuzzing::backup` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::backup(data));
