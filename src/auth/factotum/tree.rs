//! The factotum's files as a 9P tree ([`crate::ninep::server::Tree`]),
//! like plan9port's src/cmd/auth/factotum/fs.c:
//!
//! | file    | mode          | reads                                    |
//! |---------|---------------|------------------------------------------|
//! | ctl     | 0600          | the key listing, whole lines per read    |
//! | rpc     | 0666          | the reply to the last write; may wait    |
//! | proto   | 0444          | protocol names, whole lines per read     |
//! | needkey | DMEXCL\|0600  | one request per read; waits              |
//! | confirm | DMEXCL\|0600  | one request per read; waits              |
//! | log     | DMEXCL\|0600  | one line per read; waits                 |
//! | conv    | 0400          | the conversations, whole lines per read  |
//!
//! Offsets are ignored everywhere (as fs.c does); one write to ctl is one
//! ctl line. Each open of rpc is a conversation for the connecting peer's
//! user, named from its SO_PEERCRED uid (plan9port takes the user name of
//! the process). Reads that wait are answered from
//! [`Tree::completions`], after the factotum's events name them; a
//! conversation closes with its fid (also when its client vanishes).

use super::{ConvId, Event, File, RpcRead};
use crate::auth::factotum::handle::AuthHandle;
use crate::ninep::fcall::{Qid, Stat, DMDIR, QTDIR, QTEXCL, QTFILE};
use crate::ninep::server::{err, Completion, FsError, Handle, Read, ReqId, Tree, Who};
use crate::ninep::vecmap::VecMap;

const ROOT: u64 = 0;

fn path_of(f: File) -> u64 {
    File::ALL
        .iter()
        .position(|x| *x == f)
        .map_or(ROOT, |i| i as u64 + 1)
}

fn file_of(path: u64) -> Option<File> {
    File::ALL
        .get(usize::try_from(path).ok()?.checked_sub(1)?)
        .copied()
}

fn qid_of(f: File) -> Qid {
    Qid {
        ty: if f.perm() & super::DMEXCL != 0 {
            QTEXCL
        } else {
            QTFILE
        },
        vers: 0,
        path: path_of(f),
    }
}

/// What one open file is.
enum Open {
    /// ctl, proto, conv: the next line to give.
    Lines(File, usize),
    Rpc(ConvId),
    /// confirm, needkey, log.
    Queue(File),
}

/// A read waiting for the factotum.
struct Wait {
    h: Handle,
    req: ReqId,
    count: u32,
}

/// The factotum's 9P tree over a shared [`AuthHandle`].
pub struct FactotumTree {
    state: AuthHandle,
    owner: String,
    open: VecMap<Handle, Open>,
    waiting: Vec<Wait>,
    done: Vec<Completion>,
    /// uid to user name, looked up once per uid (bounded).
    names: VecMap<u32, String>,
}

const MAX_NAMES: usize = 64;

impl FactotumTree {
    /// The files of the factotum in `state`; `owner` names the files'
    /// owner in stat.
    pub fn new(state: AuthHandle, owner: &str) -> FactotumTree {
        FactotumTree {
            state,
            owner: owner.to_string(),
            open: VecMap::new(),
            waiting: Vec::new(),
            done: Vec::new(),
            names: VecMap::new(),
        }
    }

