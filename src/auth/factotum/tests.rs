//! Transcripts: what the files answer for given inputs. The expected
//! strings are plan9port's (file and function cited at each test), except
//! where marked as warden's own (server roles, hotp, blocking needkey).

use super::*;
use crate::auth::proto::Env;
// AtomicU32: 32-bit mips has no 64-bit atomics; the test times fit.
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A clock tests move by hand and a counting "random" source.
struct TestEnv {
    now: Arc<AtomicU32>,
    n: u8,
}

impl Env for TestEnv {
    fn now(&self) -> u64 {
        u64::from(self.now.load(Ordering::SeqCst))
    }
    fn random(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.n;
            self.n = self.n.wrapping_add(1);
        }
    }
}

fn fact_at(now: u64) -> (Factotum, Arc<AtomicU32>) {
    let clock = Arc::new(AtomicU32::new(
        u32::try_from(now).expect("test time fits u32"),
    ));
    let env = TestEnv {
        now: clock.clone(),
        n: 1,
    };
    (Factotum::new("glenda", Box::new(env)), clock)
}

fn fact() -> Factotum {
    fact_at(1_000_000_000).0
}

fn ctl(f: &mut Factotum, s: &str) -> Result<(), String> {
    f.ctl_write(s.as_bytes()).map_err(|e| e.to_string())
}

/// One rpc round: write the request, read the reply.
fn rpc(f: &mut Factotum, c: ConvId, req: &[u8]) -> Vec<u8> {
    match f.rpc_write(c, req) {
        Err(e) => format!("write error: {e}").into_bytes(),
        Ok(()) => match f.rpc_read(c) {
            Ok(RpcRead::Reply(r)) => r.to_vec(),
            Ok(RpcRead::Pending) => b"<pending>".to_vec(),
            Err(e) => format!("read error: {e}").into_bytes(),
        },
    }
}

fn rpcs(f: &mut Factotum, c: ConvId, req: &str) -> String {
    String::from_utf8_lossy(&rpc(f, c, req.as_bytes())).into_owned()
}

fn drain_log(f: &mut Factotum) -> Vec<String> {
    std::iter::from_fn(|| f.log_read()).collect()
}

// ---- ctl (plan9port ctl.c ctlwrite, fs.c keylist) ----

#[test]
fn ctl_key_listing() {
    let mut f = fact();
    ctl(&mut f, "key proto=pass user=glenda !password='open sesame'").unwrap();
    ctl(
        &mut f,
        "key proto=apop user=glenda dom=bell-labs.com !password=x\n",
    )
    .unwrap();
    ctl(
        &mut f,
        "key proto=hotp user=glenda counter=0 !secret=GEZDGNBV",
    )
    .unwrap();
    // fs.c keylist: "key %A %N\n" with the public attributes sorted
    assert_eq!(
        f.ctl_read(),
        "key proto=pass user=glenda !password?\n\
         key dom=bell-labs.com proto=apop user=glenda !password?\n\
         key counter=0 proto=hotp user=glenda !secret?\n"
    );
    // a key without secrets still has the space before the (empty) names
    let mut g = fact();
    ctl(&mut g, "key proto=totp user=u dom=d !secret=GEZDGNBV").unwrap();
    ctl(&mut g, "delkey proto=totp").unwrap();
    assert_eq!(g.ctl_read(), "");
}

#[test]
fn ctl_replaces_same_public_attrs() {
    let mut f = fact();
    ctl(&mut f, "key proto=pass user=glenda !password=one").unwrap();
    ctl(&mut f, "key proto=pass user=glenda !password=two").unwrap();
    assert_eq!(f.keys().len(), 1);
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=pass role=client");
    assert_eq!(rpcs(&mut f, c, "read"), "ok glenda two");
    // a different public attribute makes a second key
    ctl(
        &mut f,
        "key proto=pass user=glenda server=x !password=three",
    )
    .unwrap();
    assert_eq!(f.keys().len(), 2);
}

#[test]
fn ctl_several_protos() {
    let mut f = fact();
    // ctl.c adds one key per proto= attribute
    ctl(&mut f, "key proto=apop proto=cram user=glenda !password=x").unwrap();
    assert_eq!(
        f.ctl_read(),
        "key proto=apop user=glenda !password?\nkey proto=cram user=glenda !password?\n"
    );
    // an unknown one fails but the others are added
    assert_eq!(
        ctl(&mut f, "key proto=pass proto=bogus user=u !password=p").unwrap_err(),
        "unknown proto bogus"
    );
    assert_eq!(f.keys().len(), 3);
}

#[test]
fn ctl_errors() {
    let mut f = fact();
    let e = |f: &mut Factotum, s: &str| ctl(f, s).unwrap_err();
    // ctl.c: werrstr("unknown verb %s", a)
    assert_eq!(e(&mut f, "frob x=1"), "unknown verb frob");
    // the verb ends at a space only: a tab is part of it
    assert_eq!(e(&mut f, "key\tproto=pass"), "unknown verb key\tproto=pass");
    assert_eq!(e(&mut f, "key user=glenda"), "key without protos");
    assert_eq!(e(&mut f, "key"), "key without protos");
    assert_eq!(e(&mut f, "key proto=rot13 user=x"), "unknown proto rot13");
    assert_eq!(
        e(&mut f, "key proto=pass user=glenda"),
        "missing attributes -- want user? !password?"
    );
    assert_eq!(
        e(&mut f, "key proto=apop !password=x"),
        "missing attributes -- want user? !password?"
    );
    assert_eq!(
        e(&mut f, "key proto=totp user=glenda !secret=x"),
        "missing attributes -- want user? dom? !secret?"
    );
    // totp.c totpcheck
    assert_eq!(
        e(&mut f, "key proto=totp user=glenda dom=d !secret=1"),
        "malformed secret"
    );
    assert_eq!(
        e(
            &mut f,
            "key proto=hotp user=glenda digits=9 !secret=GEZDGNBV"
        ),
        "bad digits=9: want 6, 7 or 8"
    );
    assert_eq!(
        e(
            &mut f,
            "key proto=pass user=u !password=p\nkey proto=pass user=v !password=q"
        ),
        "multiline write not allowed"
    );
    // ctl.c delkey
    assert_eq!(e(&mut f, "delkey proto=pass"), "found no keys to delete");
    assert_eq!(
        e(&mut f, "delkey proto=pass !password=guess"),
        "only !private? patterns are allowed for private fields"
    );
    // a quote that does not end, or a secret given twice, is a syntax
    // error, and neither the error nor the log shows the line
    drain_log(&mut f);
    for (line, want) in [
        (
            "key proto=pass user=u server='unterminated !password=Xyzzy",
            "syntax error: unterminated quote",
        ),
        (
            "key proto=pass user=u !password=Xyzzy !password=Plugh",
            "syntax error: !password given twice",
        ),
        (
            "delkey proto=pass server='Xyzzy",
            "syntax error: unterminated quote",
        ),
    ] {
        assert_eq!(e(&mut f, line), want);
    }
    let log = drain_log(&mut f).join("\n");
    assert!(!log.contains("Xyzzy") && !log.contains("Plugh"), "{log}");
    assert_eq!(f.keys().len(), 0);
    // comments, blank lines and debug are fine
    ctl(&mut f, "# a comment").unwrap();
    ctl(&mut f, "  \n").unwrap();
    ctl(&mut f, "").unwrap();
    ctl(&mut f, "debug").unwrap();
    assert!(f.debug());
    assert_eq!(f.keys().len(), 0);
    // bad UTF-8 is refused, not mangled
    assert!(f
        .ctl_write(b"key proto=pass user=u !password=\xff")
        .is_err());
}

