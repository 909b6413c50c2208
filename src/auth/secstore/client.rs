//! A secstore client over one connection (what plan9port's secstore
//! command does): log in with the PAK, then get, put, remove and list
//! files, change the password. Blocking; the caller gives the stream
//! (with its deadlines) and the randomness.

use super::pak::{self, RAND_LEN};
use super::sconn::{Channel, Split, MAXMSG};
use super::session::{FILE_OVERHEAD, MAXFILESIZE};
use std::io::{Read, Write};
use zeroize::Zeroizing;

#[derive(Debug)]
pub enum ClientError {
    Io(std::io::Error),
    /// The server said so (`!message`).
    Remote(String),
    /// The server hung up after the proof, or its own proof failed: the
    /// password is wrong (or the account has no secstore).
    Refused,
    /// Something the server sent does not parse (named).
    Protocol(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "secstore: {e}"),
            ClientError::Remote(m) => write!(f, "secstore: the server says: {m}"),
            ClientError::Refused => f.write_str(
                "secstore: login refused (wrong password, or no secstore for this user)",
            ),
            ClientError::Protocol(m) => write!(f, "secstore: {m}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// A logged-in connection.
pub struct Conn<S: Read + Write> {
    s: S,
    ch: Channel,
    buf: Vec<u8>,
    /// The name the server gave itself.
    pub server: String,
}

impl<S: Read + Write> Conn<S> {
    fn send(&mut self, data: &[u8]) -> Result<(), ClientError> {
        let r = self
            .ch
            .seal(data)
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.s.write_all(&r)?;
        Ok(())
    }

    /// The next record's data; EOF is `None`.
    fn recv_opt(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, ClientError> {
        loop {
            match self.ch.split(&self.buf) {
                Split::Record(n) => {
                    let body = Zeroizing::new(self.buf[2..2 + n].to_vec());
                    crate::sys::wipe::consume_front(&mut self.buf, 2 + n);
                    let d = self
                        .ch
                        .open(&body)
                        .map_err(|e| ClientError::Protocol(e.to_string()))?;
                    if d.first() == Some(&b'!') {
                        return Err(ClientError::Remote(
                            String::from_utf8_lossy(&d[1..]).into_owned(),
                        ));
                    }
                    return Ok(Some(d));
                }
                Split::Bad => return Err(ClientError::Protocol("a bad record header".into())),
                Split::Need => {}
            }
            let mut b = [0u8; 4096];
            let n = self.s.read(&mut b)?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&b[..n]);
            zeroize::Zeroize::zeroize(&mut b[..n]);
        }
    }

    fn recv(&mut self) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        self.recv_opt()?
            .ok_or_else(|| ClientError::Protocol("the server hung up".into()))
    }

    /// Log in as `user` (the PAK, then the server's OK).
    pub fn login(
        s: S,
        user: &str,
        password: &[u8],
        rand: &[u8; RAND_LEN],
    ) -> Result<Conn<S>, ClientError> {
        let mut c = Conn {
            s,
            ch: Channel::new(),
            buf: Vec::new(),
            server: String::new(),
        };
        let (pc, hello) = pak::Client::start(user, password, rand);
        c.send(&hello)?;
        let answer = c.recv()?;
        let (proof, key, server) = match pc.finish(&answer) {
            Ok(x) => x,
            Err(pak::PakError::Mismatch) => {
                let _ = c.send(b"!verifier didn't match");
                return Err(ClientError::Refused);
            }
            Err(e) => return Err(ClientError::Protocol(e.to_string())),
        };
        c.send(&proof)?;
        c.ch.set_secret(&key[..], false);
        c.server = server;
        let ok = match c.recv_opt() {
            Ok(Some(ok)) => ok,
            Ok(None) => return Err(ClientError::Refused),
            Err(ClientError::Protocol(_)) => return Err(ClientError::Refused),
            Err(e) => return Err(e),
        };
        if &ok[..] == b"STA" {
            return Err(ClientError::Protocol(
                "the server asks for a SecurID code (STA), which this client does not do".into(),
            ));
        }
        if &ok[..] != b"OK" {
            return Err(ClientError::Protocol("no OK after the login".into()));
        }
        Ok(c)
    }

    fn size(&mut self, what: &str) -> Result<usize, ClientError> {
        let s = self.recv()?;
        let t = String::from_utf8_lossy(&s);
        match t.trim().parse::<i64>() {
            Ok(-1) => Err(ClientError::Remote(format!("{what} does not exist"))),
            Ok(-3) => Err(ClientError::Remote(format!(
                "{what}: implausible file size"
            ))),
            Ok(n) if n >= 0 && n as u64 <= MAXFILESIZE => Ok(n as usize),
            _ => Err(ClientError::Protocol(format!(
                "{what}: bad size '{}'",
                t.escape_default()
            ))),
        }
    }

    /// A stored file as it is stored (still encrypted).
    pub fn get_raw(&mut self, name: &str) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        self.send(format!("GET {name}\n").as_bytes())?;
        let n = self.size(name)?;
        let mut out = Zeroizing::new(Vec::with_capacity(n));
        while out.len() < n {
            let d = self.recv()?;
            out.extend_from_slice(&d);
        }
        if out.len() != n {
            return Err(ClientError::Protocol(format!(
                "{name}: more data than its size"
            )));
        }
        Ok(out)
    }

