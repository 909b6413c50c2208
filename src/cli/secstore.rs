//! `warden secstore ...`: on the router, `add`, `list` and `del` (accounts in
//! keyfs, the key file opened with the master passphrase); on a LAN
//! machine (feature `client`), `get`, `put`, `rm` and `ls` against a
//! secstore (warden's or Plan 9's), as plan9port's secstore command does.

use super::args::{opt, pos, short, Arg, Cmd, Parsed};
use super::{prompt, when, Fail, Globals};
use crate::auth::keyfs::account::{SecstoreAccount, SECSTORE_BYTES, SECSTORE_FILES};
use crate::auth::secstore::{files, pak};
use zeroize::Zeroizing;

/// secstore accounts (router) and files (LAN machines)
#[derive(Debug)]
pub struct SecstoreCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    Add(Add),
    List(List),
    Del(Del),
    #[cfg(feature = "client")]
    Get(Get),
    #[cfg(feature = "client")]
    Put(Put),
    #[cfg(feature = "client")]
    Rm(Rm),
    #[cfg(feature = "client")]
    Ls(Ls),
}

/// give a keyfs account a secstore, or a new secstore password (prompted;
/// it may differ from the login password)
#[derive(Debug)]
struct Add {
    name: String,
    /// most files the user may keep (default 16)
    files: Option<u32>,
    /// most bytes over all files, as stored (default 262144)
    bytes: Option<u64>,
}

/// show a user's secstore: quotas and stored files
#[derive(Debug)]
struct List {
    name: String,
}

/// remove a user's secstore: its password, quotas and every stored file
/// (the keyfs account stays)
#[derive(Debug)]
struct Del {
    name: String,
}

impl SecstoreCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        match self.what {
            What::Add(a) => add(g, a),
            What::List(l) => list(g, l),
            What::Del(d) => del(g, d),
            #[cfg(feature = "client")]
            What::Get(c) => c.run(),
            #[cfg(feature = "client")]
            What::Put(c) => c.run(),
            #[cfg(feature = "client")]
            What::Rm(c) => c.run(),
            #[cfg(feature = "client")]
            What::Ls(c) => c.run(),
        }
    }
}

fn add(g: &Globals, a: Add) -> Result<(), Fail> {
    crate::auth::keyfs::account::check_name(&a.name).map_err(Fail::Usage)?;
    let mut o = super::keyfs::open(g)?;
    let st = &mut o.store;
    let old = st.user(&a.name)?.secstore.clone();
    let pw = prompt::new_secret_of(
        &format!("secstore password for {}: ", a.name),
        prompt::MIN_PASSWORD,
    )?;
    let (_, hi) = pak::verifier(&a.name, &pw);
    let s = SecstoreAccount {
        hi: Zeroizing::new(hi.to_be_vec()),
        max_files: a
            .files
            .or(old.as_ref().map(|o| o.max_files))
            .unwrap_or(SECSTORE_FILES),
        max_bytes: a
            .bytes
            .or(old.as_ref().map(|o| o.max_bytes))
            .unwrap_or(SECSTORE_BYTES),
    };
    let (nf, nb) = (s.max_files, s.max_bytes);
    st.set_secstore(&a.name, Some(s), when::now())?;
    println!(
        "secstore of {} set: at most {nf} files, {nb} bytes{}",
        a.name,
        if old.is_some() {
            " (stored files are still under the old password)"
        } else {
            ""
        }
    );
    Ok(())
}

/// The stored files beside the key file `g` names (what secstored keeps).
pub(super) fn stored_files(g: &Globals) -> Result<files::KeyfsBackend, Fail> {
    let settings = super::keyfs::settings(g)?;
    Ok(files::KeyfsBackend::new(
        crate::auth::keyfs::shared::SharedKeyfs::new(settings),
    ))
}

fn del(g: &Globals, d: Del) -> Result<(), Fail> {
    let mut o = super::keyfs::open(g)?;
    if o.store.user(&d.name)?.secstore.is_none() {
        return Err(Fail::msg(format!("{} has no secstore", d.name)));
    }
    // the account first: from then on no login stores a file
    o.store.set_secstore(&d.name, None, when::now())?;
    stored_files(g)?.remove_all(&d.name).map_err(Fail::msg)?;
    println!("secstore of {} removed, with its files", d.name);
    Ok(())
}

fn list(g: &Globals, l: List) -> Result<(), Fail> {
    let o = super::keyfs::open(g)?;
    let acct = o.store.user(&l.name)?;
    let Some(s) = &acct.secstore else {
        return Err(Fail::msg(format!(
            "{} has no secstore (warden secstore add {})",
            l.name, l.name
        )));
    };
    let fl = stored_files(g)?.files(&l.name).map_err(Fail::msg)?;
    let used: u64 = fl.iter().map(|f| f.1).sum();
    println!("user: {}", l.name);
    println!("files: {} of {}", fl.len(), s.max_files);
    println!("bytes: {used} of {}", s.max_bytes);
    for (name, len, mtime) in fl {
        println!("{name}\t{len}\t{}", when::format(mtime.max(0) as u64));
    }
    Ok(())
}