#[test]
fn delkey_deletes_every_match() {
    let mut f = fact();
    ctl(&mut f, "key proto=pass user=a !password=1").unwrap();
    ctl(&mut f, "key proto=pass user=b !password=2").unwrap();
    ctl(&mut f, "key proto=apop user=a !password=3").unwrap();
    ctl(&mut f, "delkey user=a !password?").unwrap();
    assert_eq!(f.ctl_read(), "key proto=pass user=b !password?\n");
    // a bare delkey matches every key (as in plan9port)
    ctl(&mut f, "delkey").unwrap();
    assert_eq!(f.ctl_read(), "");
}

#[test]
fn proto_file() {
    let f = fact();
    assert_eq!(
        f.proto_read(),
        "apop\nchap\ncram\ndp9ik\nhotp\np9any\np9sk1\npass\ntotp\n"
    );
}

// ---- rpc (plan9port rpc.c rpcwrite/rpcexec, conv.c) ----

#[test]
fn rpc_pass() {
    let mut f = fact();
    ctl(&mut f, "key proto=pass user=glenda !password='open sesame'").unwrap();
    let c = f.rpc_open("glenda");
    assert_eq!(rpcs(&mut f, c, "start proto=pass role=client"), "ok");
    // pass.c: convprint(c, "%q %q", user, password)
    assert_eq!(rpcs(&mut f, c, "read"), "ok glenda 'open sesame'");
    assert_eq!(rpcs(&mut f, c, "read"), "done");
    // rpc.c authinfo with no cuid/suid/cap/secret: four empty fields
    assert_eq!(rpc(&mut f, c, b"authinfo"), b"ok \0\0\0\0\0\0\0\0");
    assert_eq!(rpcs(&mut f, c, "attr"), "ok proto=pass role=client");
    // readhex encodes with enc16 (uppercase)
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=pass role=client");
    assert_eq!(
        rpcs(&mut f, d, "readhex"),
        "ok 676C656E646120276F70656E20736573616D6527"
    );
}

#[test]
fn rpc_errors() {
    let mut f = fact();
    let c = f.rpc_open("glenda");
    // rpc.c rpcwrite: werrstr("bad rpc verb: %s")
    assert_eq!(rpcs(&mut f, c, "frob"), "write error: bad rpc verb: frob");
    // fs.c fsread: nothing written
    assert_eq!(
        String::from_utf8_lossy(&match f.rpc_read(c) {
            Err(e) => e.to_string().into_bytes(),
            Ok(_) => vec![],
        }),
        "no rpc pending"
    );
    // conv.c convalloc sets "protocol has not started", then its
    // convreset clears it: plan9port says just "error "
    assert_eq!(rpcs(&mut f, c, "read"), "error ");
    assert_eq!(rpcs(&mut f, c, "write x"), "error ");
    assert_eq!(
        rpcs(&mut f, c, "authinfo"),
        "error conversation not successful"
    );
    assert_eq!(rpcs(&mut f, c, "attr"), "ok ");
    assert_eq!(rpcs(&mut f, c, "read x"), "error read takes no parameters");
    // u16.c dec16 skips what is not a digit: 3 characters, 0 bytes
    assert_eq!(rpcs(&mut f, c, "writehex 0::"), "bad hex");
    // rpc.c convthread
    assert_eq!(rpcs(&mut f, c, "start"), "error empty attr");
    assert_eq!(
        rpcs(&mut f, c, "start role=client"),
        "error no proto in attrs"
    );
    assert_eq!(
        rpcs(&mut f, c, "start proto=x role=client"),
        "error unknown proto x"
    );
    assert_eq!(
        rpcs(&mut f, c, "start proto=pass"),
        "error no role in attrs"
    );
    assert_eq!(
        rpcs(&mut f, c, "start proto=pass role=server"),
        "error unknown role"
    );
    // the error sticks for later requests
    assert_eq!(rpcs(&mut f, c, "read"), "error unknown role");
    assert_eq!(rpcs(&mut f, c, "attr"), "ok proto=pass role=server");
    // warden refuses secret values in start (they would be a guessing oracle)
    assert_eq!(
        rpcs(&mut f, c, "start proto=pass role=client !password=guess"),
        "error only !private? patterns are allowed for private fields"
    );
    // over-long requests
    let mut big = b"write ".to_vec();
    big.resize(rpc::MAX_RPC + 1, b'x');
    assert_eq!(rpc(&mut f, c, &big), b"write error: rpc too large");
    assert_eq!(
        f.rpc_write(ConvId(999), b"read").unwrap_err().to_string(),
        "no such conversation"
    );
}

#[test]
fn rpc_phase_errors() {
    let mut f = fact();
    ctl(&mut f, "key proto=apop user=glenda !password=x").unwrap();
    let c = f.rpc_open("glenda");
    assert_eq!(rpcs(&mut f, c, "start proto=apop role=client"), "ok");
    // conv.c convgetrpc: "phase in state '%s' want '%s'"
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "phase in state 'read challenge' want 'write'"
    );
    assert_eq!(
        rpcs(&mut f, c, "authinfo"),
        "error conversation still active"
    );
    // convreadm: an empty write asks for more
    assert_eq!(rpcs(&mut f, c, "write"), "toosmall 4096");
    assert_eq!(rpcs(&mut f, c, "write <1@x>"), "ok");
    assert_eq!(
        rpcs(&mut f, c, "write more"),
        "phase in state 'write user' want 'read'"
    );
}

