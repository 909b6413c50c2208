//! The uplink's inbox: pppd's ip-up/ip-down hooks and the hotplug scripts
//! tell the running warden what happened, through a Unix datagram socket
//! (default `<run_dir>/uplink.sock`).
//!
//! One datagram is one line of text: a kind, then `key=value` words, values
//! %-escaped (anything but printable ASCII, and `%`, `=`, space):
//!
//! ```text
//! ppp-up ifname=3g-wan tty=/dev/ttyUSB0 local=10.64.1.2 remote=10.64.64.64 dns=10.11.12.13 dns=10.11.12.14 ipparam=wan
//! ppp-down ifname=3g-wan ipparam=wan
//! rediscover reason=tty%20ttyUSB2%20add
//! reconnect reason=dns%20check%20failed%20on%20wan
//! status format=json
//! ```
//!
//! `status` is the one request with an answer. `warden status` sends it
//! over the status socket (`uplink/status_socket.rs`), a stream socket that
//! answers over the connection; over this socket, where the sender binds
//! an abstract address of its own for the answer (so a sender in another
//! network namespace gets none), it is still answered, for a `warden
//! status` asking an uplink started before the status socket existed.
//!
//! Datagrams keep messages whole without framing, and sending never blocks
//! on a busy or dead receiver: when warden is not running the sender gets
//! ENOENT or ECONNREFUSED at once and the hook carries on (pppd must never
//! hang in ip-up). The socket is created mode 0600: only root (pppd, procd's
//! hotplug) and warden's own user may talk to it.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};

/// The socket's name under the run directory.
pub const SOCKET_NAME: &str = "uplink.sock";

/// Longest datagram accepted.
pub const MAX_NOTICE: usize = 1024;

/// What pppd tells its ip-up / ip-down scripts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub ifname: String,
    pub tty: String,
    pub local: Option<IpAddr>,
    pub remote: Option<IpAddr>,
    /// DNS1, DNS2 (with `usepeerdns`), in order.
    pub dns: Vec<IpAddr>,
    pub ipparam: String,
}

/// One message to the uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    PppUp(Link),
    PppDown(Link),
    /// IPv6CP up (pppd's ipv6-up: our link-local address), or down.
    Ppp6(Option<IpAddr>),
    /// Ports may have changed (a tty appeared or vanished).
    Rediscover {
        reason: String,
    },
    /// Drop the link and dial again.
    Reconnect {
        reason: String,
    },
    /// Dial again although the data quota is used up (until the next
    /// period): `warden uplink resume`.
    Resume {
        reason: String,
    },
    /// An SMS or USSD request for the modem's AT port (`sms list`,
    /// `sms read 3`, `sms delete 3`, `sms send +4917 text...`,
    /// `ussd *100#`), answered like `status`.
    Modem {
        request: String,
    },
    /// Send the status back to the sender, as text or JSON.
    Status {
        json: bool,
    },
}

/// A datagram that is not a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeError(pub String);

impl fmt::Display for NoticeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad notice: {}", self.0)
    }
}

impl std::error::Error for NoticeError {}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'%' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(s: &str) -> Result<String, NoticeError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| NoticeError(format!("bad %-escape in '{s}'")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| NoticeError(format!("'{s}' is not UTF-8")))
}

impl Notice {
    /// The line sent on the wire (no newline).
    pub fn encode(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        let kv = |k: &str, v: &str| format!("{k}={}", escape(v));
        match self {
            Notice::PppUp(l) | Notice::PppDown(l) => {
                words.push(if matches!(self, Notice::PppUp(_)) {
                    "ppp-up".into()
                } else {
                    "ppp-down".into()
                });
                if !l.ifname.is_empty() {
                    words.push(kv("ifname", &l.ifname));
                }
                if !l.tty.is_empty() {
                    words.push(kv("tty", &l.tty));
                }
                if let Some(a) = l.local {
                    words.push(kv("local", &a.to_string()));
                }
                if let Some(a) = l.remote {
                    words.push(kv("remote", &a.to_string()));
                }
                for d in &l.dns {
                    words.push(kv("dns", &d.to_string()));
                }
                if !l.ipparam.is_empty() {
                    words.push(kv("ipparam", &l.ipparam));
                }
            }
            Notice::Ppp6(local) => {
                words.push(
                    if local.is_some() {
                        "ppp6-up"
                    } else {
                        "ppp6-down"
                    }
                    .into(),
                );
                if let Some(a) = local {
                    words.push(kv("local", &a.to_string()));
                }
            }
            Notice::Rediscover { reason } => {
                words.push("rediscover".into());
                words.push(kv("reason", reason));
            }
            Notice::Reconnect { reason } => {
                words.push("reconnect".into());
                words.push(kv("reason", reason));
            }
            Notice::Resume { reason } => {
                words.push("resume".into());
                words.push(kv("reason", reason));
            }
            Notice::Modem { request } => {
                words.push("modem".into());
                words.push(kv("request", request));
            }
            Notice::Status { json } => {
                words.push("status".into());
                words.push(kv("format", if *json { "json" } else { "text" }));
            }
        }
        words.join(" ")
    }