#[cfg(feature = "client")]
pub use client::*;

#[cfg(feature = "client")]
mod client {
    use super::*;
    use crate::auth::secstore::client::Conn;
    use std::net::TcpStream;
    use std::time::Duration;

    /// Where and who: `-s` (or `$secstore`, else `secstore`) and `-u`.
    #[derive(Debug)]
    /// fetch a file from a secstore and decrypt it
    pub struct Get {
        pub(super) name: String,
        /// write it here ('-': standard output, the default)
        pub(super) out: Option<std::path::PathBuf>,
        /// the secstore: host, host:port or tcp!host!port (default $secstore, else 'secstore')
        pub(super) server: Option<String>,
        /// the user (default: yours)
        pub(super) user: Option<String>,
    }

    /// encrypt a file and store it in a secstore
    #[derive(Debug)]
    pub struct Put {
        pub(super) file: std::path::PathBuf,
        /// the name to store it under (default: the file's name)
        pub(super) r#as: Option<String>,
        /// the secstore (as for get)
        pub(super) server: Option<String>,
        /// the user (default: yours)
        pub(super) user: Option<String>,
    }

    /// remove a file from a secstore
    #[derive(Debug)]
    pub struct Rm {
        pub(super) name: String,
        /// the secstore (as for get)
        pub(super) server: Option<String>,
        /// the user (default: yours)
        pub(super) user: Option<String>,
    }

    /// list the files in a secstore
    #[derive(Debug)]
    pub struct Ls {
        /// the secstore (as for get)
        pub(super) server: Option<String>,
        /// the user (default: yours)
        pub(super) user: Option<String>,
    }

    /// `host`, `host:port` or `tcp!host!port` (plan9port's netmkaddr) to
    /// `host:port`, port 5356 by default.
    pub fn address(s: &str) -> String {
        let port = crate::auth::secstore::service::DEFAULT_PORT;
        let parts: Vec<&str> = s.split('!').collect();
        match parts.as_slice() {
            [_, host, p] => format!(
                "{host}:{}",
                if *p == "secstore" {
                    port.to_string()
                } else {
                    p.to_string()
                }
            ),
            [_, host] => format!("{host}:{port}"),
            _ if s.contains(':') && !s.starts_with('[') && s.matches(':').count() == 1 => {
                s.to_string()
            }
            _ if s.starts_with('[') && s.contains("]:") => s.to_string(),
            _ => format!("{s}:{port}"),
        }
    }

    pub fn server_of(s: &Option<String>) -> String {
        address(
            &s.clone()
                .or_else(|| std::env::var("secstore").ok().filter(|v| !v.is_empty()))
                .unwrap_or_else(|| "secstore".into()),
        )
    }

    pub fn user_of(u: &Option<String>) -> Result<String, Fail> {
        match u {
            Some(u) => Ok(u.clone()),
            // SAFETY: getuid cannot fail.
            None => Ok(crate::sys::users::name_of(unsafe { libc::getuid() })),
        }
    }