#[test]
fn rpc_needkey_reply() {
    let mut f = fact();
    let c = f.rpc_open("glenda");
    assert_eq!(
        rpcs(&mut f, c, "start proto=pass role=client user=glenda"),
        "ok"
    );
    // conv.c convneedkey: "needkey %A" of the protocol's key prompt with
    // the query added (attr.c addattrs), then the next rpc goes on
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "needkey !password? proto=pass role=client user=glenda"
    );
    ctl(&mut f, "key proto=pass user=glenda !password=pw").unwrap();
    assert_eq!(rpcs(&mut f, c, "read"), "ok glenda pw");

    // nothing added: key.c keyfetch fails with "no key found"
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=pass role=client user=ken");
    assert_eq!(
        rpcs(&mut f, d, "read"),
        "needkey !password? proto=pass role=client user=ken"
    );
    assert_eq!(
        rpcs(&mut f, d, "read"),
        "error pass client nascent: no key found"
    );
    assert_eq!(
        rpcs(&mut f, d, "read"),
        "error pass client nascent: no key found"
    );

    // apop adds its keyprompt to the query
    let e = f.rpc_open("glenda");
    rpcs(&mut f, e, "start proto=apop role=client server=pop.example");
    assert_eq!(
        rpcs(&mut f, e, "write x"),
        "needkey user? !password? proto=apop role=client server=pop.example user? !password?"
    );
}

#[test]
fn needkey_file_blocks() {
    // warden's needkey blocks as in Plan 9 (plan9port's does not wait)
    let mut f = fact();
    f.open_exclusive(File::Needkey).unwrap();
    assert_eq!(
        f.open_exclusive(File::Needkey).unwrap_err().to_string(),
        "file in use"
    );
    let c = f.rpc_open("glenda");
    assert_eq!(rpcs(&mut f, c, "start proto=pass role=client"), "ok");
    assert_eq!(rpcs(&mut f, c, "read"), "<pending>");
    assert_eq!(
        f.needkey_read().as_deref(),
        Some("needkey tag=1 proto=pass role=client")
    );
    assert_eq!(f.needkey_read(), None);
    assert!(matches!(f.rpc_read(c), Ok(RpcRead::Pending)));
    ctl(&mut f, "key proto=pass user=glenda !password=pw").unwrap();
    assert_eq!(
        f.needkey_write(b"tag=2").unwrap_err().to_string(),
        "tag not found"
    );
    assert_eq!(f.needkey_write(b"x=1").unwrap_err().to_string(), "no tag");
    f.take_events();
    f.needkey_write(b"tag=1").unwrap();
    assert!(f.take_events().contains(&Event::Rpc(c)));
    match f.rpc_read(c).unwrap() {
        RpcRead::Reply(r) => assert_eq!(&r[..], b"ok glenda pw"),
        RpcRead::Pending => panic!("still pending"),
    }

    // the needkey holder goes away: the conversation fails instead of hanging
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=pass role=client user=nobody");
    assert_eq!(rpcs(&mut f, d, "read"), "<pending>");
    f.close_exclusive(File::Needkey);
    assert!(f.take_events().contains(&Event::Rpc(d)));
    match f.rpc_read(d).unwrap() {
        RpcRead::Reply(r) => assert_eq!(&r[..], b"error pass client nascent: no key found"),
        RpcRead::Pending => panic!("still pending"),
    }
}

#[test]
fn confirm_flow() {
    let mut f = fact();
    ctl(
        &mut f,
        "key proto=pass user=glenda confirm=yes !password=pw",
    )
    .unwrap();
    // nobody on confirm: the request waits for a confirmer (warden's own;
    // plan9port's confirm file is read continuously), here in vain
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=pass role=client");
    assert_eq!(rpcs(&mut f, c, "read"), "<pending>");

    f.open_exclusive(File::Confirm).unwrap();
    assert!(f.confirm_read().unwrap().starts_with("confirm tag=1 "));
    f.confirm_write(b"tag=1 answer=no").unwrap();
    match f.rpc_read(c).unwrap() {
        RpcRead::Reply(r) => assert_eq!(&r[..], b"needkey user? !password? proto=pass role=client"),
        RpcRead::Pending => panic!("still pending"),
    }
    let c = f.rpc_open("glenda");
    assert_eq!(rpcs(&mut f, c, "start proto=pass role=client"), "ok");
    // posted right after start, as plan9port's conversation thread does
    assert_eq!(
        f.confirm_read().as_deref(),
        Some("confirm tag=2 proto=pass user=glenda confirm=yes !password?")
    );
    assert_eq!(rpcs(&mut f, c, "read"), "<pending>");
    // confirm.c confirmwrite errors
    let e = |f: &mut Factotum, s: &str| f.confirm_write(s.as_bytes()).unwrap_err().to_string();
    assert_eq!(e(&mut f, ""), "bad attr");
    assert_eq!(e(&mut f, "answer=yes"), "no tag");
    assert_eq!(e(&mut f, "tag=2"), "no answer");
    assert_eq!(e(&mut f, "tag=2 answer=maybe"), "bad answer");
    assert_eq!(e(&mut f, "tag=77 answer=yes"), "tag not found");
    f.confirm_write(b"tag=2 answer=yes").unwrap();
    assert!(f.take_events().contains(&Event::Rpc(c)));
    match f.rpc_read(c).unwrap() {
        RpcRead::Reply(r) => assert_eq!(&r[..], b"ok glenda pw"),
        RpcRead::Pending => panic!("still pending"),
    }

    // answer no: the key is skipped, and with no other key: needkey
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=pass role=client");
    assert!(f.confirm_read().unwrap().starts_with("confirm tag=3 "));
    f.confirm_write(b"tag=3 answer=no").unwrap();
    assert_eq!(
        rpcs(&mut f, d, "read"),
        "needkey user? !password? proto=pass role=client"
    );
    let log = drain_log(&mut f).join("\n");
    assert!(log.contains("confirm=1 proto=pass user=glenda confirm=yes !password?"));
    assert!(log.contains("confirm=0 proto=pass user=glenda confirm=yes !password?"));
}

