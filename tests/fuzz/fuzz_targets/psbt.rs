#![no_main]
//! libFuzzer entry point; the logic is [`dotcoin_fuzz_targets::psbt`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| dotcoin_fuzz_targets::psbt(data));