    /// Dial and log in (prompting for the password once).
    pub fn login(
        server: &str,
        user: &str,
        pass: Option<&[u8]>,
    ) -> Result<(Conn<TcpStream>, Zeroizing<Vec<u8>>), Fail> {
        let pw = match pass {
            Some(p) => Zeroizing::new(p.to_vec()),
            None => prompt::secret("secstore password: ")?,
        };
        let addr = crate::dns::resolve::resolve(server)
            .map_err(|e| Fail::msg(format!("secstore {server}: {e}")))?;
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| Fail::msg(format!("secstore {server}: {e}")))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.set_write_timeout(Some(Duration::from_secs(30)))?;
        let rand = crate::sys::random::array::<{ pak::RAND_LEN }>()?;
        let c = Conn::login(s, user, &pw, &rand)?;
        Ok((c, pw))
    }

    impl Get {
        pub fn run(self) -> Result<(), Fail> {
            let (mut c, pw) = login(&server_of(&self.server), &user_of(&self.user)?, None)?;
            let data = c.get(&self.name, &pw)?;
            let _ = c.bye();
            match self.out.as_deref() {
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&data)?;
                }
                Some(p) if p.as_os_str() == "-" => {
                    use std::io::Write;
                    std::io::stdout().write_all(&data)?;
                }
                Some(p) => {
                    super::super::output::write_out(p, &data, 0o600)?;
                }
            }
            Ok(())
        }
    }

    impl Put {
        pub fn run(self) -> Result<(), Fail> {
            let name = match &self.r#as {
                Some(n) => n.clone(),
                None => self
                    .file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| Fail::Usage("give --as NAME".into()))?
                    .to_string(),
            };
            crate::auth::secstore::session::check_name(&name).map_err(Fail::Usage)?;
            let data = Zeroizing::new(
                std::fs::read(&self.file)
                    .map_err(|e| Fail::msg(format!("{}: {e}", self.file.display())))?,
            );
            let (mut c, pw) = login(&server_of(&self.server), &user_of(&self.user)?, None)?;
            let iv = crate::sys::random::array::<16>()?;
            c.put(&name, &data, &pw, iv)?;
            let _ = c.bye();
            eprintln!("saved {} bytes as {name}", data.len());
            Ok(())
        }
    }

    impl Rm {
        pub fn run(self) -> Result<(), Fail> {
            let (mut c, _) = login(&server_of(&self.server), &user_of(&self.user)?, None)?;
            c.remove(&self.name)?;
            let _ = c.bye();
            Ok(())
        }
    }

    impl Ls {
        pub fn run(self) -> Result<(), Fail> {
            let (mut c, _) = login(&server_of(&self.server), &user_of(&self.user)?, None)?;
            print!("{}", c.list()?);
            let _ = c.bye();
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn addresses() {
            assert_eq!(address("router"), "router:5356");
            assert_eq!(address("router:99"), "router:99");
            assert_eq!(address("tcp!router!5357"), "router:5357");
            assert_eq!(address("tcp!router!secstore"), "router:5356");
            assert_eq!(address("net!router"), "router:5356");
        }
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group(
    "secstore",
    "secstore accounts (router) and files (LAN machines)",
    &[ADD, LIST, DEL, GET, PUT, RM, LS],
);
const ADD: Cmd = Cmd::leaf(
    "add",
    "give a keyfs account a secstore, or a new secstore password (prompted; it may differ from the \
     login password)",
    &[
        pos("name", ""),
        opt("files", "most files the user may keep (default 16)"),
        opt(
            "bytes",
            "most bytes over all files, as stored (default 262144)",
        ),
    ],
);
const LIST: Cmd = Cmd::leaf(
    "list",
    "show a user's secstore: quotas and stored files",
    &[pos("name", "")],
);
const DEL: Cmd = Cmd::leaf(
    "del",
    "remove a user's secstore: its password, quotas and every stored file (the keyfs account \
     stays)",
    &[pos("name", "")],
);
const GET: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "get",
        "fetch a file from a secstore and decrypt it",
        &[
            pos("name", ""),
            short(
                b'o',
                opt("out", "write it here ('-': standard output, the default)"),
            ),
            short(
                b's',
                opt(
                    "server",
                    "the secstore: host, host:port or tcp!host!port (default $secstore, else \
                     'secstore')",
                ),
            ),
            USER,
        ],
    ),
);
// Options the client commands share.
const SERVER_AS_FOR_GET: Arg = short(b's', opt("server", "the secstore (as for get)"));
const USER: Arg = short(b'u', opt("user", "the user (default: yours)"));
const PUT: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "put",
        "encrypt a file and store it in a secstore",
        &[
            pos("file", ""),
            opt(
                "as",
                "the name to store it under (default: the file's name)",
            ),
            SERVER_AS_FOR_GET,
            USER,
        ],
    ),
);
const RM: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "rm",
        "remove a file from a secstore",
        &[pos("name", ""), SERVER_AS_FOR_GET, USER],
    ),
);
const LS: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "ls",
        "list the files in a secstore",
        &[SERVER_AS_FOR_GET, USER],
    ),
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<SecstoreCmd, Fail> {
    let a = p.leaf();
    Ok(SecstoreCmd {
        what: match p.sub(2) {
            "add" => What::Add(Add {
                name: a.string("name"),
                files: a.u32("files")?,
                bytes: a.num("bytes", u64::MAX)?,
            }),
            "list" => What::List(List {
                name: a.string("name"),
            }),
            "del" => What::Del(Del {
                name: a.string("name"),
            }),
            #[cfg(feature = "client")]
            "get" => What::Get(Get {
                name: a.string("name"),
                out: a.opt_path("out"),
                server: a.opt("server"),
                user: a.opt("user"),
            }),
            #[cfg(feature = "client")]
            "put" => What::Put(Put {
                file: a.path("file"),
                r#as: a.opt("as"),
                server: a.opt("server"),
                user: a.opt("user"),
            }),
            #[cfg(feature = "client")]
            "rm" => What::Rm(Rm {
                name: a.string("name"),
                server: a.opt("server"),
                user: a.opt("user"),
            }),
            #[cfg(feature = "client")]
            "ls" => What::Ls(Ls {
                server: a.opt("server"),
                user: a.opt("user"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}