#[test]
fn confirm_waits_for_a_confirmer() {
    let (mut f, clock) = fact_at(1_000);
    f.set_confirm_wait(std::time::Duration::from_secs(30));
    ctl(&mut f, "key proto=pass user=c confirm=yes !password=pw").unwrap();
    // asked with nobody on confirm; a confirmer comes before the bound
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=pass role=client");
    assert_eq!(rpcs(&mut f, c, "read"), "<pending>");
    clock.store(1_029, Ordering::SeqCst);
    f.tick();
    assert!(!f.take_events().contains(&Event::Rpc(c)));
    f.open_exclusive(File::Confirm).unwrap();
    assert_eq!(
        f.confirm_read().as_deref(),
        Some("confirm tag=1 proto=pass user=c confirm=yes !password?")
    );
    // a confirmer holds the file: the bound no longer applies
    clock.store(2_000, Ordering::SeqCst);
    f.tick();
    f.confirm_write(b"tag=1 answer=yes").unwrap();
    assert!(f.take_events().contains(&Event::Rpc(c)));
    match f.rpc_read(c).unwrap() {
        RpcRead::Reply(r) => assert_eq!(&r[..], b"ok c pw"),
        RpcRead::Pending => panic!("still pending"),
    }
    f.close_exclusive(File::Confirm);

    // nobody comes: the request fails at the bound, its line withdrawn
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=pass role=client");
    assert_eq!(rpcs(&mut f, d, "read"), "<pending>");
    clock.store(2_030, Ordering::SeqCst);
    f.tick();
    assert!(!f.take_events().contains(&Event::Rpc(d)));
    clock.store(2_031, Ordering::SeqCst);
    f.tick();
    assert!(f.take_events().contains(&Event::Rpc(d)));
    match f.rpc_read(d).unwrap() {
        RpcRead::Reply(r) => assert_eq!(
            String::from_utf8_lossy(&r),
            "error pass client keyconfirm: no confirmer within 30s"
        ),
        RpcRead::Pending => panic!("still pending"),
    }
    f.open_exclusive(File::Confirm).unwrap();
    assert_eq!(f.confirm_read(), None);
}

/// Keeps the ticket requests; answers none.
struct AsEnv(Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl Env for AsEnv {
    fn now(&self) -> u64 {
        1_000_000_000
    }
    fn random(&mut self, b: &mut [u8]) {
        b.fill(3);
    }
    fn ticket(&mut self, _: &str, _: Option<&str>, req: &[u8]) -> Result<Vec<u8>, String> {
        self.0.lock().unwrap().push(req.to_vec());
        Err("no auth server here".into())
    }
    fn pak_tickets(&mut self, d: &str, a: Option<&str>, req: &[u8]) -> Result<Vec<u8>, String> {
        self.ticket(d, a, req)
    }
}

/// plan9port p9sk1.c/p9any.c: the owner's conversations use any key as
/// its user; another user's look for a `role=speakfor` key (which a key
/// without a role matches too) and ask tickets for that user's own name
/// only (hostid the key's user, uid the caller: the auth server decides
/// whether the host speaks for it).
#[test]
fn speakfor_keys_vouch_for_other_users() {
    use crate::auth::authsrv::wire::{types, Ticketreq};
    let reqs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut f = Factotum::new("glenda", Box::new(AsEnv(reqs.clone())));
    ctl(&mut f, "key proto=p9sk1 dom=d user=glenda !password=gpw").unwrap();
    ctl(
        &mut f,
        "key proto=p9sk1 dom=d user=cpu role=speakfor !password=cpw",
    )
    .unwrap();
    let treq = Ticketreq {
        ty: types::AUTH_TREQ,
        authid: "cpu".into(),
        authdom: "d".into(),
        chal: [5; 8],
        hostid: String::new(),
        uid: String::new(),
    }
    .emit()
    .unwrap();
    let asked = |f: &mut Factotum, sysuser: &str, start: &str| -> (String, String) {
        let c = f.rpc_open(sysuser);
        assert_eq!(rpcs(f, c, start), "ok");
        assert!(rpc(f, c, b"read").starts_with(b"ok "));
        let mut w = b"write ".to_vec();
        w.extend_from_slice(&treq);
        assert_eq!(rpc(f, c, &w), b"ok");
        assert!(rpcs(f, c, "read").contains("no auth server here"));
        let r = Ticketreq::parse(&reqs.lock().unwrap().pop().unwrap()).unwrap();
        (r.hostid, r.uid)
    };
    let p9sk1 = "start proto=p9sk1 role=client";
    assert_eq!(
        asked(&mut f, "glenda", p9sk1),
        ("glenda".into(), "glenda".into())
    );
    let alice = asked(&mut f, "alice", p9sk1);
    assert_eq!(alice, ("glenda".into(), "alice".into()));
    ctl(&mut f, "delkey user=glenda").unwrap();
    let alice = asked(&mut f, "alice", p9sk1);
    assert_eq!(alice, ("cpu".into(), "alice".into()));
    let own = "start proto=p9sk1 role=client user=alice";
    assert_eq!(asked(&mut f, "alice", own), ("cpu".into(), "alice".into()));
    // p9any hands the same to p9sk1
    let c = f.rpc_open("alice");
    assert_eq!(rpcs(&mut f, c, "start proto=p9any role=client"), "ok");
    assert_eq!(rpc(&mut f, c, b"write p9sk1@d\0"), b"ok");
    assert_eq!(rpc(&mut f, c, b"read"), b"ok p9sk1 d\0");
    assert!(rpc(&mut f, c, b"read").starts_with(b"ok "));
    let mut w = b"write ".to_vec();
    w.extend_from_slice(&treq);
    assert_eq!(rpc(&mut f, c, &w), b"ok");
    let r = Ticketreq::parse(&reqs.lock().unwrap().pop().unwrap()).unwrap();
    assert_eq!((r.hostid.as_str(), r.uid.as_str()), ("cpu", "alice"));
    // dp9ik's AuthPAK request likewise
    ctl(
        &mut f,
        "key proto=dp9ik dom=d user=cpu role=speakfor !password=cpw",
    )
    .unwrap();
    let c = f.rpc_open("alice");
    assert_eq!(rpcs(&mut f, c, "start proto=dp9ik role=client"), "ok");
    assert!(rpc(&mut f, c, b"read").starts_with(b"ok "));
    let mut pak = Ticketreq::parse(&treq).unwrap();
    pak.ty = types::AUTH_PAK;
    let mut w = b"write ".to_vec();
    w.extend_from_slice(&pak.emit().unwrap());
    w.extend_from_slice(&[0; 56]);
    assert_eq!(rpc(&mut f, c, &w), b"ok");
    assert!(rpcs(&mut f, c, "read").contains("no auth server here"));
    let req = reqs.lock().unwrap().pop().unwrap();
    let r = Ticketreq::parse(&req[..141]).unwrap();
    assert_eq!(
        (r.ty, r.hostid.as_str(), r.uid.as_str()),
        (types::AUTH_PAK, "cpu", "alice")
    );
    let c = f.rpc_open("alice");
    assert_eq!(
        rpcs(&mut f, c, "start proto=p9sk1 role=client user=glenda"),
        "error will not authenticate for alice as glenda"
    );
}

// ---- apop and cram (plan9port apop.c) ----

#[test]
fn apop_client_rfc1939() {
    let mut f = fact();
    ctl(&mut f, "key proto=apop user=mrose !password=tanstaaf").unwrap();
    let c = f.rpc_open("glenda");
    assert_eq!(rpcs(&mut f, c, "start proto=apop role=client"), "ok");
    assert_eq!(
        rpcs(&mut f, c, "write <1896.697170952@dbc.mtview.ca.us>"),
        "ok"
    );
    // attr.c addattrs moves a replaced attribute (proto) to the end
    assert_eq!(
        rpcs(&mut f, c, "attr"),
        "ok role=client proto=apop user=mrose"
    );
    assert_eq!(rpcs(&mut f, c, "read"), "ok mrose");
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "ok C4C9334BAC560ECC979E58001B3E22FB"
    );
    assert_eq!(rpcs(&mut f, c, "write ok"), "ok");
    assert_eq!(rpcs(&mut f, c, "read"), "done");
}

