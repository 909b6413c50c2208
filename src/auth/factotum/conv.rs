//! Conversations: one per open of the rpc file (plan9port conv.c, rpc.c,
//! key.c `keyfetch`/`keyreplace`, confirm.c).
//!
//! plan9port runs each conversation as a thread that blocks in
//! `convgetrpc`; here the same behaviour is an explicit state: the
//! protocol [`Machine`], plus a key search in progress (`Fetch`) that may
//! wait for an answer on the confirm file, for a `tag=N` on the needkey
//! file, or for the client's next rpc after a `needkey`/`badkey` reply.
//! Every rpc gets exactly one reply; a read that must wait for the confirm
//! or needkey file is pending until then.

use super::rpc::{self, Op, Rpc};
use super::World;
use crate::auth::attr::{self, Attrs};
use crate::auth::proto::key::Key;
use crate::auth::proto::{Ctx, Fail, Lookup, Machine, Need, Proto, Written};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Conversations are named by their tag (the `tag=N` of confirm and
/// needkey requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConvId(pub u64);

pub(crate) struct Conv {
    pub tag: u64,
    pub sysuser: String,
    pub attr: Attrs,
    pub state: State,
    /// The request written and not yet answered.
    pub rpc: Option<Rpc>,
    /// The answer to it, ready to be read.
    pub reply: Option<Zeroizing<Vec<u8>>>,
    /// The request being answered is `readhex`.
    pub hex: bool,
}

pub(crate) enum State {
    /// No protocol running: `done` after success, else `err` says why.
    Idle {
        err: String,
        done: bool,
    },
    Active(Box<Active>),
}

pub(crate) struct Active {
    pub proto: &'static Proto,
    pub role: &'static str,
    pub m: Box<dyn Machine>,
    pub fetch: Option<Fetch>,
    /// "keyconfirm" once a key was put to the confirm file, until the
    /// protocol gets a key (confirm.c sets `c->state` so).
    pub keyconfirm: bool,
}

impl Active {
    /// The phase name `phase` replies and errors carry.
    pub fn phase(&self) -> std::borrow::Cow<'static, str> {
        if self.keyconfirm {
            "keyconfirm".into()
        } else {
            self.m.phase()
        }
    }
}

/// A key search in progress.
pub(crate) struct Fetch {
    query: Attrs,
    mode: Mode,
    /// Keys refused on the confirm file (or unusable: nobody to confirm).
    declined: Vec<u64>,
    /// After a needkey, only keys newer than this count.
    min_tag: u64,
    /// Searching again after a needkey or badkey.
    second: bool,
    /// A key the confirm file allowed.
    confirmed: Option<Arc<Key>>,
    /// The protocol's key prompt, put before the query in a needkey reply.
    keyprompt: &'static str,
    step: Step,
}

enum Mode {
    Fetch,
    Find,
    /// Replace a key the peer rejected (`keyreplace`/`keyevict`).
    Replace {
        old: u64,
        msg: String,
        retry: bool,
    },
}

enum Step {
    Scan,
    /// Waiting for `tag=N answer=...` on confirm; asked while nobody held
    /// the file, it fails after this time (seconds) unless a confirmer came.
    Confirm(Arc<Key>, Option<u64>),
    /// Waiting for `tag=N` on needkey.
    NeedkeyFile,
    /// The next rpc is answered with this (`needkey ...`/`badkey ...`).
    Reply(String),
    /// Waiting for the client's next rpc, then scan again.
    Next,
}

enum Found {
    Key(Option<Arc<Key>>),
    /// Waiting on the confirm or needkey file.
    Blocked,
    /// Waiting for an rpc to answer or to go on with.
    WantRpc,
    Fail {
        msg: String,
        phase: Option<&'static str>,
    },
    /// Answer the current rpc with this.
    Reply(String),
}

impl Conv {
    pub fn new(tag: u64, sysuser: &str) -> Conv {
        Conv {
            tag,
            sysuser: sysuser.to_string(),
            attr: Attrs::new(),
            state: State::Idle {
                // convalloc says "protocol has not started" but its
                // convreset clears it: plan9port answers a plain "error "
                err: String::new(),
                done: false,
            },
            rpc: None,
            reply: None,
            hex: false,
        }
    }

    /// Is the conversation waiting on the confirm or needkey file?
    pub fn blocked(&self) -> bool {
        match &self.state {
            State::Active(a) => a
                .fetch
                .as_ref()
                .is_some_and(|f| matches!(f.step, Step::Confirm(..) | Step::NeedkeyFile)),
            State::Idle { .. } => false,
        }
    }