    /// Reads waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn user(&mut self, uid: u32) -> String {
        if let Some(n) = self.names.get(&uid) {
            return n.clone();
        }
        let n = crate::sys::users::name_of(uid);
        if self.names.len() >= MAX_NAMES {
            self.names.clear();
        }
        self.names.insert(uid, n.clone());
        n
    }

    fn stat_of(&self, f: Option<File>) -> Stat {
        let (qid, mode, name) = match f {
            Some(f) => (qid_of(f), f.perm(), f.name()),
            None => (
                Qid {
                    ty: QTDIR,
                    vers: 0,
                    path: ROOT,
                },
                DMDIR | 0o555,
                "factotum",
            ),
        };
        Stat {
            qid,
            mode,
            name: name.into(),
            uid: self.owner.clone(),
            gid: self.owner.clone(),
            muid: self.owner.clone(),
            ..Stat::default()
        }
    }

    /// Answer waiting reads the factotum's events make ready.
    fn kick(&mut self) {
        let mut st = self.state.lock();
        let f = &mut st.factotum;
        if !self.waiting.is_empty() {
            f.tick();
        }
        let events = f.take_events();
        if events.is_empty() {
            return;
        }
        let mut still = Vec::with_capacity(self.waiting.len());
        for w in self.waiting.drain(..) {
            let result = match self.open.get(&w.h) {
                Some(Open::Rpc(id)) if events.contains(&Event::Rpc(*id)) => match f.rpc_read(*id) {
                    Ok(RpcRead::Reply(r)) => Some(Ok(r.to_vec())),
                    Ok(RpcRead::Pending) => None,
                    Err(e) => Some(Err(FsError::from(e.to_string()))),
                },
                Some(Open::Queue(file)) => {
                    let ev = match file {
                        File::Confirm => Event::Confirm,
                        File::Needkey => Event::Needkey,
                        _ => Event::Log,
                    };
                    if events.contains(&ev) {
                        pop(f, *file, w.count)
                    } else {
                        None
                    }
                }
                Some(_) => None,
                None => Some(Err(FsError::from("hangup"))),
            };
            match result {
                Some(result) => self.done.push(Completion { req: w.req, result }),
                None => still.push(w),
            }
        }
        self.waiting = still;
    }
}

/// The next line of a queue file shaped for a read of `count`, if any.
fn pop(f: &mut super::Factotum, file: File, count: u32) -> Option<Result<Vec<u8>, FsError>> {
    let line = match file {
        File::Confirm => f.confirm_read(),
        File::Needkey => f.needkey_read(),
        _ => f.log_read(),
    }?;
    Some(super::queue::fit_read(&line, count as usize).map_err(FsError::from))
}

impl Tree for FactotumTree {
    fn root(&mut self) -> Qid {
        self.stat_of(None).qid
    }

    fn walk(&mut self, dir: Qid, name: &str) -> Result<Qid, FsError> {
        if dir.path != ROOT {
            return Err(err::WALKNODIR.into());
        }
        if name == ".." {
            return Ok(self.root());
        }
        File::lookup(name).map(qid_of).ok_or(err::NOTFOUND.into())
    }

    fn stat(&mut self, qid: Qid) -> Result<Stat, FsError> {
        if qid.path == ROOT {
            return Ok(self.stat_of(None));
        }
        file_of(qid.path)
            .map(|f| self.stat_of(Some(f)))
            .ok_or(err::NOTFOUND.into())
    }

    fn list(&mut self, dir: Qid) -> Result<Vec<Stat>, FsError> {
        if dir.path != ROOT {
            return Err(err::WALKNODIR.into());
        }
        Ok(File::ALL.iter().map(|f| self.stat_of(Some(*f))).collect())
    }

    fn open(&mut self, h: Handle, qid: Qid, _mode: u8, who: &Who<'_>) -> Result<(), FsError> {
        let file = file_of(qid.path).ok_or(FsError::from(err::NOTFOUND))?;
        let o = match file {
            File::Ctl | File::Proto | File::Conv => Open::Lines(file, 0),
            File::Rpc => {
                let user = self.user(who.peer.uid);
                Open::Rpc(self.state.lock().factotum.rpc_open(&user))
            }
            File::Confirm | File::Needkey | File::Log => {
                self.state
                    .lock()
                    .factotum
                    .open_exclusive(file)
                    .map_err(|e| FsError::from(e.to_string()))?;
                Open::Queue(file)
            }
        };
        self.open.insert(h, o);
        Ok(())
    }

    fn read(&mut self, h: Handle, req: ReqId, _offset: u64, count: u32) -> Result<Read, FsError> {
        let mut st = self.state.lock();
        let f = &mut st.factotum;
        let wait = Wait { h, req, count };
        match self.open.get_mut(&h).ok_or(FsError::from(err::BOTCH))? {
            Open::Lines(file, next) => {
                let (data, n) = f.read_lines(*file, *next, count as usize);
                *next = n;
                Ok(Read::Ready(data))
            }
            Open::Rpc(id) => match f.rpc_read(*id).map_err(|e| FsError::from(e.to_string()))? {
                RpcRead::Reply(r) => Ok(Read::Ready(r.to_vec())),
                RpcRead::Pending => {
                    self.waiting.push(wait);
                    Ok(Read::Pending)
                }
            },
            Open::Queue(file) => {
                if count < 5 {
                    return Err("factotum: read request count too short".into());
                }
                match pop(f, *file, count) {
                    Some(r) => r.map(Read::Ready),
                    None => {
                        self.waiting.push(wait);
                        Ok(Read::Pending)
                    }
                }
            }
        }
    }