    /// Parse one datagram. Unknown keys are an error (a mismatched sender
    /// should be noticed, not half-understood).
    pub fn parse(buf: &[u8]) -> Result<Notice, NoticeError> {
        if buf.len() > MAX_NOTICE {
            return Err(NoticeError(format!(
                "{} bytes, at most {MAX_NOTICE}",
                buf.len()
            )));
        }
        let text = std::str::from_utf8(buf).map_err(|_| NoticeError("not UTF-8".into()))?;
        let mut words = text.trim_end_matches('\n').split(' ');
        let kind = words.next().unwrap_or("");
        let mut pairs = Vec::new();
        for w in words.filter(|w| !w.is_empty()) {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| NoticeError(format!("'{w}' is not key=value")))?;
            pairs.push((k, unescape(v)?));
        }
        let ip = |k: &str, v: &str| {
            v.parse::<IpAddr>()
                .map_err(|_| NoticeError(format!("{k}: '{v}' is not an IP address")))
        };
        match kind {
            "ppp-up" | "ppp-down" => {
                let mut l = Link::default();
                for (k, v) in pairs {
                    match k {
                        "ifname" => l.ifname = v,
                        "tty" => l.tty = v,
                        "local" => l.local = Some(ip(k, &v)?),
                        "remote" => l.remote = Some(ip(k, &v)?),
                        "dns" => l.dns.push(ip(k, &v)?),
                        "ipparam" => l.ipparam = v,
                        other => return Err(NoticeError(format!("unknown key '{other}'"))),
                    }
                }
                Ok(if kind == "ppp-up" {
                    Notice::PppUp(l)
                } else {
                    Notice::PppDown(l)
                })
            }
            "ppp6-up" | "ppp6-down" => match (kind, pairs.as_slice()) {
                ("ppp6-up", [("local", a)]) => Ok(Notice::Ppp6(Some(ip("local", a)?))),
                ("ppp6-down", []) => Ok(Notice::Ppp6(None)),
                _ => Err(NoticeError(format!(
                    "{kind}: expected local=ADDR on up only"
                ))),
            },
            "rediscover" | "reconnect" | "resume" => {
                let mut reason = String::new();
                for (k, v) in pairs {
                    match k {
                        "reason" => reason = v,
                        other => return Err(NoticeError(format!("unknown key '{other}'"))),
                    }
                }
                Ok(match kind {
                    "rediscover" => Notice::Rediscover { reason },
                    "resume" => Notice::Resume { reason },
                    _ => Notice::Reconnect { reason },
                })
            }
            "modem" => match pairs.as_slice() {
                [("request", r)] => Ok(Notice::Modem { request: r.clone() }),
                _ => Err(NoticeError("modem: expected request=...".into())),
            },
            "status" => {
                let mut json = false;
                for (k, v) in pairs {
                    match (k, v.as_str()) {
                        ("format", "json") => json = true,
                        ("format", "text") => json = false,
                        _ => return Err(NoticeError(format!("bad status request '{k}={v}'"))),
                    }
                }
                Ok(Notice::Status { json })
            }
            other => Err(NoticeError(format!("unknown kind '{other}'"))),
        }
    }
}

/// Build the link description from what pppd passes a script: its
/// arguments (`ifname tty speed local remote ipparam`) and environment
/// (`IFNAME`, `DEVICE`, `IPLOCAL`, `IPREMOTE`, `DNS1`, `DNS2`), the
/// environment winning. Unparsable addresses are left out, not fatal: a
/// hook must not fail pppd.
pub fn link_from_pppd(args: &[String], env: impl Fn(&str) -> Option<String>) -> Link {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let pick = |k: &str, i: usize| env(k).filter(|v| !v.is_empty()).unwrap_or_else(|| arg(i));
    let addr = |s: String| s.parse::<IpAddr>().ok();
    Link {
        ifname: pick("IFNAME", 0),
        tty: pick("DEVICE", 1),
        local: addr(pick("IPLOCAL", 3)),
        remote: addr(pick("IPREMOTE", 4)),
        dns: ["DNS1", "DNS2"]
            .iter()
            .filter_map(|k| env(k).and_then(addr))
            .fold(Vec::new(), |mut v, a| {
                if !v.contains(&a) {
                    v.push(a);
                }
                v
            }),
        ipparam: pick("PPP_IPPARAM", 5),
    }
}

