//! Fuzz target `config_toml`: see `kinko_server::fuzzing::config_toml` for what it runs and its input format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kinko_server::fuzzing::config_toml(data));
