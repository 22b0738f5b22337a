#![no_main]
//! libFuzzer entry point; the logic is [`dotcoin_fuzz_targets::wallet_file`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| dotcoin_fuzz_targets::wallet_file(data));