    fn respond(&mut self, r: Zeroizing<Vec<u8>>) {
        self.reply = Some(r);
        self.rpc = None;
    }

    /// Take a new request (`rpcwrite`), cancelling an unanswered one.
    /// The hex forms are decoded here, so a request is always `read` or
    /// `write` by the time a protocol sees it; their malformed forms get
    /// their reply (`bad hex`, `error read takes no parameters`) at once,
    /// to be read as usual.
    pub fn set_rpc(&mut self, r: Rpc) {
        self.reply = None;
        self.rpc = None;
        self.hex = false;
        match r.op {
            Op::WriteHex => {
                let d = crate::auth::dec16(&r.data);
                if d.len() != r.data.len() / 2 {
                    self.reply = Some(rpc::reply("bad hex"));
                    return;
                }
                self.rpc = Some(Rpc {
                    op: Op::Write,
                    data: Zeroizing::new(d),
                });
            }
            Op::ReadHex | Op::Read => {
                if !r.data.is_empty() {
                    self.reply = Some(rpc::reply("error read takes no parameters"));
                    return;
                }
                self.hex = r.op == Op::ReadHex;
                self.rpc = Some(Rpc {
                    op: Op::Read,
                    data: r.data,
                });
            }
            _ => self.rpc = Some(r),
        }
    }

    /// Answer the current request (`rpcexec`); a `read` or `write` that
    /// must wait for the confirm or needkey file stays unanswered. Running
    /// it again while it waits changes nothing.
    pub fn exec(&mut self, w: &mut World) {
        let Some(op) = self.rpc.as_ref().map(|r| r.op) else {
            return;
        };
        match op {
            Op::Read | Op::Write => match &self.state {
                State::Idle { done: true, .. } => self.respond(rpc::reply("done")),
                State::Idle { err, .. } => {
                    let e = format!("error {err}");
                    self.respond(rpc::reply(&e));
                }
                State::Active(_) => self.advance(w),
            },
            Op::Authinfo => {
                let r = match &self.state {
                    State::Active(_) => rpc::reply("error conversation still active"),
                    State::Idle { done: false, .. } => {
                        rpc::reply("error conversation not successful")
                    }
                    State::Idle { done: true, .. } => {
                        let g = |n| self.attr.get(n).unwrap_or("");
                        match rpc::pack_authinfo(g("cuid"), g("suid"), g("cap"), g("secret")) {
                            Ok(b) => rpc::reply_data("ok", &b, false),
                            Err(e) => rpc::reply(&format!("error {e}")),
                        }
                    }
                };
                self.respond(r);
            }
            Op::Attr => {
                let s = format!("ok {}", self.attr);
                self.respond(rpc::reply(&s));
            }
            Op::Start => self.start(w),
            // set_rpc turned these into read and write
            Op::ReadHex | Op::WriteHex => self.respond(rpc::reply("error bad rpc")),
        }
    }

    /// `start attrs` (`convreset` + `convthread`).
    fn start(&mut self, w: &mut World) {
        let data = self
            .rpc
            .as_ref()
            .map(|r| r.data.clone())
            .unwrap_or_default();
        self.state = State::Idle {
            err: String::new(),
            done: false,
        };
        self.attr = Attrs::new();
        let s = match std::str::from_utf8(crate::auth::proto::cstr(&data)) {
            Ok(s) => s,
            Err(_) => return self.start_fail("attributes are not UTF-8".into()),
        };
        let a = attr::parse(s);
        if a.is_empty() {
            return self.start_fail("empty attr".into());
        }
        let bad_secret = a.iter().any(|x| x.kind == attr::Kind::Val && x.is_secret());
        self.attr = a;
        if bad_secret {
            // would let a client guess secrets by matching them
            return self
                .start_fail("only !private? patterns are allowed for private fields".into());
        }
        let Some(pname) = self.attr.get("proto") else {
            return self.start_fail("no proto in attrs".into());
        };
        let Some(proto) = crate::auth::proto::lookup(pname) else {
            let e = format!("unknown proto {pname}");
            return self.start_fail(e);
        };
        let Some(rname) = self.attr.get("role") else {
            return self.start_fail("no role in attrs".into());
        };
        let Some(role) = proto.roles.iter().copied().find(|r| *r == rname) else {
            return self.start_fail("unknown role".into());
        };
        // p9sk1.c, p9any.c: another user's conversation gets only a
        // role=speakfor key (the host's), vouching for its own name
        let mut attr = self.attr.clone();
        if role == "client"
            && matches!(proto.name, "p9sk1" | "dp9ik" | "p9any")
            && self.sysuser != w.owner
        {
            if let Some(u) = attr.get("user").filter(|u| *u != self.sysuser) {
                let e = format!("will not authenticate for {} as {u}", self.sysuser);
                return self.start_fail(e);
            }
            attr.remove("user");
            attr.set("role", "speakfor");
        }
        self.respond(rpc::reply("ok"));
        match (proto.start)(role, &attr) {
            Ok(m) => {
                self.state = State::Active(Box::new(Active {
                    proto,
                    role,
                    m,
                    fetch: None,
                    keyconfirm: false,
                }));
                self.advance(w);
            }
            Err(e) => {
                self.state = State::Idle {
                    err: format!("{} {} nascent: {e}", proto.name, role),
                    done: false,
                };
            }
        }
    }

