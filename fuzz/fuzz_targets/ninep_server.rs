//! The 9P server on arbitrary message streams from two clients
//! (warden::ninep::fuzzing::server_check).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| warden::ninep::fuzzing::server_check(data));
