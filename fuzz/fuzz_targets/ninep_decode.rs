//! The 9P decoder on arbitrary bytes: never panics, and whatever decodes
//! encodes back to exactly the same bytes (the encoding is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::ninep::fcall::{decode, frame_len, peek_header, Framer, DEFAULT_MSIZE};

fuzz_target!(|data: &[u8]| {
    let _ = peek_header(data);
    let _ = frame_len(data, DEFAULT_MSIZE);
    if let Ok(m) = decode(data) {
        assert_eq!(m.encode(), data);
    }
    // The same bytes as a stream.
    let mut f = Framer::new();
    f.push(data);
    while let Ok(Some(frame)) = f.next_frame(DEFAULT_MSIZE) {
        if let Ok(m) = decode(&frame) {
            assert_eq!(m.encode(), frame);
        }
    }
});