/// Why a notice was not delivered.
#[derive(Debug)]
pub enum SendError {
    /// Nobody is listening: warden is not running.
    NotRunning(PathBuf),
    Io(PathBuf, io::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotRunning(p) => {
                write!(f, "no warden is listening on {}", p.display())
            }
            SendError::Io(p, e) => write!(f, "sending to {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for SendError {}

/// Send one notice; never blocks.
pub fn send(socket: &Path, n: &Notice) -> Result<(), SendError> {
    let s = UnixDatagram::unbound().map_err(|e| SendError::Io(socket.into(), e))?;
    s.set_nonblocking(true)
        .map_err(|e| SendError::Io(socket.into(), e))?;
    match s.send_to(n.encode().as_bytes(), socket) {
        Ok(_) => Ok(()),
        Err(e) => match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ECONNREFUSED) | Some(libc::ENOTSOCK) => {
                Err(SendError::NotRunning(socket.into()))
            }
            _ => Err(SendError::Io(socket.into(), e)),
        },
    }
}

/// Largest reply to a request.
pub const MAX_REPLY: usize = 16 * 1024;

/// Send a request and wait (bounded) for the answer: the client binds an
/// abstract address of its own, so nothing is left in the file system (and
/// only a peer in the same network namespace can answer). `warden status`
/// asks the status socket first and this only where there is none.
pub fn ask(socket: &Path, n: &Notice, timeout: std::time::Duration) -> Result<String, SendError> {
    use std::os::linux::net::SocketAddrExt;
    let io_err = |e| SendError::Io(socket.into(), e);
    let name = format!(
        "warden-ask-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let me = SocketAddr::from_abstract_name(name.as_bytes()).map_err(io_err)?;
    let s = UnixDatagram::bind_addr(&me).map_err(io_err)?;
    s.set_read_timeout(Some(timeout)).map_err(io_err)?;
    if let Err(e) = s.send_to(n.encode().as_bytes(), socket) {
        return Err(match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ECONNREFUSED) | Some(libc::ENOTSOCK) => {
                SendError::NotRunning(socket.into())
            }
            _ => SendError::Io(socket.into(), e),
        });
    }
    let mut buf = vec![0u8; MAX_REPLY];
    let got = s.recv(&mut buf).map_err(|e| {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            SendError::Io(
                socket.into(),
                io::Error::new(io::ErrorKind::TimedOut, "no answer (is the uplink busy?)"),
            )
        } else {
            io_err(e)
        }
    })?;
    Ok(String::from_utf8_lossy(buf.get(..got).unwrap_or(&[])).into_owned())
}

/// The receiving end, owned by the uplink service.
#[derive(Debug)]
pub struct Listener {
    sock: UnixDatagram,
    path: PathBuf,
}

