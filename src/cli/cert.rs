//! `warden cert ...`: the SSH certificate authority.
//!
//! On the router: `ca-pubkey`, `rotate`, `list`, `revoke`, `krl`,
//! `sign-user`, `sign-host`, as admin requests ([`crate::auth::admin`]):
//! answered by the running daemon while it holds keyfs unlocked (no
//! passphrase), else on the key file opened with the master passphrase.
//! On a LAN machine: `request`, which asks the router's signer service over
//! the network with the account's password.

use super::keyfs::{admin, admin1};
use super::output::{self, write_out};
use super::{when, Fail, Globals};
use crate::auth::admin::{request, Answer};
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
/// @cert-authority lines); makes the CA key on first use
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "ca-pubkey")]
struct CaPubkey {}

/// make a new CA key; the old one stays listed until its certificates expire
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "rotate")]
struct Rotate {}

/// list issued certificates (aligned columns; ISO 8601 times)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
struct List {
    /// print a JSON array of {serial, type, status, valid_from, valid_to,
    /// principals, key, by, issued} instead
    #[argh(switch)]
    json: bool,
}

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
    /// the public key file (- for standard input)
    #[argh(option)]
    key: PathBuf,
    /// how long: 30m, 8h, 7d, 1y (default 24h)
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
    /// the host's public key file (- for standard input)
    #[argh(option)]
    key: PathBuf,
    /// how long: 30d, 1y (default 365d)
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

/// A public key file's first key; `-` reads standard input (`ssh
/// root@router warden cert sign-host --key - < host_key.pub`).
fn read_key(path: &Path) -> Result<(PublicKey, String), Fail> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
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
    let d = super::grammar::Dur::parse(s)
        .map_err(|e| Fail::Usage(format!("--validity: {e}")))?
        .0
        .as_secs();
    if d == 0 {
        return Err(Fail::Usage(format!("--validity '{s}': at least 1s")));
    }
    Ok(d)
}

/// Write the certificate (`-`: standard output) and say so on stderr.
fn write_cert(out: &Path, blob: &[u8], comment: &str) -> Result<(), Fail> {
    let line = cert::to_line(blob, comment) + "\n";
    let w = write_out(out, line.as_bytes(), 0o644)?;
    eprintln!("{w}: {}", describe(blob));
    Ok(())
}

fn describe(blob: &[u8]) -> String {
    match cert::parse(blob) {
        Ok(p) => format!(
            "serial {}, principals {}, valid {} to {}",
            p.spec.serial,
            p.spec.principals.join(","),
            when::iso(p.spec.valid_after),
            when::iso(p.spec.valid_before)
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
    // a key from stdin: the certificate to stdout unless told otherwise
    let out = out.unwrap_or_else(|| match key.as_os_str() == "-" {
        true => PathBuf::from("-"),
        false => cert_path(key),
    });
    output::check(&out)?;
    let key_id = if comment.is_empty() {
        principals.join(",")
    } else {
        comment.clone()
    };
    let a = admin1(
        g,
        &[
            "cert",
            "sign",
            match kind {
                CertType::User => "user",
                CertType::Host => "host",
            },
            &valid.0.to_string(),
            &valid.1.to_string(),
            &principals.join(","),
            &key_id,
            &pk.to_line(""),
        ],
    )?;
    write_cert(&out, &a.out, &comment)
}

/// Write the KRL an admin request answered, and say so on stderr.
fn write_krl(a: &Answer, out: &Path) -> Result<(), Fail> {
    let w = write_out(out, &a.out, 0o644)?;
    eprintln!("{w}: {}", a.notes.join("; "));
    Ok(())
}

/// Print a text answer: its output on stdout, its notes on stderr.
fn print(a: &Answer) {
    use std::io::Write;
    for n in &a.notes {
        eprintln!("warden: {n}");
    }
    let _ = std::io::stdout().write_all(&a.out);
}

impl CertCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        match self.what {
            What::CaPubkey(_) => print(&admin1(g, &["cert", "ca-pubkey"])?),
            What::Rotate(_) => print(&admin1(g, &["cert", "rotate"])?),
            What::List(l) => {
                let mut w = vec!["cert", "list"];
                if l.json {
                    w.push("json");
                }
                print(&admin1(g, &w)?);
            }
            What::Revoke(r) => {
                let cfg = g.load_config()?;
                let req = if let Ok(serial) = r.what.parse::<u64>() {
                    request(&["cert", "revoke", &serial.to_string()])
                } else {
                    let (pk, _) = read_key(Path::new(&r.what))?;
                    request(&["cert", "revoke-key", &pk.to_line("")])
                };
                let mut reqs = vec![req];
                if !r.no_krl {
                    reqs.push(request(&["cert", "krl"]));
                }
                let answers = admin(g, &reqs)?;
                if let Some(a) = answers.first() {
                    print(a);
                }
                if let Some(k) = answers.get(1) {
                    write_krl(k, &cfg.signer.krl).map_err(|e| match e {
                        Fail::Runtime(e) => Fail::msg(format!(
                            "revoked in keyfs, but the KRL was not written ({e}); run warden cert krl"
                        )),
                        other => other,
                    })?;
                }
            }
            What::Krl(k) => {
                let cfg = g.load_config()?;
                let out = k.out.unwrap_or(cfg.signer.krl);
                output::check(&out)?;
                write_krl(&admin1(g, &["cert", "krl"])?, &out)?;
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
    }

    pub fn request(r: RequestCmd) -> Result<(), Fail> {
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
        let answer = service::request(&addr, &r.user, &password, &pk, code.as_deref())
            .map_err(|e| Fail::msg(format!("signer {addr}: {e}")))?;
        match answer {
            Answer::Cert(blob) => write_cert(&out, &blob, &comment),
            Answer::Error(m) => Err(Fail::msg(format!("signer {addr}: {m}"))),
        }
    }
}
