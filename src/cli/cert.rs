//! `warden cert ...`: the SSH certificate authority.
//!
//! On the router (each command opens keyfs with the master passphrase,
//! like `warden user`): `ca-pubkey`, `rotate`, `list`, `revoke`, `krl`,
//! `sign-user`, `sign-host`. On a LAN machine: `request`, which asks the
//! router's signer service over the network with the account's password.

use super::keyfs::open;
use super::output::{self, write_out};
use super::{when, Fail, Globals};
use crate::auth::signer::ca;
use crate::auth::ssh::cert::{self, CertType};
use crate::auth::ssh::key::PublicKey;
use argh::FromArgs;
use std::path::{Path, PathBuf};

/// the SSH certificate authority (signer)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "cert")]
pub struct CertCmd {
    #[argh(subcommand)]
    what: What,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum What {
    CaPubkey(CaPubkey),
    Rotate(Rotate),
    List(List),
    Revoke(Revoke),
    Krl(KrlCmd),
    SignUser(SignUser),
    SignHost(SignHost),
    #[cfg(feature = "client")]
    Request(lan::RequestCmd),
}

/// print the CA public keys still trusted (for TrustedUserCAKeys or
/// @cert-authority lines), newest first, each commented warden-ca-<created>
/// and "current" (the key that signs) or "retired-<when>"; makes the CA key
/// on first use
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "ca-pubkey")]
struct CaPubkey {}

/// make a new CA key; the old one stays listed until its certificates expire
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "rotate")]
struct Rotate {}

/// list issued certificates
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
struct List {}

/// revoke a certificate by serial, or every certificate of a key (a .pub file)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "revoke")]
struct Revoke {
    /// serial number or public key file
    #[argh(positional)]
    what: String,
    /// do not rewrite the KRL file afterwards
    #[argh(switch)]
    no_krl: bool,
}

/// write the key revocation list (sshd's RevokedKeys)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "krl")]
struct KrlCmd {
    /// output file, - for standard output (default: the configuration's
    /// signer krl)
    #[argh(option)]
    out: Option<PathBuf>,
}

/// sign a user key
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "sign-user")]
struct SignUser {
    /// a principal (user name on the target hosts); repeat for more
    #[argh(option)]
    principal: Vec<String>,
    /// the public key file
    #[argh(option)]
    key: PathBuf,
    /// how long: 30m, 8h, 7d (default 24h)
    #[argh(option, default = "String::from(\"24h\")")]
    validity: String,
    /// start of validity: seconds since the epoch or YYYY-MM-DD[ HH:MM[:SS]]
    /// (default: five minutes ago)
    #[argh(option)]
    from: Option<String>,
    /// certificate file, - for standard output (default: KEY without
    /// .pub, plus -cert.pub)
    #[argh(option)]
    out: Option<PathBuf>,
}

/// sign a host key
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "sign-host")]
struct SignHost {
    /// the host name clients connect to; repeat for more
    #[argh(option)]
    principal: Vec<String>,
    /// the host's public key file
    #[argh(option)]
    key: PathBuf,
    /// how long (default 365d)
    #[argh(option, default = "String::from(\"365d\")")]
    validity: String,
    /// certificate file, - for standard output (default: KEY without
    /// .pub, plus -cert.pub)
    #[argh(option)]
    out: Option<PathBuf>,
}

/// `id_ed25519.pub` -> `id_ed25519-cert.pub`, as ssh looks for it.
pub fn cert_path(key: &Path) -> PathBuf {
    let s = key.to_string_lossy();
    let base = s.strip_suffix(".pub").unwrap_or(&s);
    PathBuf::from(format!("{base}-cert.pub"))
}

fn read_key(path: &Path) -> Result<(PublicKey, String), Fail> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fail::msg(format!("read {}: {e}", path.display())))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| Fail::msg(format!("{}: no public key", path.display())))?;
    PublicKey::parse_line(line).map_err(|e| Fail::msg(format!("{}: {e}", path.display())))
}

/// A validity of `d` seconds from now: `--validity 10m` is ten minutes of
/// use; the start is backdated by ca::BACKDATE besides, for clocks behind.
fn from_now(d: u64) -> (u64, u64) {
    let now = when::now();
    (now.saturating_sub(ca::BACKDATE), now.saturating_add(d))
}

fn duration(s: &str) -> Result<u64, Fail> {
    crate::config::model::parse_duration(s)
        .map(|d| d.as_secs())
        .filter(|d| *d > 0)
        .ok_or_else(|| Fail::Usage(format!("bad validity '{s}': expected e.g. 30m, 8h, 7d")))
}