impl Listener {
    /// Bind at `path`, replacing a stale socket left by a previous run (but
    /// refusing to steal one another warden still listens on).
    pub fn bind(path: &Path) -> io::Result<Listener> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            let probe = UnixDatagram::unbound()?;
            if probe.connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is in use by a running warden", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let sock = UnixDatagram::bind(path)
            .map_err(|e| io::Error::new(e.kind(), format!("binding {}: {e}", path.display())))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        sock.set_nonblocking(true)?;
        Ok(Listener {
            sock,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Poll this for POLLIN.
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The next notice, if one is queued. A malformed datagram is returned
    /// as an error (to be logged) and consumed.
    pub fn recv(&self) -> io::Result<Option<Result<Notice, NoticeError>>> {
        Ok(self.recv_from()?.map(|(n, _)| n))
    }

    /// Like [`Listener::recv`], with the sender's address for a reply.
    #[allow(clippy::type_complexity)]
    pub fn recv_from(&self) -> io::Result<Option<(Result<Notice, NoticeError>, SocketAddr)>> {
        let mut buf = [0u8; MAX_NOTICE + 1];
        loop {
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    return Ok(Some((Notice::parse(buf.get(..n).unwrap_or(&[])), from)))
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Answer a request; never blocks (a reader that went away is fine).
    pub fn reply(&self, to: &SocketAddr, body: &[u8]) -> io::Result<()> {
        match self.sock.send_to_addr(body, to) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up() -> Notice {
        Notice::PppUp(Link {
            ifname: "3g-wan".into(),
            tty: "/dev/ttyUSB0".into(),
            local: Some("10.64.1.2".parse().unwrap()),
            remote: Some("10.64.64.64".parse().unwrap()),
            dns: vec![
                "10.11.12.13".parse().unwrap(),
                "10.11.12.14".parse().unwrap(),
            ],
            ipparam: "wan".into(),
        })
    }

    #[test]
    fn wire_form() {
        assert_eq!(
            up().encode(),
            "ppp-up ifname=3g-wan tty=/dev/ttyUSB0 local=10.64.1.2 remote=10.64.64.64 \
             dns=10.11.12.13 dns=10.11.12.14 ipparam=wan"
        );
        let r = Notice::Reconnect {
            reason: "dns check failed: 100% = bad\n".into(),
        };
        assert_eq!(
            r.encode(),
            "reconnect reason=dns%20check%20failed:%20100%25%20%3D%20bad%0A"
        );
        for n in [
            up(),
            r,
            Notice::Resume {
                reason: "admin".into(),
            },
            Notice::Modem {
                request: "sms send +4917 hi there".into(),
            },
            Notice::Rediscover {
                reason: String::new(),
            },
            Notice::Ppp6(Some("fe80::5c3e:1".parse().unwrap())),
            Notice::Ppp6(None),
        ] {
            assert_eq!(Notice::parse(n.encode().as_bytes()), Ok(n));
        }
    }

    #[test]
    fn bad_datagrams() {
        for bad in [
            &b""[..],
            b"hello",
            b"ppp-up ifname",
            b"ppp-up local=10.0.0.300",
            b"ppp-up colour=blue",
            b"ppp6-up",
            b"ppp6-up local=10.0.0.300",
            b"ppp6-down local=fe80::1",
            b"reconnect reason=%zz",
            b"reconnect reason=%e2",
            b"\xff\xfe",
        ] {
            assert!(Notice::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Notice::parse(&[b'a'; MAX_NOTICE + 1]).is_err());
    }

    #[test]
    fn link_from_pppd_args_and_env() {
        let args: Vec<String> = [
            "ppp0",
            "/dev/ttyUSB0",
            "115200",
            "10.0.0.2",
            "10.0.0.1",
            "wan",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let env = |k: &str| match k {
            "IFNAME" => Some("3g-wan".to_string()),
            "DNS1" => Some("10.11.12.13".to_string()),
            "DNS2" => Some("10.11.12.13".to_string()),
            _ => None,
        };
        let l = link_from_pppd(&args, env);
        assert_eq!(l.ifname, "3g-wan");
        assert_eq!(l.tty, "/dev/ttyUSB0");
        assert_eq!(l.local, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(l.dns, vec!["10.11.12.13".parse::<IpAddr>().unwrap()]);
        assert_eq!(l.ipparam, "wan");
        let l = link_from_pppd(&[], |_| None);
        assert_eq!(l, Link::default());
    }

    #[test]
    fn socket_round_trip_and_not_running() {
        let dir = std::env::temp_dir().join(format!("warden-hook-{}", std::process::id()));
        let path = dir.join("uplink.sock");
        let _ = std::fs::remove_dir_all(&dir);
        match send(&path, &up()) {
            Err(SendError::NotRunning(_)) => {}
            other => panic!("{other:?}"),
        }
        let l = Listener::bind(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(l.recv().unwrap().is_none());
        send(&path, &up()).unwrap();
        std::os::unix::net::UnixDatagram::unbound()
            .unwrap()
            .send_to(b"nonsense", &path)
            .unwrap();
        assert_eq!(l.recv().unwrap(), Some(Ok(up())));
        assert!(matches!(l.recv().unwrap(), Some(Err(_))));
        assert!(l.recv().unwrap().is_none());
        // A second listener must not steal a live socket.
        assert_eq!(
            Listener::bind(&path).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        drop(l);
        assert!(!path.exists());
        // A stale socket file (listener gone without cleanup) is replaced.
        let stale = UnixDatagram::bind(&path).unwrap();
        drop(stale);
        assert!(matches!(send(&path, &up()), Err(SendError::NotRunning(_))));
        let l = Listener::bind(&path).unwrap();
        send(&path, &Notice::Rediscover { reason: "x".into() }).unwrap();
        assert!(matches!(
            l.recv().unwrap(),
            Some(Ok(Notice::Rediscover { .. }))
        ));
        drop(l);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