    fn start_fail(&mut self, e: String) {
        let r = format!("error {e}");
        self.state = State::Idle {
            err: e,
            done: false,
        };
        self.respond(rpc::reply(&r));
    }

    /// End the protocol with an error; the current request, if any, gets it.
    fn fail(&mut self, msg: &str, phase: Option<&str>) {
        let State::Active(a) = &self.state else {
            return;
        };
        let ph = match phase {
            Some(p) => p.to_string(),
            None => a.phase().into_owned(),
        };
        let err = format!("{} {} {}: {}", a.proto.name, a.role, ph, msg);
        if self
            .rpc
            .as_ref()
            .is_some_and(|r| matches!(r.op, Op::Read | Op::Write))
        {
            let r = format!("error {err}");
            self.respond(rpc::reply(&r));
        }
        self.state = State::Idle { err, done: false };
    }

    fn finish(&mut self) {
        self.state = State::Idle {
            err: "protocol finished".into(),
            done: true,
        };
    }

    /// Run the conversation as far as it can go without the client.
    pub fn advance(&mut self, w: &mut World) {
        // every protocol needs far fewer steps than this between rpcs; the
        // bound only keeps a faulty machine from spinning forever
        for _ in 0..64 {
            let tag = self.tag;
            // only read and write drive a protocol (the others are answered
            // by exec when the client reads)
            let has_rpc = self
                .rpc
                .as_ref()
                .is_some_and(|r| matches!(r.op, Op::Read | Op::Write));
            let State::Active(a) = &mut self.state else {
                return;
            };
            if let Some(f) = &mut a.fetch {
                let found = f.step(tag, has_rpc, w);
                if matches!(f.step, Step::Confirm(..)) {
                    a.keyconfirm = true;
                }
                match found {
                    Found::Blocked | Found::WantRpc => return,
                    Found::Fail { msg, phase } => {
                        self.fail(&msg, phase);
                        return;
                    }
                    Found::Key(k) => {
                        if let Some(k) = &k {
                            w.flog(format!("using key {}", k.describe()));
                        }
                        a.fetch = None;
                        a.keyconfirm = false;
                        let mut ctx = Ctx {
                            ring: &mut w.ring,
                            env: &mut *w.env,
                            sysuser: &self.sysuser,
                            attr: &mut self.attr,
                        };
                        if let Err(f) = a.m.key(&mut ctx, k) {
                            self.failed(f, w);
                        }
                        continue;
                    }
                    Found::Reply(s) => {
                        f.step = Step::Next;
                        self.respond(rpc::reply(&s));
                        return;
                    }
                }
            }
            match a.m.need() {
                Need::Key(q, how) => {
                    w.flog(format!("keyfetch {q}"));
                    a.fetch = Some(Fetch {
                        query: q,
                        mode: match how {
                            Lookup::Fetch => Mode::Fetch,
                            Lookup::Find => Mode::Find,
                        },
                        declined: Vec::new(),
                        min_tag: 0,
                        second: false,
                        confirmed: None,
                        keyprompt: a.proto.keyprompt,
                        step: Step::Scan,
                    });
                }
                Need::Read => {
                    let Some(r) = self.rpc.as_ref().filter(|_| has_rpc) else {
                        return;
                    };
                    if r.op != Op::Read {
                        let s = format!("phase in state '{}' want 'read'", a.phase());
                        self.respond(rpc::reply(&s));
                        return;
                    }
                    let mut ctx = Ctx {
                        ring: &mut w.ring,
                        env: &mut *w.env,
                        sysuser: &self.sysuser,
                        attr: &mut self.attr,
                    };
                    match a.m.read(&mut ctx) {
                        Ok(out) => {
                            let hex = self.hex;
                            self.respond(rpc::reply_data("ok", &out.data, hex));
                            if out.done {
                                self.finish();
                            } else if let Some(why) = out.fail {
                                self.fail(&why, None);
                            }
                        }
                        Err(f) => self.failed(f, w),
                    }
                    continue;
                }
                Need::Write => {
                    let Some(r) = self.rpc.as_ref().filter(|_| has_rpc) else {
                        return;
                    };
                    if r.op != Op::Write {
                        let s = format!("phase in state '{}' want 'write'", a.phase());
                        self.respond(rpc::reply(&s));
                        return;
                    }
                    let mut ctx = Ctx {
                        ring: &mut w.ring,
                        env: &mut *w.env,
                        sysuser: &self.sysuser,
                        attr: &mut self.attr,
                    };
                    match a.m.write(&mut ctx, &r.data) {
                        Written::Ok => self.respond(rpc::reply("ok")),
                        Written::Done => {
                            self.finish();
                            self.respond(rpc::reply("ok"));
                        }
                        Written::TooSmall(n) => self.respond(rpc::reply(&format!("toosmall {n}"))),
                        Written::Refuse(e) => self.respond(rpc::reply(&format!("error {e}"))),
                        Written::Fail(f) => {
                            self.respond(rpc::reply("ok"));
                            self.failed(f, w);
                        }
                    }
                    // go on eagerly (a key search may start right away)
                    continue;
                }
            }
        }
        self.fail("protocol does not progress", None);
    }