/// Write the certificate (`-`: standard output) and say so on stderr.
fn write_cert(out: &Path, blob: &[u8], comment: &str) -> Result<(), Fail> {
    let line = cert::to_line(blob, comment) + "\n";
    let w = write_out(out, line.as_bytes(), 0o644)?;
    eprintln!("{w}: {}", describe(blob));
    Ok(())
}

/// `2026-11-22T09:11:00Z`: one word for `cert list`'s columns.
fn iso(t: u64) -> String {
    when::iso(t)
}

fn describe(blob: &[u8]) -> String {
    match cert::parse(blob) {
        Ok(p) => format!(
            "serial {}, principals {}, valid {} to {}",
            p.spec.serial,
            p.spec.principals.join(","),
            when::format(p.spec.valid_after),
            when::format(p.spec.valid_before)
        ),
        Err(_) => "certificate".into(),
    }
}

fn sign(
    g: &Globals,
    kind: CertType,
    principals: Vec<String>,
    key: &Path,
    valid: (u64, u64),
    out: Option<PathBuf>,
) -> Result<(), Fail> {
    if principals.is_empty() {
        return Err(Fail::Usage("give at least one --principal".into()));
    }
    let (pk, comment) = read_key(key)?;
    let out = out.unwrap_or_else(|| cert_path(key));
    output::check(&out)?;
    let mut o = open(g)?;
    let now = when::now();
    let req = ca::Request {
        kind,
        key: pk,
        key_id: if comment.is_empty() {
            principals.join(",")
        } else {
            comment.clone()
        },
        principals,
        valid_after: valid.0,
        valid_before: valid.1,
        by: "admin".into(),
        from: None,
        critical: Vec::new(),
        extensions: match kind {
            CertType::User => cert::USER_EXTENSIONS
                .iter()
                .map(|e| e.to_string())
                .collect(),
            CertType::Host => Vec::new(),
        },
    };
    let (_, blob) = ca::issue(&mut o.store, &req, now)?;
    write_cert(&out, &blob, &comment)
}

fn write_krl(store: &crate::auth::keyfs::Store, out: &Path) -> Result<(), Fail> {
    let k = ca::krl(&store.db().signer, when::now());
    let w = write_out(out, &k.encode(), 0o644)?;
    eprintln!(
        "{w}: KRL version {}, {} serial(s), {} key(s)",
        k.version,
        k.serials.iter().map(|(_, v)| v.len()).sum::<usize>(),
        k.keys.len()
    );
    Ok(())
}

impl CertCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        match self.what {
            What::CaPubkey(_) => {
                let mut o = open(g)?;
                let now = when::now();
                ca::ensure_ca(&mut o.store, now)?;
                print!("{}", ca::ca_lines(&o.store.db().signer, now));
            }
            What::Rotate(_) => {
                let mut o = open(g)?;
                let now = when::now();
                let pk = ca::rotate(&mut o.store, now)?;
                println!("new CA key {}", pk.fingerprint());
                print!("{}", ca::ca_lines(&o.store.db().signer, now));
            }
            What::List(_) => {
                let o = open(g)?;
                let now = when::now();
                println!("SERIAL TYPE STATUS VALID-FROM VALID-TO PRINCIPALS KEY BY");
                for i in &o.store.db().signer.issued {
                    let status = if i.revoked {
                        "revoked"
                    } else if i.valid_before <= now {
                        "expired"
                    } else {
                        "valid"
                    };
                    let fp = PublicKey::from_blob(&i.key)
                        .map(|k| k.fingerprint())
                        .unwrap_or_else(|_| "?".into());
                    println!(
                        "{} {} {status} {} {} {} {fp} {}",
                        i.serial,
                        if i.kind == 2 { "host" } else { "user" },
                        iso(i.valid_after),
                        iso(i.valid_before),
                        i.principals.join(","),
                        i.by.replace(' ', "_"),
                    );
                }
            }
            What::Revoke(r) => {
                let cfg = g.load_config()?;
                let mut o = open(g)?;
                if let Ok(serial) = r.what.parse::<u64>() {
                    ca::revoke_serial(&mut o.store, serial)?;
                    println!("revoked serial {serial}");
                } else {
                    let (pk, _) = read_key(Path::new(&r.what))?;
                    let n = ca::revoke_key(&mut o.store, &pk)?;
                    println!("revoked key {} ({n} certificate(s))", pk.fingerprint());
                }
                if !r.no_krl {
                    write_krl(&o.store, &cfg.signer.krl).map_err(|e| match e {
                        Fail::Runtime(e) => Fail::msg(format!(
                            "revoked in keyfs, but the KRL was not written ({e}); run warden cert krl"
                        )),
                        other => other,
                    })?;
                }
            }
            What::Krl(k) => {
                let cfg = g.load_config()?;
                let o = open(g)?;
                write_krl(&o.store, &k.out.unwrap_or(cfg.signer.krl))?;
            }
            What::SignUser(s) => {
                let d = duration(&s.validity)?;
                let window = match &s.from {
                    Some(f) => {
                        let from = when::parse(f).ok_or_else(|| {
                            Fail::Usage(format!("bad --from '{f}': epoch seconds or a date"))
                        })?;
                        (from, from.saturating_add(d))
                    }
                    None => from_now(d),
                };
                sign(g, CertType::User, s.principal, &s.key, window, s.out)?;
            }
            What::SignHost(s) => {
                let d = duration(&s.validity)?;
                sign(g, CertType::Host, s.principal, &s.key, from_now(d), s.out)?;
            }
            #[cfg(feature = "client")]
            What::Request(r) => lan::request(r)?,
        }
        Ok(())
    }
}