#[test]
fn apop_badkey_and_replacement() {
    let mut f = fact();
    ctl(&mut f, "key proto=apop user=mrose !password=wrong").unwrap();
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=apop role=client");
    rpcs(&mut f, c, "write <1896.697170952@dbc.mtview.ca.us>");
    rpcs(&mut f, c, "read");
    rpcs(&mut f, c, "read");
    assert_eq!(rpcs(&mut f, c, "write bad password mismatch"), "ok");
    // conv.c convbadkey: "badkey %A %N\n%s\n%A"
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "badkey proto=apop user=mrose !password?\npassword mismatch\nproto=apop user? !password?"
    );
    // the user fixes the key: same public attributes, so it replaces it
    ctl(&mut f, "key proto=apop user=mrose !password=tanstaaf").unwrap();
    assert_eq!(
        rpcs(&mut f, c, "write x"),
        "phase in state 'write user (auth attempt #2)' want 'read'"
    );
    assert_eq!(rpcs(&mut f, c, "read"), "ok mrose");
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "ok C4C9334BAC560ECC979E58001B3E22FB"
    );
    assert_eq!(rpcs(&mut f, c, "write ok"), "ok");
    assert_eq!(rpcs(&mut f, c, "read"), "done");

    // no replacement: "apop client auth failed: <msg>"
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=apop role=client");
    rpcs(&mut f, d, "write <x@y>");
    rpcs(&mut f, d, "read");
    rpcs(&mut f, d, "read");
    rpcs(&mut f, d, "write bad nope");
    assert!(rpcs(&mut f, d, "read").starts_with("badkey "));
    assert_eq!(
        rpcs(&mut f, d, "read"),
        "error apop client auth failed: nope"
    );
    // apop.c: anything but ok/bad
    let e = f.rpc_open("glenda");
    rpcs(&mut f, e, "start proto=apop role=client");
    rpcs(&mut f, e, "write <x@y>");
    rpcs(&mut f, e, "read");
    rpcs(&mut f, e, "read");
    assert_eq!(rpcs(&mut f, e, "write huh"), "ok");
    assert_eq!(
        rpcs(&mut f, e, "read"),
        "error apop client read result: bad result: huh"
    );
}

#[test]
fn cram_and_apop_server_roundtrip() {
    for proto in ["apop", "cram"] {
        let mut f = fact();
        ctl(
            &mut f,
            &format!("key proto={proto} user=mrose !password=tanstaaf"),
        )
        .unwrap();
        let cl = f.rpc_open("glenda");
        let sv = f.rpc_open("popd");
        assert_eq!(
            rpcs(&mut f, cl, &format!("start proto={proto} role=client")),
            "ok"
        );
        assert_eq!(
            rpcs(&mut f, sv, &format!("start proto={proto} role=server")),
            "ok"
        );
        let chal = rpc(&mut f, sv, b"read");
        assert_eq!(&chal[..], b"ok <16909060.84281096@factotum>");
        let w = |d: &[u8]| [b"write ".as_slice(), d].concat();
        assert_eq!(rpc(&mut f, cl, &w(&chal[3..])), b"ok");
        let user = rpc(&mut f, cl, b"read");
        assert_eq!(rpc(&mut f, sv, &w(&user[3..])), b"ok");
        let resp = rpc(&mut f, cl, b"read");
        assert_eq!(rpc(&mut f, sv, &w(&resp[3..])), b"ok");
        assert_eq!(rpcs(&mut f, sv, "read"), "ok ok");
        assert_eq!(rpcs(&mut f, cl, "write ok"), "ok");
        assert_eq!(rpcs(&mut f, sv, "read"), "done");
        let ai = rpc(&mut f, sv, b"authinfo");
        let ai = rpc::unpack_authinfo(&ai[3..]).unwrap();
        assert_eq!((ai.cuid.as_str(), ai.suid.as_str()), ("mrose", "popd"));

        // wrong response: bad, and the client may try again
        let sv = f.rpc_open("popd");
        rpcs(&mut f, sv, &format!("start proto={proto} role=server"));
        rpcs(&mut f, sv, "read");
        rpcs(&mut f, sv, "write mrose");
        rpcs(&mut f, sv, "write 00000000000000000000000000000000");
        assert_eq!(rpcs(&mut f, sv, "read"), "ok bad authentication failed");
        assert_eq!(
            rpcs(&mut f, sv, "read"),
            "phase in state 'read user' want 'read'".replace("'read'", "'write'")
        );
        // unknown user: also just bad
        rpcs(&mut f, sv, "write nobody");
        rpcs(&mut f, sv, "write 00000000000000000000000000000000");
        assert_eq!(rpcs(&mut f, sv, "read"), "ok bad authentication failed");
    }
}

// ---- chap (plan9port chap.c) ----

#[test]
fn chap_client() {
    let mut f = fact();
    ctl(&mut f, "key proto=chap user=ppp !password=secret").unwrap();
    let c = f.rpc_open("pppd");
    // chap.c: the error comes after start's ok, from state "nascent"
    assert_eq!(rpcs(&mut f, c, "start proto=chap role=client"), "ok");
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "error chap client nascent: need id=n attr in start message"
    );
    assert_eq!(rpcs(&mut f, c, "start proto=chap role=client id=300"), "ok");
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "error chap client nascent: bad id=n attr in start message"
    );
    assert_eq!(rpcs(&mut f, c, "start proto=chap role=client id=1"), "ok");
    let mut w = b"write ".to_vec();
    w.extend(0u8..16);
    assert_eq!(rpc(&mut f, c, &w), b"ok");
    // chap.c leaves the state at "read challenge" while writing the user
    assert_eq!(
        rpcs(&mut f, c, "write x"),
        "phase in state 'read challenge' want 'read'"
    );
    assert_eq!(rpcs(&mut f, c, "read"), "ok ppp");
    let r = rpc(&mut f, c, b"read");
    let mut want = b"ok \x01".to_vec();
    want.extend(crate::auth::dec16(b"740e86463bda3a4d7017d6e0fba0699d"));
    assert_eq!(r, want);
    assert_eq!(rpcs(&mut f, c, "write bad go away"), "ok");
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "badkey proto=chap user=ppp !password?\ngo away\n"
    );
    // chap.c sets state "replace key" before keyevict
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "error chap client replace key: go away"
    );
}

