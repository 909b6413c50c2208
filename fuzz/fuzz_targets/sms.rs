#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| warden::uplink::modem::sms::fuzz_check(data));
