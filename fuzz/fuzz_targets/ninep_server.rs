//! The 9P server on arbitrary message streams from two clients sharing
//! the demo tree: never panics, every reply decodes and fits msize, and
//! once both clients are gone nothing stays open or pending.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::ninep::demo::DemoTree;
use warden::ninep::fcall::{decode, Fcall, Framer, Msg, NOFID, NOTAG};
use warden::ninep::server::{Limits, Peer, Server};

fuzz_target!(|data: &[u8]| {
    let mut srv = Server::new("fuzz", DemoTree::new("fuzz"), Limits::default());
    let peer = Peer {
        pid: 1,
        uid: 1,
        gid: 1,
    };
    let a = srv.connect(peer, true);
    let b = srv.connect(peer, false);
    for c in [a, b] {
        srv.handle(
            c,
            &Msg::new(
                NOTAG,
                Fcall::Tversion {
                    msize: 8192,
                    version: "9P2000".into(),
                },
            )
            .encode(),
        );
        srv.handle(
            c,
            &Msg::new(
                0,
                Fcall::Tattach {
                    fid: 0,
                    afid: NOFID,
                    uname: "u".into(),
                    aname: String::new(),
                },
            )
            .encode(),
        );
    }
    let mut f = Framer::new();
    f.push(data);
    loop {
        let frame = match f.next_frame(srv.msize(a)) {
            Ok(Some(frame)) => frame,
            _ => break,
        };
        // The tag's low bit picks the client, so both take part.
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
});