    /// The file listing (`name size date sha1` lines, as secstored's).
    pub fn list(&mut self) -> Result<String, ClientError> {
        let l = self.get_raw(".")?;
        Ok(String::from_utf8_lossy(&l).into_owned())
    }

    /// Store `stored` (already encrypted) as `name`. secstored answers
    /// nothing on success, so the listing that follows checks the file
    /// arrived whole (its SHA1 is there).
    pub fn put_raw(&mut self, name: &str, stored: &[u8]) -> Result<(), ClientError> {
        if stored.len() as u64 > MAXFILESIZE {
            return Err(ClientError::Protocol(format!(
                "{name}: {} bytes is more than a secstore file holds ({MAXFILESIZE})",
                stored.len()
            )));
        }
        let sent = (|| {
            self.send(format!("PUT {name}\n").as_bytes())?;
            self.send(stored.len().to_string().as_bytes())?;
            for chunk in stored.chunks(MAXMSG) {
                self.send(chunk)?;
            }
            Ok(())
        })();
        if let Err(ClientError::Io(e)) = sent {
            // the server refused it and hung up: its reason, if it came
            return Err(match self.recv() {
                Err(r @ ClientError::Remote(_)) => r,
                _ => ClientError::Io(e),
            });
        }
        sent?;
        let sum = {
            use sha1::Digest;
            crate::auth::ssh::wire::base64(&sha1::Sha1::digest(stored))
        };
        let l = self.list()?;
        let stored_ok = l.lines().any(|line| {
            let mut f = line.split_whitespace();
            f.next() == Some(name) && line.ends_with(&sum)
        });
        if stored_ok {
            Ok(())
        } else {
            Err(ClientError::Protocol(format!(
                "{name} is not in the listing after PUT"
            )))
        }
    }

    /// Remove `name`; the listing after it checks it is gone.
    pub fn remove(&mut self, name: &str) -> Result<(), ClientError> {
        self.send(format!("RM {name}\n").as_bytes())?;
        let l = self.list()?;
        if l.lines()
            .any(|line| line.split_whitespace().next() == Some(name))
        {
            return Err(ClientError::Protocol(format!(
                "{name} is still there after RM"
            )));
        }
        Ok(())
    }

    /// Get and decrypt.
    pub fn get(&mut self, name: &str, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        let raw = self.get_raw(name)?;
        super::file::open(password, &raw).map_err(|e| ClientError::Protocol(format!("{name}: {e}")))
    }

    /// Encrypt and put.
    pub fn put(
        &mut self,
        name: &str,
        data: &[u8],
        password: &[u8],
        iv: [u8; 16],
    ) -> Result<(), ClientError> {
        if data.len() as u64 + FILE_OVERHEAD > MAXFILESIZE {
            return Err(ClientError::Protocol(format!(
                "{name} is too big for a secstore"
            )));
        }
        let s = super::file::seal(password, data, iv);
        self.put_raw(name, &s)
    }

    /// Change the password to `new` and re-encrypt every file under it
    /// (plan9port's chpasswd). `ivs` gives one IV per file.
    pub fn change_password(
        &mut self,
        user: &str,
        old: &[u8],
        new: &[u8],
        mut iv: impl FnMut() -> [u8; 16],
    ) -> Result<Vec<String>, ClientError> {
        // Read every file first: a failure then changes nothing.
        let names: Vec<String> = self
            .list()?
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        let mut files = Vec::new();
        for n in &names {
            files.push((n.clone(), self.get(n, old)?));
        }
        let (_, hi) = pak::verifier(user, new);
        self.send(b"CHPASS")?;
        self.send(pak::b64(&hi).as_bytes())?;
        for (n, data) in &files {
            self.put(n, data, new, iv())?;
        }
        Ok(names)
    }

    pub fn bye(mut self) -> Result<(), ClientError> {
        self.send(b"BYE")
    }
}
