//! Checks run by the fuzz targets (fuzz/) and, over the saved corpus, by
//! tests/ninep_corpus.rs, so CI exercises the corpus without cargo-fuzz.
//! Each check panics only when a property is broken.

use super::demo::DemoTree;
use super::fcall::{
    decode, frame_len, peek_header, Fcall, Framer, Msg, DEFAULT_MSIZE, NOFID, NOTAG,
};
use super::server::{Limits, Peer, Server};

/// The decoder on arbitrary bytes: never panics, and whatever decodes
/// encodes back to exactly the same bytes (the encoding is canonical),
/// alone and as a stream of frames.
pub fn decode_check(data: &[u8]) {
    let _ = peek_header(data);
    let _ = frame_len(data, DEFAULT_MSIZE);
    if let Ok(m) = decode(data) {
        assert_eq!(m.encode(), data);
    }
    let mut f = Framer::new();
    f.push(data);
    while let Ok(Some(frame)) = f.next_frame(DEFAULT_MSIZE) {
        if let Ok(m) = decode(&frame) {
            assert_eq!(m.encode(), frame);
        }
    }
}

/// The server on an arbitrary message stream from two clients sharing
/// the demo tree (the tag's low bit picks the client): never panics,
/// every reply decodes and fits msize, and once both clients are gone
/// nothing stays open or pending.
pub fn server_check(data: &[u8]) {
    let mut srv = Server::new("fuzz", DemoTree::new("fuzz"), Limits::default());
    let peer = Peer {
        pid: 1,
        uid: 1,
        gid: 1,
    };
    let a = srv.connect(peer, true);
    let b = srv.connect(peer, false);
    for c in [a, b] {
        let version = Fcall::Tversion {
            msize: 8192,
            version: "9P2000".into(),
        };
        srv.handle(c, &Msg::new(NOTAG, version).encode());
        let attach = Fcall::Tattach {
            fid: 0,
            afid: NOFID,
            uname: "u".into(),
            aname: String::new(),
        };
        srv.handle(c, &Msg::new(0, attach).encode());
    }
    let mut f = Framer::new();
    f.push(data);
    while let Ok(Some(frame)) = f.next_frame(srv.msize(a)) {
        let c = if frame.get(5).is_some_and(|t| t & 1 == 1) {
            b
        } else {
            a
        };
        srv.handle(c, &frame);
        for (conn, reply) in srv.take_output() {
            assert!(reply.len() <= srv.msize(conn) as usize);
            assert!(decode(&reply).is_ok(), "undecodable reply {reply:02x?}");
        }
    }
    srv.disconnect(a);
    srv.disconnect(b);
    assert_eq!(srv.tree.open_handles(), 0);
    assert_eq!(srv.tree.waiting(), 0);
    assert_eq!(srv.connections(), 0);
}
