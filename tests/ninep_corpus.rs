//! The fuzz regression corpus (fuzz/corpus, kept by `cargo fuzz cmin`)
//! replayed as ordinary tests, with the same checks as the fuzz targets
//! in fuzz/fuzz_targets, so CI runs them without libFuzzer.

use std::path::Path;
use warden::ninep::demo::DemoTree;
use warden::ninep::fcall::{
    decode, frame_len, peek_header, Fcall, Framer, Msg, DEFAULT_MSIZE, NOFID, NOTAG,
};
use warden::ninep::server::{Limits, Peer, Server};

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    assert!(
        v.len() > 10,
        "{} holds only {} inputs",
        dir.display(),
        v.len()
    );
    v
}

#[test]
fn decode_corpus() {
    for data in corpus("ninep_decode") {
        let _ = peek_header(&data);
        let _ = frame_len(&data, DEFAULT_MSIZE);
        if let Ok(m) = decode(&data) {
            assert_eq!(m.encode(), data);
        }
        let mut f = Framer::new();
        f.push(&data);
        while let Ok(Some(frame)) = f.next_frame(DEFAULT_MSIZE) {
            if let Ok(m) = decode(&frame) {
                assert_eq!(m.encode(), frame);
            }
        }
    }
}

#[test]
fn server_corpus() {
    for data in corpus("ninep_server") {
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
        f.push(&data);
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
    }
}
