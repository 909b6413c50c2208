//! The 9P decoder on arbitrary bytes (warden::ninep::fuzzing::decode_check).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| warden::ninep::fuzzing::decode_check(data));