    fn write(&mut self, h: Handle, _offset: u64, data: &[u8]) -> Result<u32, FsError> {
        let mut st = self.state.lock();
        let f = &mut st.factotum;
        let r = match self.open.get(&h).ok_or(FsError::from(err::BOTCH))? {
            Open::Lines(File::Ctl, _) => f.ctl_write(data),
            Open::Rpc(id) => f.rpc_write(*id, data),
            Open::Queue(File::Confirm) => f.confirm_write(data),
            Open::Queue(File::Needkey) => f.needkey_write(data),
            // the modes let nobody write the others
            _ => return Err(err::PERM.into()),
        };
        r.map_err(|e| FsError::from(e.to_string()))?;
        // a read left waiting on the previous request now answers this one
        if let Some(Open::Rpc(id)) = self.open.get(&h) {
            if let Some(i) = self.waiting.iter().position(|w| w.h == h) {
                let result = match f.rpc_read(*id) {
                    Ok(RpcRead::Reply(r)) => Some(Ok(r.to_vec())),
                    Ok(RpcRead::Pending) => None,
                    Err(e) => Some(Err(FsError::from(e.to_string()))),
                };
                if let Some(result) = result {
                    let w = self.waiting.remove(i);
                    self.done.push(Completion { req: w.req, result });
                }
            }
        }
        Ok(u32::try_from(data.len()).unwrap_or(u32::MAX))
    }

    fn clunk(&mut self, h: Handle) {
        let Some(o) = self.open.remove(&h) else {
            return;
        };
        let mut st = self.state.lock();
        match o {
            Open::Rpc(id) => st.factotum.rpc_close(id),
            Open::Queue(file) => st.factotum.close_exclusive(file),
            Open::Lines(..) => {}
        }
    }

    fn flush(&mut self, _h: Handle, req: ReqId) {
        self.waiting.retain(|w| w.req != req);
    }

