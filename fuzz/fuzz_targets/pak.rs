#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| warden::auth::fuzzing::pak_check(data));