#[test]
fn chap_server_roundtrip() {
    let mut f = fact();
    ctl(&mut f, "key proto=chap user=ppp !password=secret").unwrap();
    let cl = f.rpc_open("pppd");
    let sv = f.rpc_open("pppd");
    rpcs(&mut f, cl, "start proto=chap role=client id=7");
    rpcs(&mut f, sv, "start proto=chap role=server");
    let w = |d: &[u8]| [b"write ".as_slice(), d].concat();
    let chal = rpc(&mut f, sv, b"read");
    assert_eq!(chal.len(), 3 + 16);
    rpc(&mut f, cl, &w(&chal[3..]));
    let user = rpc(&mut f, cl, b"read");
    assert_eq!(rpc(&mut f, sv, &w(&user[3..])), b"ok");
    let resp = rpc(&mut f, cl, b"read");
    assert_eq!(resp.len(), 3 + 17);
    assert_eq!(rpc(&mut f, sv, &w(&resp[3..])), b"ok");
    assert_eq!(rpcs(&mut f, sv, "read"), "ok ok");
    assert_eq!(rpcs(&mut f, sv, "read"), "done");
    let ai = rpc(&mut f, sv, b"authinfo");
    assert_eq!(rpc::unpack_authinfo(&ai[3..]).unwrap().cuid, "ppp");

    // a flipped bit fails, and the conversation ends
    let sv = f.rpc_open("pppd");
    rpcs(&mut f, sv, "start proto=chap role=server");
    let chal = rpc(&mut f, sv, b"read");
    let cl = f.rpc_open("pppd");
    rpcs(&mut f, cl, "start proto=chap role=client id=7");
    rpc(&mut f, cl, &w(&chal[3..]));
    let user = rpc(&mut f, cl, b"read");
    rpc(&mut f, sv, &w(&user[3..]));
    let mut resp = rpc(&mut f, cl, b"read");
    if let Some(b) = resp.last_mut() {
        *b ^= 1;
    }
    rpc(&mut f, sv, &w(&resp[3..]));
    assert_eq!(rpcs(&mut f, sv, "read"), "ok bad authentication failed");
    assert_eq!(
        rpcs(&mut f, sv, "read"),
        "error chap server write status: authentication failed"
    );
}

// ---- hotp and totp (warden's; totp as plan9port's totp.c) ----