    fn completions(&mut self, out: &mut Vec<Completion>) {
        self.kick();
        out.append(&mut self.done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::factotum::handle::AuthState;
    use crate::ninep::fcall::{decode, Fcall, Msg, NOFID, ORDWR, OREAD};
    use crate::ninep::server::{Limits, Peer, Server};

    struct E;
    impl crate::auth::proto::Env for E {
        fn now(&self) -> u64 {
            0
        }
        fn random(&mut self, b: &mut [u8]) {
            b.fill(7);
        }
    }

    struct T {
        s: Server<FactotumTree>,
        conn: u64,
    }

    impl T {
        fn new() -> T {
            let auth = AuthHandle::from_state(AuthState {
                factotum: super::super::Factotum::new("glenda", Box::new(E)),
            });
            let mut s = Server::new(
                "factotum",
                FactotumTree::new(auth, "glenda"),
                Limits::default(),
            );
            let conn = s.connect(
                Peer {
                    pid: 1,
                    uid: 0,
                    gid: 0,
                },
                true,
            );
            let mut t = T { s, conn };
            t.call(
                0xffff,
                Fcall::Tversion {
                    msize: 8192,
                    version: "9P2000".into(),
                },
            );
            t.call(
                1,
                Fcall::Tattach {
                    fid: 0,
                    afid: NOFID,
                    uname: "glenda".into(),
                    aname: "".into(),
                },
            );
            t
        }

        /// Send; return every reply queued (tag, body).
        fn send(&mut self, tag: u16, body: Fcall) -> Vec<(u16, Fcall)> {
            self.s.handle(self.conn, &Msg::new(tag, body).encode());
            self.s
                .take_output()
                .into_iter()
                .map(|(_, b)| {
                    let m = decode(&b).unwrap();
                    (m.tag, m.body)
                })
                .collect()
        }

        fn call(&mut self, tag: u16, body: Fcall) -> Fcall {
            let mut r = self.send(tag, body);
            assert_eq!(r.len(), 1, "{r:?}");
            let (t, b) = r.remove(0);
            assert_eq!(t, tag);
            b
        }

        fn open(&mut self, fid: u32, name: &str, mode: u8) {
            self.call(
                2,
                Fcall::Twalk {
                    fid: 0,
                    newfid: fid,
                    wnames: vec![name.into()],
                },
            );
            assert!(matches!(
                self.call(3, Fcall::Topen { fid, mode }),
                Fcall::Ropen { .. }
            ));
        }

        fn write(&mut self, fid: u32, d: &str) -> Fcall {
            self.call(
                4,
                Fcall::Twrite {
                    fid,
                    offset: 0,
                    data: d.as_bytes().to_vec(),
                },
            )
        }
    }

    fn read(fid: u32) -> Fcall {
        Fcall::Tread {
            fid,
            offset: 0,
            count: 8192,
        }
    }

    #[test]
    fn waiting_rpc_read_completes_on_confirm() {
        let mut t = T::new();
        t.open(1, "ctl", ORDWR);
        t.write(1, "key proto=pass user=c confirm=yes !password=pw");
        t.open(2, "confirm", ORDWR);
        t.open(3, "rpc", ORDWR);
        t.write(3, "start proto=pass role=client");
        assert_eq!(
            t.call(5, read(3)),
            Fcall::Rread {
                data: b"ok".to_vec()
            }
        );
        t.write(3, "read");
        assert!(t.send(6, read(3)).is_empty(), "the read waits");
        let req = t.call(7, read(2));
        let Fcall::Rread { data } = req else {
            panic!("{req:?}")
        };
        assert_eq!(
            data,
            b"confirm tag=1 proto=pass user=c confirm=yes !password?\n"
        );
        // the answer completes the waiting rpc read (tag 6) too
        let r = t.send(
            8,
            Fcall::Twrite {
                fid: 2,
                offset: 0,
                data: b"tag=1 answer=yes".to_vec(),
            },
        );
        assert!(
            r.contains(&(
                6,
                Fcall::Rread {
                    data: b"ok c pw".to_vec()
                }
            )),
            "{r:?}"
        );
        assert!(r.contains(&(8, Fcall::Rwrite { count: 16 })), "{r:?}");
    }

    #[test]
    fn log_reads_wait_and_flush_withdraws() {
        let mut t = T::new();
        t.open(1, "log", OREAD);
        assert!(t.send(5, read(1)).is_empty());
        t.open(2, "ctl", ORDWR);
        let r = t.send(
            6,
            Fcall::Twrite {
                fid: 2,
                offset: 0,
                data: b"delkey user=x".to_vec(),
            },
        );
        assert!(
            r.contains(&(
                5,
                Fcall::Rread {
                    data: b"delkey user=x\n".to_vec()
                }
            )),
            "{r:?}"
        );
        assert_eq!(
            t.call(7, read(1)),
            Fcall::Rread {
                data: b"write ctl: found no keys to delete\n".to_vec()
            }
        );
        assert!(t.send(9, read(1)).is_empty());
        assert_eq!(t.call(8, Fcall::Tflush { oldtag: 9 }), Fcall::Rflush);
        assert_eq!(t.s.tree.waiting(), 0);
        // a second log reader is refused while the first holds it
        t.call(
            2,
            Fcall::Twalk {
                fid: 0,
                newfid: 9,
                wnames: vec!["log".into()],
            },
        );
        assert_eq!(
            t.call(
                3,
                Fcall::Topen {
                    fid: 9,
                    mode: OREAD
                }
            ),
            Fcall::Rerror {
                ename: "file in use".into()
            }
        );
    }

    #[test]
    fn a_new_request_answers_a_read_left_waiting() {
        let mut t = T::new();
        t.open(1, "ctl", ORDWR);
        t.write(1, "key proto=pass user=c confirm=yes !password=pw");
        t.write(1, "key proto=pass user=d !password=pw2");
        t.open(2, "confirm", ORDWR);
        t.open(3, "rpc", ORDWR);
        t.write(3, "start proto=pass role=client user=c");
        t.call(5, read(3));
        t.write(3, "read");
        assert!(t.send(6, read(3)).is_empty());
        let r = t.send(
            7,
            Fcall::Twrite {
                fid: 3,
                offset: 0,
                data: b"start proto=pass role=client user=d".to_vec(),
            },
        );
        assert!(
            r.contains(&(
                6,
                Fcall::Rread {
                    data: b"ok".to_vec()
                }
            )),
            "{r:?}"
        );
    }
}