    fn failed(&mut self, f: Fail, w: &mut World) {
        match f {
            Fail::Error(m) => self.fail(&m, None),
            Fail::BadKey { key, msg, retry } => {
                let State::Active(a) = &mut self.state else {
                    return;
                };
                // replace prompted values with prompts
                let mut prompt = Attrs::new();
                if retry {
                    prompt = key.attr.clone();
                    for b in attr::parse(key.proto.keyprompt).iter() {
                        prompt.remove(&b.name);
                        prompt.push(attr::Attr::query(&b.name));
                    }
                }
                let body = format!("{} {}\n{}\n{}", key.attr, key.privattr.names(), msg, prompt);
                let step = if w.needkey.open {
                    w.flog(format!(
                        "badkey {} / {} / {} / {}",
                        key.attr,
                        key.privattr.names(),
                        msg,
                        prompt
                    ));
                    w.needkey.push(format!("badkey tag={} {}", self.tag, body));
                    w.events.push(super::Event::Needkey);
                    Step::NeedkeyFile
                } else {
                    w.flog(format!(
                        "convbadkey {} {} / {} / {}",
                        key.attr,
                        key.privattr.names(),
                        msg,
                        prompt
                    ));
                    Step::Reply(format!("badkey {body}"))
                };
                a.fetch = Some(Fetch {
                    query: prompt,
                    mode: Mode::Replace {
                        old: key.tag(),
                        msg,
                        retry,
                    },
                    declined: Vec::new(),
                    min_tag: 0,
                    second: false,
                    confirmed: None,
                    keyprompt: "",
                    step,
                });
            }
        }
    }

    /// An answer arrived on the confirm file.
    pub fn confirmed(&mut self, yes: bool, w: &mut World) {
        let State::Active(a) = &mut self.state else {
            return;
        };
        let Some(f) = &mut a.fetch else { return };
        let Step::Confirm(k, _) = &f.step else { return };
        w.flog(format!("confirm={} {}", u8::from(yes), k.describe()));
        if yes {
            let k = k.clone();
            f.step = Step::Scan;
            f.confirmed = Some(k);
        } else {
            f.declined.push(k.tag());
            f.step = Step::Scan;
        }
        self.advance(w);
    }

    /// Fail a confirm request nobody came to answer by `now`; true if so.
    pub fn confirm_expired(&mut self, now: u64, w: &mut World) -> bool {
        let State::Active(a) = &self.state else {
            return false;
        };
        let Some(Fetch {
            step: Step::Confirm(_, Some(t)),
            ..
        }) = &a.fetch
        else {
            return false;
        };
        // whole seconds: past `t`, at least the bound has gone by
        if *t >= now {
            return false;
        }
        let line = format!("confirm tag={} ", self.tag);
        w.confirm.retain(|l| !l.starts_with(&line));
        self.fail(&format!("no confirmer within {}s", w.confirm_wait), None);
        true
    }