fn oathtool(args: &[&str]) -> String {
    let out = std::process::Command::new("oathtool")
        .args(args)
        .output()
        .expect("oathtool is needed for this test (Debian package oathtool; see .ci/apt-packages)");
    assert!(out.status.success(), "oathtool {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const RFC_KEY_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_KEY_HEX: &str = "3132333435363738393031323334353637383930";

#[test]
fn hotp_client_advances_counter() {
    let mut f = fact();
    ctl(
        &mut f,
        &format!("key proto=hotp user=glenda counter=0 !secret={RFC_KEY_B32}"),
    )
    .unwrap();
    let want = ["755224", "287082", "359152"];
    for (i, w) in want.iter().enumerate() {
        let c = f.rpc_open("glenda");
        assert_eq!(
            rpcs(&mut f, c, "start proto=hotp role=client user=glenda"),
            "ok"
        );
        assert_eq!(rpcs(&mut f, c, "read"), format!("ok {w}"));
        assert_eq!(
            f.ctl_read(),
            format!("key counter={} proto=hotp user=glenda !secret?\n", i + 1)
        );
        assert_eq!(rpcs(&mut f, c, "write ok"), "ok");
        assert_eq!(rpcs(&mut f, c, "read"), "done");
    }
    // the same codes as oathtool's
    assert_eq!(oathtool(&["--hotp", "-c", "2", RFC_KEY_HEX]), "359152");
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=hotp role=client");
    assert_eq!(
        rpcs(&mut f, c, "read"),
        format!("ok {}", oathtool(&["--hotp", "-c", "3", RFC_KEY_HEX]))
    );
    assert_eq!(rpcs(&mut f, c, "write bad expired"), "ok");
    assert_eq!(
        rpcs(&mut f, c, "read"),
        "error hotp client write response: expired"
    );
}

#[test]
fn hotp_server_window_and_replay() {
    let mut f = fact();
    ctl(
        &mut f,
        &format!("key proto=hotp user=glenda counter=2 window=3 !secret={RFC_KEY_B32}"),
    )
    .unwrap();
    let try_code = |f: &mut Factotum, code: &str| {
        let c = f.rpc_open("sshd");
        assert_eq!(rpcs(f, c, "start proto=hotp role=server user=glenda"), "ok");
        assert_eq!(rpcs(f, c, &format!("write {code}")), "ok");
        let r = rpcs(f, c, "read");
        if r == "ok ok" {
            let ai = rpc(f, c, b"authinfo");
            assert_eq!(rpc::unpack_authinfo(&ai[3..]).unwrap().cuid, "glenda");
        }
        r
    };
    // counter 4 is within the window of 2..=5
    assert_eq!(
        try_code(&mut f, &oathtool(&["--hotp", "-c", "4", RFC_KEY_HEX])),
        "ok ok"
    );
    assert!(f.ctl_read().contains("counter=5 "));
    // replay and older codes are refused
    assert_eq!(try_code(&mut f, "338314"), "ok bad authentication failed");
    assert_eq!(try_code(&mut f, "969429"), "ok bad authentication failed");
    // beyond the window (counter 9; the window is 5..=8)
    assert_eq!(try_code(&mut f, "520489"), "ok bad authentication failed");
    assert_eq!(try_code(&mut f, "254676"), "ok ok");
    // an unknown user
    let c = f.rpc_open("sshd");
    rpcs(&mut f, c, "start proto=hotp role=server user=ken");
    assert_eq!(
        rpcs(&mut f, c, "write 1"),
        "error hotp server find key: no key found"
    );
}

#[test]
fn totp_client_and_server() {
    let (mut f, clock) = fact_at(59);
    ctl(
        &mut f,
        &format!("key proto=totp user=glenda dom=d digits=8 !secret={RFC_KEY_B32}"),
    )
    .unwrap();
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=totp role=client");
    // RFC 6238 T=59, SHA1, 8 digits
    assert_eq!(rpcs(&mut f, c, "read"), "ok 94287082");
    assert_eq!(
        oathtool(&["--totp", "-d", "8", "-N", "@59", RFC_KEY_HEX]),
        "94287082"
    );

    clock.store(1_111_111_109, Ordering::SeqCst);
    let code = oathtool(&["--totp", "-d", "8", "-N", "@1111111109", RFC_KEY_HEX]);
    assert_eq!(code, "07081804");
    let server = |f: &mut Factotum, code: &str| {
        let s = f.rpc_open("sshd");
        rpcs(f, s, "start proto=totp role=server user=glenda");
        rpcs(f, s, &format!("write {code}"));
        rpcs(f, s, "read")
    };
    assert_eq!(server(&mut f, &code), "ok ok");
    // a replay in the same step is refused
    assert_eq!(server(&mut f, &code), "ok bad authentication failed");
    // the next step, seen 20 s later (window 1), is fine once
    clock.store(1_111_111_129, Ordering::SeqCst);
    let next = oathtool(&["--totp", "-d", "8", "-N", "@1111111139", RFC_KEY_HEX]);
    assert_eq!(server(&mut f, &next), "ok ok");
    assert_eq!(server(&mut f, &next), "ok bad authentication failed");
    // too short a code is not a partial match
    assert_eq!(server(&mut f, &next[..6]), "ok bad authentication failed");
}

// ---- secrets stay in ----

#[test]
fn secrets_never_leave() {
    let mut f = fact();
    let secret = "Zq9SuperSecret";
    ctl(&mut f, &format!("key proto=apop user=u !password={secret}")).unwrap();
    ctl(
        &mut f,
        &format!("key proto=pass user=u !password={secret} confirm=1"),
    )
    .unwrap();
    ctl(&mut f, &format!("delkey proto=pass !password={secret}")).unwrap_err();
    ctl(&mut f, "delkey proto=pass").unwrap();
    f.open_exclusive(File::Confirm).unwrap();
    f.open_exclusive(File::Needkey).unwrap();
    let c = f.rpc_open("u");
    rpcs(&mut f, c, "start proto=apop role=client");
    rpcs(&mut f, c, "write <1@x>");
    rpcs(&mut f, c, "read");
    rpcs(&mut f, c, "read");
    rpcs(&mut f, c, "write bad no");
    let mut all = drain_log(&mut f).join("\n");
    all.push_str(&f.ctl_read());
    all.push_str(&format!("{:?}", f.keys().iter().collect::<Vec<_>>()));
    all.push_str(&f.conv_read());
    all.extend(std::iter::from_fn(|| f.needkey_read()));
    all.extend(std::iter::from_fn(|| f.confirm_read()));
    assert!(all.contains("!password?"), "{all}");
    assert!(!all.contains(secret), "{all}");
}

#[test]
fn conv_file_and_memory() {
    let mut f = fact();
    ctl(&mut f, "key proto=pass user=glenda !password=pw").unwrap();
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=pass role=client");
    assert_eq!(f.conv_read(), "conv state=write proto=pass role=client\n");
    rpcs(&mut f, c, "read");
    assert_eq!(f.conv_read(), "conv state=closed err='protocol finished'\n");
    let (size, heap) = f.conv_memory(c).unwrap();
    ctl(
        &mut f,
        "key proto=apop user=glenda dom=example.com !password=pw",
    )
    .unwrap();
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=apop role=client dom=example.com");
    rpcs(&mut f, d, "write <1896.697170952@dbc.mtview.ca.us>");
    let (asize, aheap) = f.conv_memory(d).unwrap();
    println!("memory: active apop conversation {asize} B + ~{aheap} B heap");
    assert!(asize < 1024 && aheap < 4096);
    let k = f.keys().iter().next().unwrap();
    println!(
        "memory: finished conversation {size} B + ~{heap} B heap; key {} B + {} B heap (Arc {} B)",
        std::mem::size_of::<crate::auth::proto::key::Key>(),
        k.heap_bytes(),
        2 * std::mem::size_of::<usize>()
    );
    assert!(size < 1024 && heap < 2048);
    assert!(std::mem::size_of::<crate::auth::proto::key::Key>() < 256 && k.heap_bytes() < 1024);
    f.rpc_close(c);
    f.rpc_close(d);
    assert_eq!(f.conv_count(), 0);
}

#[test]
fn open_permissions() {
    let f = fact();
    // fs.c fsopen: owner gets the owner bits, others the other bits
    assert!(f.check_open(File::Ctl, "glenda", 2).is_ok());
    assert_eq!(
        f.check_open(File::Ctl, "ken", 0).unwrap_err().to_string(),
        "permission denied"
    );
    assert!(f.check_open(File::Rpc, "ken", 2).is_ok());
    assert!(f.check_open(File::Proto, "ken", 0).is_ok());
    assert!(f.check_open(File::Proto, "glenda", 1).is_err());
    assert!(f.check_open(File::Ctl, "glenda", 0x40).is_err());
}

#[test]
fn blocked_conversation_still_answers_attr() {
    let mut f = fact();
    ctl(
        &mut f,
        "key proto=pass user=glenda confirm=yes !password=pw",
    )
    .unwrap();
    f.open_exclusive(File::Confirm).unwrap();
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=pass role=client");
    assert_eq!(rpcs(&mut f, c, "readhex"), "<pending>");
    // rpc.c answers attr whatever the protocol is doing
    assert_eq!(rpcs(&mut f, c, "attr"), "ok proto=pass role=client");
    // the answer comes before the client's next read: the reply waits
    f.rpc_write(c, b"readhex").unwrap();
    f.confirm_read().unwrap();
    f.confirm_write(b"tag=1 answer=yes").unwrap();
    assert!(f.take_events().contains(&Event::Rpc(c)));
    match f.rpc_read(c).unwrap() {
        RpcRead::Reply(r) => assert_eq!(&r[..], b"ok 676C656E6461207077"),
        RpcRead::Pending => panic!("still pending"),
    }
    // a resumed conversation leaves a request other than read/write alone
    let d = f.rpc_open("glenda");
    rpcs(&mut f, d, "start proto=pass role=client");
    assert_eq!(rpcs(&mut f, d, "read"), "<pending>");
    f.rpc_write(d, b"attr").unwrap();
    let t = f.confirm_read().unwrap();
    let tag = t.split(' ').nth(1).unwrap().to_string();
    f.confirm_write(format!("{tag} answer=no").as_bytes())
        .unwrap();
    match f.rpc_read(d).unwrap() {
        RpcRead::Reply(r) => assert_eq!(&r[..], b"ok proto=pass role=client"),
        RpcRead::Pending => panic!("pending"),
    }
    // a closed conversation's tag is gone
    f.rpc_close(c);
    assert_eq!(
        f.confirm_write(b"tag=1 answer=yes")
            .unwrap_err()
            .to_string(),
        "tag not found"
    );
}

#[test]
fn list_reads_whole_lines() {
    let mut f = fact();
    ctl(&mut f, "key proto=pass user=a !password=1").unwrap();
    ctl(&mut f, "key proto=pass user=b !password=2").unwrap();
    let line = "key proto=pass user=a !password?\n".len();
    let (b, next) = f.read_lines(File::Ctl, 0, line + 5);
    assert_eq!((b.len(), next), (line, 1));
    let (b, next) = f.read_lines(File::Ctl, next, 8192);
    assert_eq!(b, b"key proto=pass user=b !password?\n");
    assert_eq!(f.read_lines(File::Ctl, next, 8192), (vec![], 2));
    assert_eq!(f.read_lines(File::Proto, 0, 10).0, b"apop\nchap\n");
}

#[test]
fn factotum_is_send() {
    fn send<T: Send>() {}
    send::<Factotum>();
}

/// Show a reply as record.py does: newlines as \n, bytes as Latin-1.
fn show_reply(out: &mut Vec<u8>, r: &[u8]) {
    for &b in r {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b if b < 0x80 => out.push(b),
            b => out.extend_from_slice(char::from(b).to_string().as_bytes()),
        }
    }
    out.push(b'\n');
}

/// tests/plan9port/transcript.txt run through this factotum must print
/// exactly what plan9port's factotum printed for it (recorded by
/// tests/plan9port/record.py with plan9port 59ab62e5 and `9p rdwr`).
#[test]
fn matches_plan9port_transcript() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plan9port");
    let script = std::fs::read_to_string(dir.join("transcript.txt")).unwrap();
    let want = std::fs::read(dir.join("transcript.plan9port.out")).unwrap();
    let mut f = fact();
    // plan9port refuses a confirm key at once while nobody holds confirm
    f.set_confirm_wait(std::time::Duration::ZERO);
    // record.py opens a conversation at the first rpc or newconv
    let mut id: Option<ConvId> = None;
    let mut out: Vec<u8> = Vec::new();
    let say = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(s.as_bytes());
        out.push(b'\n');
    };
    for l in script.lines() {
        if let Some(c) = l.strip_prefix("ctl ") {
            match f.ctl_write(c.as_bytes()) {
                Ok(()) => say(&mut out, "ctl ok"),
                Err(e) => say(&mut out, &format!("ctl error: {e}")),
            }
        } else if l == "list" {
            out.extend_from_slice(f.ctl_read().as_bytes());
            say(&mut out, "--");
        } else if l == "newconv" {
            if let Some(old) = id {
                f.rpc_close(old);
            }
            id = Some(f.rpc_open("glenda"));
            say(&mut out, "newconv");
        } else if l == "confirm-open" {
            f.open_exclusive(File::Confirm).unwrap();
            say(&mut out, "confirm open");
        } else if l == "confirm-read" {
            while let Some(m) = f.confirm_read() {
                say(&mut out, &format!("confirm> {m}"));
            }
        } else if let Some(a) = l.strip_prefix("confirm-write ") {
            if let Err(e) = f.confirm_write(a.as_bytes()) {
                say(&mut out, &format!("confirm write: {e}"));
            }
        } else if l == "rpc-wait" {
            let c = id.unwrap();
            assert!(f.take_events().contains(&Event::Rpc(c)));
            match f.rpc_read(c) {
                Ok(RpcRead::Reply(r)) => show_reply(&mut out, &r),
                _ => say(&mut out, "<pending>"),
            }
        } else if let Some(r) = l.strip_prefix("rpc ") {
            let c = *id.get_or_insert_with(|| f.rpc_open("glenda"));
            if let Err(e) = f.rpc_write(c, r.as_bytes()) {
                say(&mut out, &format!("write: {e}"));
            }
            match f.rpc_read(c) {
                Ok(RpcRead::Reply(r)) => show_reply(&mut out, &r),
                Ok(RpcRead::Pending) => say(&mut out, "<pending>"),
                Err(e) => say(&mut out, &format!("read: {e}")),
            }
        }
    }
    let (got, want) = (
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&want),
    );
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {} of the transcript differs", i + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count());
}

