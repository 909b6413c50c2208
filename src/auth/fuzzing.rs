//! Checks run by the fuzz targets (fuzz/) and, over the saved corpus, by
//! the unit tests, so CI exercises the corpus without cargo-fuzz. Each
//! check panics only when a property is broken.

use crate::auth::attr;
use crate::auth::factotum::{Factotum, RpcRead};
use crate::auth::proto::Env;

/// A fixed clock and a counter for randomness: runs repeat exactly.
struct FuzzEnv(u8);

impl Env for FuzzEnv {
    fn now(&self) -> u64 {
        1_111_111_109
    }
    fn random(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
}

fn factotum() -> Factotum {
    Factotum::new("fuzz", Box::new(FuzzEnv(0)))
}

/// Attributes: parsing any text then printing and parsing again gives the
/// same attributes, and printing is stable.
pub fn attr_check(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let a = attr::parse(&s);
    let printed = a.to_wire();
    let b = attr::parse(&printed);
    assert_eq!(a, b, "parse(print(parse(s))) != parse(s) for {s:?}");
    assert_eq!(b.to_wire(), printed);
}

/// ctl: every line is one write; afterwards each listed key parses back to
/// a key line the agent accepts again.
pub fn ctl_check(data: &[u8]) {
    let mut f = factotum();
    for line in data.split(|&b| b == b'\n') {
        let _ = f.ctl_write(line);
    }
    let listing = f.ctl_read();
    for line in listing.lines() {
        assert!(line.starts_with("key "), "bad listing line {line:?}");
    }
    assert_eq!(listing.lines().count(), f.keys().len());
}

/// rpc: a few keys, then every input line is an rpc write followed by a
/// read; nothing may panic and every read must answer or be pending.
pub fn rpc_check(data: &[u8]) {
    let mut f = factotum();
    for k in [
        "key proto=pass user=glenda !password=pw",
        "key proto=apop user=glenda !password=pw",
        "key proto=cram user=glenda !password=pw",
        "key proto=chap user=glenda !password=pw",
        "key proto=hotp user=glenda counter=0 !secret=GEZDGNBVGY3TQOJQ",
        "key proto=totp user=glenda dom=d !secret=GEZDGNBVGY3TQOJQ",
        "key proto=pass user=c confirm=1 !password=pw",
    ] {
        let _ = f.ctl_write(k.as_bytes());
    }
    let ids = [f.rpc_open("a"), f.rpc_open("b")];
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let id = ids[i % 2];
        if f.rpc_write(id, line).is_ok() {
            match f.rpc_read(id) {
                Ok(RpcRead::Reply(r)) => assert!(!r.is_empty() || line.is_empty()),
                Ok(RpcRead::Pending) | Err(_) => {}
            }
        }
        let _ = f.confirm_write(b"tag=1 answer=yes");
    }
}

/// AuthPAK and form1 decoders: a peer's public key (any bytes, any
/// length) either fails cleanly or gives a key; a key that decodes
/// encodes back to the same bytes; form1 messages open only with their
/// key and give back what was sealed.
pub fn pak_check(data: &[u8]) {
    use crate::auth::authsrv::{authpak, ed448, form1};
    let hash = authpak::PakHash::new(&[7; 16], "fuzz");
    let fixed = || zeroize::Zeroizing::new([0x11u8; ed448::LEN]);
    for client in [true, false] {
        let p = authpak::PakPriv::with_secret(&hash, client, fixed());
        let _ = p.finish(&hash, data);
    }
    if let Ok(y) = <&[u8; ed448::LEN]>::try_from(data.get(..ed448::LEN).unwrap_or_default()) {
        if let Some(pt) = ed448::Point::decode(y) {
            assert_eq!(&pt.encode(), y, "decode then encode changed the key");
        }
    }
    let key = [3u8; 32];
    let _ = form1::check(data);
    if let Some((num, body)) = form1::open(data, &key) {
        let mut nonce = [0u8; 4];
        nonce.copy_from_slice(&data[8..12]);
        let again = form1::seal(num, &body, &key, u32::from_le_bytes(nonce));
        assert_eq!(again.as_deref(), Some(data));
    }
    let _ = form1::Ticket::open(data, &key);
    let _ = form1::Authenticator::open(data, &key);
    // the ticket service after an AuthPAK request: any bytes that follow
    use crate::auth::authsrv::{decide, exchanges, wire};
    struct Db;
    impl decide::Accounts for Db {
        fn des_key(&self, _: &str) -> Option<[u8; 7]> {
            Some([1; 7])
        }
        fn aes_key(&self, u: &str) -> Option<[u8; 16]> {
            (u == "glenda").then_some([2; 16])
        }
    }
    let tr = wire::Ticketreq {
        ty: wire::types::AUTH_PAK,
        authid: "cpu".into(),
        authdom: "lan".into(),
        chal: [0; 8],
        hostid: "glenda".into(),
        uid: "glenda".into(),
    };
    if let Ok(req) = tr.emit() {
        let mut stream = req.to_vec();
        stream.extend_from_slice(data);
        let mut n = 0u8;
        let mut random = |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(1);
                *x = n;
            }
        };
        let mut s = exchanges::Session::new("lan", false);
        let _ = exchanges::converse(
            &mut s,
            &stream,
            &Db,
            &decide::SpeaksFor::default(),
            &mut random,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn run_corpus(dir: &str, check: fn(&[u8])) {
        let d = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(dir);
        let mut n = 0;
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            check(&std::fs::read(&p).unwrap());
            n += 1;
        }
        assert!(n > 0, "empty corpus {}", d.display());
    }

    #[test]
    fn attr_corpus() {
        run_corpus("attr", attr_check);
    }

    #[test]
    fn ctl_corpus() {
        run_corpus("ctl", ctl_check);
    }

    #[test]
    fn rpc_corpus() {
        run_corpus("rpc", rpc_check);
    }

    #[test]
    fn pak_corpus() {
        run_corpus("pak", pak_check);
    }

    use proptest::prelude::*;

    fn rpc_line() -> impl Strategy<Value = String> {
        let verb = prop_oneof![
            Just("start proto=pass role=client"),
            Just("start proto=apop role=client"),
            Just("start proto=cram role=server"),
            Just("start proto=chap role=client id=1"),
            Just("start proto=chap role=server"),
            Just("start proto=hotp role=client"),
            Just("start proto=totp role=server user=glenda"),
            Just("start proto=pass role=client confirm=1"),
            Just("read"),
            Just("readhex"),
            Just("write ok"),
            Just("write bad x"),
            Just("write glenda"),
            Just("writehex 00ff"),
            Just("authinfo"),
            Just("attr"),
        ];
        (verb, "[ -~]{0,12}").prop_map(|(v, junk)| {
            if junk.starts_with('#') {
                format!("write {junk}")
            } else {
                v.to_string()
            }
        })
    }

    proptest! {
        #[test]
        fn rpc_sequences_never_panic(lines in prop::collection::vec(rpc_line(), 0..24)) {
            rpc_check(lines.join("\n").as_bytes());
        }

        #[test]
        fn pak_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..140)) {
            pak_check(&data);
        }

        #[test]
        fn ctl_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
            ctl_check(&data);
            attr_check(&data);
        }
    }
}
