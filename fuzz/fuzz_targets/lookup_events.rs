//! Fuzz target `lookup_events`: see `kinko_server::fuzzing::lookup_events` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::lookup_events(data));