#[test]
fn system_env_random() {
    let mut e = SystemEnv::default();
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    e.random(&mut a);
    e.random(&mut b);
    assert_ne!(a, b);
    assert!(e.now() > 1_600_000_000);
}

/// The log for a session, as plan9port's factotum logged the same one
/// (ctl.c, fs.c `write ctl: ...`, key.c, conv.c) except that a refused
/// `delkey !password=x` is logged with the value hidden.
#[test]
fn log_lines_like_plan9port() {
    let mut f = fact();
    for l in [
        "key proto=pass user=glenda !password=pw",
        "key proto=apop !password=x",
        "key proto=rot13 user=x",
        "delkey user=nobody",
        "delkey proto=pass !password=x",
        "debug",
        "delkey proto=pass",
    ] {
        let _ = f.ctl_write(l.as_bytes());
    }
    let c = f.rpc_open("glenda");
    rpcs(&mut f, c, "start proto=pass role=client");
    rpcs(&mut f, c, "read");
    rpcs(&mut f, c, "read");
    assert_eq!(
        drain_log(&mut f),
        [
            "addkey proto=pass user=glenda !password?",
            "adding key: proto=pass user=glenda !password?",
            "addkey proto=apop  !password?",
            "addkey apop: missing attributes -- want user? !password?",
            "write ctl: missing attributes -- want user? !password?",
            "addkey proto=rot13 user=x ",
            "addkey: unknown proto rot13",
            "write ctl: unknown proto rot13",
            "delkey user=nobody",
            "write ctl: found no keys to delete",
            "delkey proto=pass !password?",
            "write ctl: only !private? patterns are allowed for private fields",
            "debug = 1",
            "delkey proto=pass",
            "deleting proto=pass user=glenda !password?",
            "keyfetch proto=pass role=client",
            "convneedkey user? !password? proto=pass role=client",
            "convneedkey returning",
        ]
    );
}
