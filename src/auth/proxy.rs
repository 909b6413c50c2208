//! `auth_proxy` (plan9port src/libauth/auth_proxy.c): relay a factotum
//! conversation to a peer over a byte stream. The factotum's rpc decides
//! every message; this loop only moves bytes, which makes it the I/O edge
//! of the sans-IO protocols: `ok data` goes to the peer, `phase` (the
//! protocol wants input) reads from the peer, `toosmall n` reads until `n`
//! bytes are at hand and writes them again, `done` ends with authinfo.

use crate::auth::factotum::conv::ConvId;
use crate::auth::factotum::rpc::{unpack_authinfo, AuthInfo};
use crate::auth::factotum::{Factotum, RpcRead};
use crate::auth::proto::AUTH_RPC_MAX;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// One rpc: write the request, read the reply (a reply that waits on
/// confirm or needkey is an error here: nobody answers those).
pub fn rpc(f: &mut Factotum, id: ConvId, req: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    f.rpc_write(id, req).map_err(|e| e.to_string())?;
    match f.rpc_read(id).map_err(|e| e.to_string())? {
        RpcRead::Reply(r) => Ok(r),
        RpcRead::Pending => Err("the conversation waits for confirm or needkey".into()),
    }
}

fn verb(r: &[u8]) -> (&[u8], &[u8]) {
    match r.iter().position(|&c| c == b' ') {
        Some(i) => (&r[..i], &r[i + 1..]),
        None => (r, &[]),
    }
}

/// Run the conversation started with `start` (e.g. `proto=p9any
/// role=server`) against `peer` until it is done; the authinfo.
pub fn auth_proxy<S: Read + Write>(
    f: &mut Factotum,
    peer: &mut S,
    start: &str,
) -> Result<AuthInfo, String> {
    let id = f.rpc_open(f.owner().to_string().as_str());
    let r = run(f, id, peer, start);
    f.rpc_close(id);
    r
}

fn run<S: Read + Write>(
    f: &mut Factotum,
    id: ConvId,
    peer: &mut S,
    start: &str,
) -> Result<AuthInfo, String> {
    let r = rpc(f, id, format!("start {start}").as_bytes())?;
    if &r[..] != b"ok" {
        return Err(String::from_utf8_lossy(&r).into_owned());
    }
    // 200 round trips is far more than any protocol needs
    for _ in 0..200 {
        let r = rpc(f, id, b"read")?;
        let (v, data) = verb(&r);
        match v {
            b"ok" => peer
                .write_all(data)
                .map_err(|e| format!("writing to the peer: {e}"))?,
            b"done" => return authinfo(f, id),
            b"phase" => {
                // the protocol wants the peer's next message
                let mut buf = Zeroizing::new(Vec::new());
                loop {
                    let mut req = b"write ".to_vec();
                    req.extend_from_slice(&buf);
                    let r = rpc(f, id, &req)?;
                    let (v, data) = verb(&r);
                    match v {
                        b"ok" => break,
                        b"done" => return authinfo(f, id),
                        b"toosmall" => {
                            let n: usize = std::str::from_utf8(data)
                                .ok()
                                .and_then(|s| s.trim().parse().ok())
                                .filter(|&n| n <= AUTH_RPC_MAX && n > buf.len())
                                .ok_or("bad toosmall reply")?;
                            let have = buf.len();
                            buf.resize(n, 0);
                            let got = peer
                                .read(&mut buf[have..])
                                .map_err(|e| format!("reading from the peer: {e}"))?;
                            if got == 0 {
                                return Err("the peer hung up".into());
                            }
                            buf.truncate(have + got);
                        }
                        _ => return Err(String::from_utf8_lossy(&r).into_owned()),
                    }
                }
            }
            _ => return Err(String::from_utf8_lossy(&r).into_owned()),
        }
    }
    Err("too many rounds".into())
}

fn authinfo(f: &mut Factotum, id: ConvId) -> Result<AuthInfo, String> {
    let r = rpc(f, id, b"authinfo")?;
    match r.strip_prefix(b"ok ") {
        Some(b) => unpack_authinfo(b).map_err(|e| format!("authinfo: {e}")),
        None => Err(String::from_utf8_lossy(&r).into_owned()),
    }
}