    /// `tag=N` arrived on the needkey file (or it was closed).
    pub fn needkey_done(&mut self, w: &mut World) {
        let State::Active(a) = &mut self.state else {
            return;
        };
        let Some(f) = &mut a.fetch else { return };
        if matches!(f.step, Step::NeedkeyFile) {
            f.after_needkey();
            self.advance(w);
        }
    }
}

impl Fetch {
    fn after_needkey(&mut self) {
        self.second = true;
        self.step = Step::Scan;
    }

    /// Go on with the search (`keyfetch`, `keylookup`, `keyreplace`).
    fn step(&mut self, tag: u64, has_rpc: bool, w: &mut World) -> Found {
        match &self.step {
            Step::Confirm(..) | Step::NeedkeyFile => return Found::Blocked,
            Step::Reply(s) if has_rpc => return Found::Reply(s.clone()),
            Step::Reply(_) => return Found::WantRpc,
            Step::Next if has_rpc => {
                if matches!(self.mode, Mode::Fetch) {
                    w.flog("convneedkey returning".into());
                }
                self.after_needkey();
            }
            Step::Next => return Found::WantRpc,
            Step::Scan => {}
        }
        if let Some(k) = self.confirmed.take() {
            return Found::Key(Some(k));
        }
        match &self.mode {
            Mode::Find => Found::Key(w.ring.lookup(&self.query).cloned()),
            Mode::Replace { old, msg, retry } => {
                let fail = Found::Fail {
                    msg: msg.clone(),
                    phase: if *retry { Some("auth failed") } else { None },
                };
                if !*retry {
                    return fail;
                }
                let Some(k) = w.ring.lookup(&self.query).cloned() else {
                    return fail;
                };
                if k.tag() == *old {
                    return fail;
                }
                if k.get("confirm").is_some() {
                    if w.unconfirmable() || self.declined.contains(&k.tag()) {
                        return fail;
                    }
                    self.ask_confirm(tag, k, w);
                    return Found::Blocked;
                }
                Found::Key(Some(k))
            }
            Mode::Fetch => {
                let mut hit = None;
                for k in w.ring.iter() {
                    if self.declined.contains(&k.tag())
                        || (self.second && k.tag() <= self.min_tag)
                        || !k.matches(&self.query)
                    {
                        continue;
                    }
                    if k.get("confirm").is_some() && w.unconfirmable() {
                        // nobody to ask: the key cannot be used
                        self.declined.push(k.tag());
                        continue;
                    }
                    hit = Some(k.clone());
                    break;
                }
                if let Some(k) = hit {
                    if k.get("confirm").is_some() {
                        self.ask_confirm(tag, k, w);
                        return Found::Blocked;
                    }
                    return Found::Key(Some(k));
                }
                if self.second {
                    return Found::Fail {
                        msg: "no key found".into(),
                        phase: None,
                    };
                }
                self.min_tag = w.ring.max_tag();
                if w.needkey.open {
                    w.needkey
                        .push(format!("needkey tag={} {}", tag, self.query));
                    w.events.push(super::Event::Needkey);
                    w.flog(format!("needkey {}", self.query));
                    self.step = Step::NeedkeyFile;
                    return Found::Blocked;
                }
                // conv.c convneedkey: the protocol's prompt, then the query
                let mut a = attr::parse(self.keyprompt);
                a.add(&self.query);
                w.flog(format!("convneedkey {a}"));
                let r = format!("needkey {a}");
                self.step = Step::Reply(r.clone());
                if has_rpc {
                    Found::Reply(r)
                } else {
                    Found::WantRpc
                }
            }
        }
    }

    fn ask_confirm(&mut self, tag: u64, k: Arc<Key>, w: &mut World) {
        w.confirm
            .push(format!("confirm tag={} {}", tag, k.describe()));
        w.events.push(super::Event::Confirm);
        w.flog(format!("confirm {}", k.describe()));
        // plan9port's confirm file is read continuously: wait for a reader
        let until = (!w.confirm.open).then(|| w.env.now().saturating_add(w.confirm_wait));
        self.step = Step::Confirm(k, until);
    }
}