/// The LAN side: `cert request`, for the LAN's machines (feature `client`;
/// router builds leave it out).
#[cfg(feature = "client")]
mod lan {
    use super::{cert_path, read_key, write_cert};
    use crate::auth::signer::service::{self, Answer};
    use crate::cli::{prompt, Fail};
    use argh::FromArgs;
    use std::path::PathBuf;

    /// ask the router's signer for a user certificate (prompts for the password)
    #[derive(FromArgs, Debug)]
    #[argh(subcommand, name = "request")]
    pub struct RequestCmd {
        /// the signer: HOST or HOST:PORT (port 6673 by default)
        #[argh(option)]
        signer: String,
        /// the account name
        #[argh(option)]
        user: String,
        /// the public key to certify (e.g. ~/.ssh/id_ed25519.pub)
        #[argh(option)]
        key: PathBuf,
        /// certificate file, - for standard output (default: KEY without
        /// .pub, plus -cert.pub)
        #[argh(option)]
        out: Option<PathBuf>,
        /// the account has a TOTP or HOTP token: also ask for its code
        /// (proven with the password; without it such an account is
        /// refused like a wrong password)
        #[argh(switch)]
        totp: bool,
        /// ask for fewer principals than the account has; repeat for more
        /// (default: all of them)
        #[argh(option)]
        principal: Vec<String>,
        /// ask for a shorter validity than the account's longest (e.g. 1h)
        #[argh(option)]
        validity: Option<String>,
        /// ask for only these extensions (pty, port-forwarding,
        /// agent-forwarding, X11-forwarding, user-rc; none for none);
        /// repeat for more (default: all the account allows)
        #[argh(option)]
        extension: Vec<String>,
    }

    /// What `--principal`, `--validity` and `--extension` ask for.
    pub fn ask(
        principal: Vec<String>,
        validity: Option<&str>,
        extension: &[String],
    ) -> Result<crate::auth::signer::policy::Ask, Fail> {
        use crate::auth::signer::policy;
        let extensions = if extension.is_empty() {
            None
        } else {
            let mut v = Vec::new();
            for e in extension {
                v.extend(
                    policy::extensions(e)
                        .map_err(|m| Fail::Usage(format!("--extension: {m}")))?
                        .into_iter()
                        .map(String::from),
                );
            }
            Some(v)
        };
        Ok(policy::Ask {
            validity: validity.map(super::duration).transpose()?.unwrap_or(0),
            principals: principal,
            extensions,
        })
    }

    pub fn request(r: RequestCmd) -> Result<(), Fail> {
        let ask = ask(r.principal.clone(), r.validity.as_deref(), &r.extension)?;
        let (pk, comment) = read_key(&r.key)?;
        let out = r.out.clone().unwrap_or_else(|| cert_path(&r.key));
        crate::cli::output::check(&out)?;
        let addr = if r.signer.contains(':') && !r.signer.ends_with(']') {
            r.signer.clone()
        } else {
            format!("{}:{}", r.signer, service::DEFAULT_PORT)
        };
        let password = prompt::secret(&format!("password for {}: ", r.user))?;
        // The code is proven with the password in the same exchange: the
        // signer never says which of the two was wrong, nor whether the
        // account has a token.
        let totp = if r.totp {
            Some(prompt::secret("TOTP code: ")?)
        } else {
            None
        };
        let code = totp
            .as_ref()
            .map(|t| String::from_utf8_lossy(t).trim().to_string());
        let answer = service::request(&addr, &r.user, &password, &pk, code.as_deref(), &ask)
            .map_err(|e| Fail::msg(format!("signer {addr}: {e}")))?;
        match answer {
            Answer::Cert(blob) => write_cert(&out, &blob, &comment),
            Answer::Error(m) => Err(Fail::msg(format!("signer {addr}: {m}"))),
        }
    }
}
