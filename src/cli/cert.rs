//! `warden cert ...`: the SSH certificate authority.
//!
//! On the router: `ca-pubkey`, `rotate`, `list`, `revoke`, `krl`,
//! `sign-user`, `sign-host`, as admin requests ([`crate::auth::admin`]):
//! answered by the running daemon while it holds keyfs unlocked (no
//! passphrase), else on the key file opened with the master passphrase.
//! On a LAN machine: `request`, which asks the router's signer service over
//! the network with the account's password.

use super::args::{flag, many, opt, pos, req, Arg, Cmd, Parsed};
use super::keyfs::{admin, admin1};
use super::output::{self, write_out};
use super::{when, Fail, Globals};
use crate::auth::admin::{request, Answer};
use crate::auth::signer::ca;
use crate::auth::ssh::cert::{self, CertType};
use crate::auth::ssh::key::PublicKey;
use std::path::{Path, PathBuf};

/// the SSH certificate authority (signer)
#[derive(Debug)]
pub struct CertCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    CaPubkey(CaPubkey),
    Rotate(Rotate),
    List(List),
    Revoke(Revoke),
    Krl(KrlCmd),
    SignUser(SignUser),
    SignHost(SignHost),
    EnrolToken(EnrolToken),
    #[cfg(feature = "client")]
    Request(lan::RequestCmd),
    #[cfg(feature = "client")]
    Renew(lan::RenewCmd),
    #[cfg(feature = "client")]
    Enrol(lan::EnrolCmd),
    #[cfg(feature = "client")]
    FetchKrl(lan::FetchKrl),
    #[cfg(feature = "client")]
    FetchCa(lan::FetchCa),
}

/// print the CA public keys still trusted (for TrustedUserCAKeys or
/// @cert-authority lines), newest first, each commented warden-ca-<created>
/// and "current" (the key that signs) or "retired-<when>"; makes the CA key
/// on first use
#[derive(Debug)]
struct CaPubkey {}

/// make a new CA key; the old one stays listed until its certificates expire
#[derive(Debug)]
struct Rotate {}

/// list issued certificates (aligned columns; ISO 8601 times)
#[derive(Debug)]
struct List {
    /// print a JSON array of {serial, type, status, valid_from, valid_to,
    /// principals, key, by, issued} instead
    json: bool,
}

/// revoke a certificate by serial, or every certificate of a key (a .pub file)
#[derive(Debug)]
struct Revoke {
    /// serial number or public key file
    what: String,
    /// do not rewrite the KRL file afterwards
    no_krl: bool,
}

/// write the key revocation list (sshd's RevokedKeys)
#[derive(Debug)]
struct KrlCmd {
    /// output file, - for standard output (default: the configuration's
    /// signer krl)
    out: Option<PathBuf>,
}

/// sign a user key
#[derive(Debug)]
struct SignUser {
    /// a principal (user name on the target hosts); repeat for more
    principal: Vec<String>,
    /// the public key file (- for standard input)
    key: PathBuf,
    /// how long: 30m, 8h, 7d, 1y (default 24h)
    validity: String,
    /// start of validity: seconds since the epoch or YYYY-MM-DD[ HH:MM[:SS]]
    /// (default: five minutes ago)
    from: Option<String>,
    /// certificate file, - for standard output (default: KEY without
    /// .pub, plus -cert.pub)
    out: Option<PathBuf>,
}

/// sign a host key
#[derive(Debug)]
struct SignHost {
    /// the host name clients connect to; repeat for more
    principal: Vec<String>,
    /// the host's public key file (- for standard input)
    key: PathBuf,
    /// how long: 30d, 1y (default 365d)
    validity: String,
    /// certificate file, - for standard output (default: KEY without
    /// .pub, plus -cert.pub)
    out: Option<PathBuf>,
}

/// make a one-time token with which HOST gets its host certificate over
/// the network (warden cert enrol on the host); prints the token once
#[derive(Debug)]
struct EnrolToken {
    /// the host's name (its certificate's first principal)
    host: String,
    /// another name the host is known by; repeat for more
    principal: Vec<String>,
    /// how long the host certificate is valid (default 365d)
    validity: String,
    /// how long the token may be used (default 1h)
    expires: String,
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
            What::EnrolToken(t) => {
                let validity = duration(&t.validity)?.to_string();
                let expires = duration(&t.expires)?.to_string();
                let more = match t.principal.is_empty() {
                    true => "-".to_string(),
                    false => t.principal.join(","),
                };
                let a = admin1(
                    g,
                    &["cert", "enrol-token", &t.host, &more, &validity, &expires],
                )?;
                // the token on stdout (once), what it is for on stderr
                print!("{}", String::from_utf8_lossy(&a.out));
                for n in &a.notes {
                    eprintln!("{n}");
                }
            }
            #[cfg(feature = "client")]
            What::Request(r) => lan::request(r)?,
            #[cfg(feature = "client")]
            What::Enrol(e) => lan::enrol(e)?,
            #[cfg(feature = "client")]
            What::Renew(r) => lan::renew(r)?,
            #[cfg(feature = "client")]
            What::FetchKrl(f) => lan::fetch(&f.signer, "krl", f.out)?,
            #[cfg(feature = "client")]
            What::FetchCa(f) => lan::fetch(&f.signer, "ca", f.out)?,
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
    use std::path::PathBuf;

    /// ask the router's signer for a user certificate (prompts for the password)
    #[derive(Debug)]
    pub struct RequestCmd {
        /// the signer: HOST or HOST:PORT (port 6673 by default)
        pub(super) signer: String,
        /// the account name
        pub(super) user: String,
        /// the public key to certify (e.g. ~/.ssh/id_ed25519.pub)
        pub(super) key: PathBuf,
        /// certificate file, - for standard output (default: KEY without
        /// .pub, plus -cert.pub)
        pub(super) out: Option<PathBuf>,
        /// the account has a TOTP or HOTP token: also ask for its code
        /// (proven with the password; without it such an account is
        /// refused like a wrong password)
        pub(super) totp: bool,
        /// ask for fewer principals than the account has; repeat for more
        /// (default: all of them)
        pub(super) principal: Vec<String>,
        /// ask for a shorter validity than the account's longest (e.g. 1h)
        pub(super) validity: Option<String>,
        /// ask for only these extensions (pty, port-forwarding,
        /// agent-forwarding, X11-forwarding, user-rc; none for none);
        /// repeat for more (default: all the account allows)
        pub(super) extension: Vec<String>,
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

    /// fetch the signer's key revocation list (for sshd's RevokedKeys; no
    /// password: it is public), written atomically
    #[derive(Debug)]
    pub struct FetchKrl {
        /// the signer: HOST or HOST:PORT (port 6673 by default)
        pub signer: String,
        /// output file, - for standard output (the default)
        pub out: PathBuf,
    }

    /// fetch the signer's CA public keys (for TrustedUserCAKeys or
    /// @cert-authority lines; no password), written atomically
    #[derive(Debug)]
    pub struct FetchCa {
        /// the signer: HOST or HOST:PORT (port 6673 by default)
        pub signer: String,
        /// output file, - for standard output (the default)
        pub out: PathBuf,
    }

    /// renew a user certificate without the password, by proving possession
    /// of its key (through ssh-agent, or an unencrypted key file); due in
    /// the second half of the certificate's life
    #[derive(Debug)]
    pub struct RenewCmd {
        /// the signer: HOST or HOST:PORT (port 6673 by default)
        pub(super) signer: String,
        /// the certified public key (e.g. ~/.ssh/id_ed25519.pub); its
        /// private key is KEY without .pub, unless ssh-agent holds it
        pub(super) key: PathBuf,
        /// the certificate to renew, replaced by the new one (default: KEY
        /// without .pub, plus -cert.pub)
        pub(super) cert: Option<PathBuf>,
        /// where to write the new certificate, - for standard output
        /// (default: the --cert file)
        pub(super) out: Option<PathBuf>,
    }

    fn addr(signer: &str) -> String {
        if signer.contains(':') && !signer.ends_with(']') {
            signer.to_string()
        } else {
            format!("{signer}:{}", service::DEFAULT_PORT)
        }
    }

    /// `cert fetch-krl`, `cert fetch-ca`: what is fetched is checked
    /// before it replaces anything.
    pub fn fetch(signer: &str, what: &str, out: PathBuf) -> Result<(), Fail> {
        use crate::auth::ssh::key::PublicKey;
        crate::cli::output::check(&out)?;
        let addr = addr(signer);
        let data =
            service::fetch(&addr, what).map_err(|e| Fail::msg(format!("signer {addr}: {e}")))?;
        let what_it_is = if what == "krl" {
            if !data.starts_with(b"SSHKRL\n\0") {
                return Err(Fail::msg(format!("signer {addr}: the answer is not a KRL")));
            }
            format!("KRL, {} bytes", data.len())
        } else {
            let text = std::str::from_utf8(&data)
                .map_err(|_| Fail::msg(format!("signer {addr}: the CA keys are not text")))?;
            let mut n = 0;
            for l in text.lines() {
                PublicKey::parse_line(l)
                    .map_err(|e| Fail::msg(format!("signer {addr}: CA key line: {e}")))?;
                n += 1;
            }
            format!("{n} CA key(s)")
        };
        let w = crate::cli::output::write_out(&out, &data, 0o644)?;
        eprintln!("{w}: {what_it_is} from {addr}");
        Ok(())
    }

    /// The certified key's signature: by ssh-agent when it holds the key,
    /// else from the unencrypted private key file.
    fn signer_for(
        pub_path: &std::path::Path,
        key: &crate::auth::ssh::key::PublicKey,
    ) -> Result<Box<service::Sign<'static>>, Fail> {
        use crate::auth::ssh::key::Ed25519Key;
        if let Some(sock) = std::env::var_os("SSH_AUTH_SOCK") {
            let blob = key.blob.clone();
            let held = agent_keys(std::path::Path::new(&sock))
                .map(|ks| ks.contains(&blob))
                .unwrap_or(false);
            if held {
                let sock = PathBuf::from(sock);
                return Ok(Box::new(move |d: &[u8]| agent_sign(&sock, &blob, d)));
            }
        }
        let s = pub_path.to_string_lossy();
        let private = PathBuf::from(s.strip_suffix(".pub").unwrap_or(&s).to_string());
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(&private).map_err(|e| {
            Fail::msg(format!(
                "read {}: {e} (and no ssh-agent holds the key)",
                private.display()
            ))
        })?);
        let k = Ed25519Key::from_openssh(&text)
            .map_err(|e| Fail::msg(format!("{}: {e}", private.display())))?;
        if k.public() != *key {
            return Err(Fail::msg(format!(
                "{}: not the private key of {}",
                private.display(),
                pub_path.display()
            )));
        }
        Ok(Box::new(move |d: &[u8]| Ok(k.sign(d))))
    }

    fn agent_call(sock: &std::path::Path, frame: &[u8]) -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(sock)?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        s.set_write_timeout(Some(std::time::Duration::from_secs(30)))?;
        s.write_all(frame)?;
        let mut len = [0u8; 4];
        s.read_exact(&mut len)?;
        let n = u32::from_be_bytes(len) as usize;
        if n > crate::auth::ssh::agent::MAX_FRAME {
            return Err(std::io::Error::other("agent answer too long"));
        }
        let mut b = vec![0u8; n];
        s.read_exact(&mut b)?;
        Ok(b)
    }

    /// The key blobs the agent at `sock` holds.
    fn agent_keys(sock: &std::path::Path) -> Option<Vec<Vec<u8>>> {
        use crate::auth::ssh::wire::get_string;
        let b = agent_call(sock, &[0, 0, 0, 1, 11]).ok()?;
        let mut r = crate::wire::Reader::new(&b);
        if r.u8().ok()? != 12 {
            return None;
        }
        let n = r.u32be().ok()?;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(get_string(&mut r).ok()?.to_vec());
            get_string(&mut r).ok()?;
        }
        Some(out)
    }

    fn agent_sign(
        sock: &std::path::Path,
        key: &[u8],
        data: &[u8],
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        use crate::auth::ssh::agent;
        let b = agent_call(sock, &agent::sign_request(key, data))
            .map_err(|e| format!("ssh-agent {}: {e}", sock.display()))?;
        Ok(agent::sign_response(&b)?)
    }

    pub fn renew(r: RenewCmd) -> Result<(), Fail> {
        use crate::auth::ssh::cert;
        use crate::auth::ssh::wire::unbase64;
        let (pk, comment) = read_key(&r.key)?;
        let cert_file = r.cert.clone().unwrap_or_else(|| cert_path(&r.key));
        let out = r.out.clone().unwrap_or_else(|| cert_file.clone());
        crate::cli::output::check(&out)?;
        let text = std::fs::read_to_string(&cert_file)
            .map_err(|e| Fail::msg(format!("read {}: {e}", cert_file.display())))?;
        let blob = text
            .split_whitespace()
            .nth(1)
            .and_then(unbase64)
            .ok_or_else(|| Fail::msg(format!("{}: no certificate", cert_file.display())))?;
        let p =
            cert::parse(&blob).map_err(|e| Fail::msg(format!("{}: {e}", cert_file.display())))?;
        if p.spec.key != pk {
            return Err(Fail::msg(format!(
                "{} certifies another key than {}",
                cert_file.display(),
                r.key.display()
            )));
        }
        let now = crate::cli::when::now();
        let due = crate::auth::signer::plain::due(p.spec.valid_after, p.spec.valid_before);
        if now < due {
            // cron may run this often: nothing to do is no failure
            eprintln!(
                "{}: serial {} is not due for renewal until {}",
                cert_file.display(),
                p.spec.serial,
                crate::cli::when::iso(due)
            );
            return Ok(());
        }
        // The same again: its principals, extensions and length.
        let ask = crate::auth::signer::policy::Ask {
            validity: (p.spec.valid_before - p.spec.valid_after)
                .saturating_sub(crate::auth::signer::ca::BACKDATE)
                .max(1),
            principals: p.spec.principals.clone(),
            extensions: Some(p.spec.extensions.clone()),
        };
        let mut sign = signer_for(&r.key, &pk)?;
        let addr = addr(&r.signer);
        let answer = service::renew(&addr, &blob, &ask, &mut *sign)
            .map_err(|e| Fail::msg(format!("signer {addr}: {e}")))?;
        match answer {
            Answer::Cert(blob) => write_cert(&out, &blob, &comment),
            Answer::Error(m) => Err(Fail::msg(format!("signer {addr}: {m}"))),
        }
    }

    /// get this host's certificate from the signer with a one-time token
    /// made on the router (warden cert enrol-token HOST; the token is read
    /// from standard input or asked for); renew it later with cert renew
    #[derive(Debug)]
    pub struct EnrolCmd {
        /// the signer: HOST or HOST:PORT (port 6673 by default)
        pub(super) signer: String,
        /// this host's name, as the token was made for
        pub(super) host: String,
        /// the host's public key (e.g. /etc/ssh/ssh_host_ed25519_key.pub)
        pub(super) key: PathBuf,
        /// certificate file, - for standard output (default: KEY without
        /// .pub, plus -cert.pub: sshd's HostCertificate)
        pub(super) out: Option<PathBuf>,
    }

    pub fn enrol(e: EnrolCmd) -> Result<(), Fail> {
        let (pk, comment) = read_key(&e.key)?;
        let out = e.out.clone().unwrap_or_else(|| cert_path(&e.key));
        crate::cli::output::check(&out)?;
        let tok = prompt::secret("enrolment token: ")?;
        let hex = String::from_utf8_lossy(&tok).trim().to_string();
        let token = zeroize::Zeroizing::new(
            crate::auth::oath::hex_decode(&hex)
                .filter(|t| t.len() == 16)
                .ok_or_else(|| Fail::Usage("the token is 32 hex digits".into()))?,
        );
        let addr = addr(&e.signer);
        let answer = service::enrol(&addr, &e.host, &token, &pk)
            .map_err(|err| Fail::msg(format!("signer {addr}: {err}")))?;
        match answer {
            Answer::Cert(blob) => write_cert(&out, &blob, &comment),
            Answer::Error(m) => Err(Fail::msg(format!("signer {addr}: {m}"))),
        }
    }

    pub fn request(r: RequestCmd) -> Result<(), Fail> {
        let ask = ask(r.principal.clone(), r.validity.as_deref(), &r.extension)?;
        let (pk, comment) = read_key(&r.key)?;
        let out = r.out.clone().unwrap_or_else(|| cert_path(&r.key));
        crate::cli::output::check(&out)?;
        let addr = addr(&r.signer);
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

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group(
    "cert",
    "the SSH certificate authority (signer)",
    &[
        CAPUBKEY, ROTATE, LIST, REVOKE, KRLCMD, SIGNUSER, SIGNHOST, ENROLTOKEN, REQUESTCMD,
        RENEWCMD, ENROLCMD, FETCHKRL, FETCHCA,
    ],
);
// The option every LAN command that talks to the signer takes.
const SIGNER: Arg = req(
    "signer",
    "the signer: HOST or HOST:PORT (port 6673 by default)",
);
const CAPUBKEY: Cmd = Cmd::leaf(
    "ca-pubkey",
    "print the CA public keys still trusted (for TrustedUserCAKeys or @cert-authority lines), \
     newest first, each commented warden-ca-<created> and \"current\" (the key that signs) or \
     \"retired-<when>\"; makes the CA key on first use",
    &[],
);
const ROTATE: Cmd = Cmd::leaf(
    "rotate",
    "make a new CA key; the old one stays listed until its certificates expire",
    &[],
);
const LIST: Cmd = Cmd::leaf(
    "list",
    "list issued certificates (aligned columns; ISO 8601 times)",
    &[flag(
        "json",
        "print a JSON array of {serial, type, status, valid_from, valid_to, principals, key, by, \
         issued} instead",
    )],
);
const REVOKE: Cmd = Cmd::leaf(
    "revoke",
    "revoke a certificate by serial, or every certificate of a key (a .pub file)",
    &[
        pos("what", "serial number or public key file"),
        flag("no-krl", "do not rewrite the KRL file afterwards"),
    ],
);
const KRLCMD: Cmd = Cmd::leaf(
    "krl",
    "write the key revocation list (sshd's RevokedKeys)",
    &[opt(
        "out",
        "output file, - for standard output (default: the configuration's signer krl)",
    )],
);
const SIGNUSER: Cmd = Cmd::leaf(
    "sign-user",
    "sign a user key",
    &[
        many(
            "principal",
            "a principal (user name on the target hosts); repeat for more",
        ),
        req("key", "the public key file (- for standard input)"),
        opt("validity", "how long: 30m, 8h, 7d, 1y (default 24h)"),
        opt(
            "from",
            "start of validity: seconds since the epoch or YYYY-MM-DD[ HH:MM[:SS]] (default: five \
             minutes ago)",
        ),
        opt(
            "out",
            "certificate file, - for standard output (default: KEY without .pub, plus -cert.pub)",
        ),
    ],
);
const SIGNHOST: Cmd = Cmd::leaf(
    "sign-host",
    "sign a host key",
    &[
        many(
            "principal",
            "the host name clients connect to; repeat for more",
        ),
        req("key", "the host's public key file (- for standard input)"),
        opt("validity", "how long: 30d, 1y (default 365d)"),
        opt(
            "out",
            "certificate file, - for standard output (default: KEY without .pub, plus -cert.pub)",
        ),
    ],
);
const ENROLTOKEN: Cmd = Cmd::leaf(
    "enrol-token",
    "make a one-time token with which HOST gets its host certificate over the network (warden cert \
     enrol on the host); prints the token once",
    &[
        pos(
            "host",
            "the host's name (its certificate's first principal)",
        ),
        many(
            "principal",
            "another name the host is known by; repeat for more",
        ),
        opt(
            "validity",
            "how long the host certificate is valid (default 365d)",
        ),
        opt("expires", "how long the token may be used (default 1h)"),
    ],
);
const REQUESTCMD: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "request",
        "ask the router's signer for a user certificate (prompts for the password)",
        &[
            SIGNER,
            req("user", "the account name"),
            req(
                "key",
                "the public key to certify (e.g. ~/.ssh/id_ed25519.pub)",
            ),
            opt(
                "out",
                "certificate file, - for standard output (default: KEY without .pub, plus \
                 -cert.pub)",
            ),
            flag(
                "totp",
                "the account has a TOTP or HOTP token: also ask for its code (proven with the \
                 password; without it such an account is refused like a wrong password)",
            ),
            many(
                "principal",
                "ask for fewer principals than the account has; repeat for more (default: all of \
                 them)",
            ),
            opt(
                "validity",
                "ask for a shorter validity than the account's longest (e.g. 1h)",
            ),
            many(
                "extension",
                "ask for only these extensions (pty, port-forwarding, agent-forwarding, \
                 X11-forwarding, user-rc; none for none); repeat for more (default: all the \
                 account allows)",
            ),
        ],
    ),
);
const FETCHKRL: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "fetch-krl",
        "fetch the signer's key revocation list (for sshd's RevokedKeys; no password: it is \
         public), written atomically",
        &[
            SIGNER,
            opt("out", "output file, - for standard output (the default)"),
        ],
    ),
);
const FETCHCA: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "fetch-ca",
        "fetch the signer's CA public keys (for TrustedUserCAKeys or @cert-authority lines; no \
         password), written atomically",
        &[
            SIGNER,
            opt("out", "output file, - for standard output (the default)"),
        ],
    ),
);
const RENEWCMD: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "renew",
        "renew a user certificate without the password, by proving possession of its key (through \
         ssh-agent, or an unencrypted key file); due in the second half of the certificate's life",
        &[
            SIGNER,
            req(
                "key",
                "the certified public key (e.g. ~/.ssh/id_ed25519.pub); its private key is KEY \
                 without .pub, unless ssh-agent holds it",
            ),
            opt(
                "cert",
                "the certificate to renew, replaced by the new one (default: KEY without .pub, \
                 plus -cert.pub)",
            ),
            opt(
                "out",
                "where to write the new certificate, - for standard output (default: the --cert \
                 file)",
            ),
        ],
    ),
);
const ENROLCMD: Cmd = Cmd::only(
    cfg!(feature = "client"),
    Cmd::leaf(
        "enrol",
        "get this host's certificate from the signer with a one-time token made on the router \
         (warden cert enrol-token HOST; the token is read from standard input or asked for); renew \
         it later with cert renew",
        &[
            SIGNER,
            req("host", "this host's name, as the token was made for"),
            req(
                "key",
                "the host's public key (e.g. /etc/ssh/ssh_host_ed25519_key.pub)",
            ),
            opt(
                "out",
                "certificate file, - for standard output (default: KEY without .pub, plus \
                 -cert.pub: sshd's HostCertificate)",
            ),
        ],
    ),
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<CertCmd, Fail> {
    let a = p.leaf();
    Ok(CertCmd {
        what: match p.sub(2) {
            "ca-pubkey" => What::CaPubkey(CaPubkey {}),
            "rotate" => What::Rotate(Rotate {}),
            "list" => What::List(List {
                json: a.flag("json"),
            }),
            "revoke" => What::Revoke(Revoke {
                what: a.string("what"),
                no_krl: a.flag("no-krl"),
            }),
            "krl" => What::Krl(KrlCmd {
                out: a.opt_path("out"),
            }),
            "sign-user" => What::SignUser(SignUser {
                principal: a.strings("principal"),
                key: a.path("key"),
                validity: a.string_or("validity", "24h"),
                from: a.opt("from"),
                out: a.opt_path("out"),
            }),
            "sign-host" => What::SignHost(SignHost {
                principal: a.strings("principal"),
                key: a.path("key"),
                validity: a.string_or("validity", "365d"),
                out: a.opt_path("out"),
            }),
            "enrol-token" => What::EnrolToken(EnrolToken {
                host: a.string("host"),
                principal: a.strings("principal"),
                validity: a.string_or("validity", "365d"),
                expires: a.string_or("expires", "1h"),
            }),
            #[cfg(feature = "client")]
            "request" => What::Request(lan::RequestCmd {
                signer: a.string("signer"),
                user: a.string("user"),
                key: a.path("key"),
                out: a.opt_path("out"),
                totp: a.flag("totp"),
                principal: a.strings("principal"),
                validity: a.opt("validity"),
                extension: a.strings("extension"),
            }),
            #[cfg(feature = "client")]
            "renew" => What::Renew(lan::RenewCmd {
                signer: a.string("signer"),
                key: a.path("key"),
                cert: a.opt_path("cert"),
                out: a.opt_path("out"),
            }),
            #[cfg(feature = "client")]
            "enrol" => What::Enrol(lan::EnrolCmd {
                signer: a.string("signer"),
                host: a.string("host"),
                key: a.path("key"),
                out: a.opt_path("out"),
            }),
            #[cfg(feature = "client")]
            "fetch-krl" => What::FetchKrl(lan::FetchKrl {
                signer: a.string("signer"),
                out: a.path_or("out", "-"),
            }),
            #[cfg(feature = "client")]
            "fetch-ca" => What::FetchCa(lan::FetchCa {
                signer: a.string("signer"),
                out: a.path_or("out", "-"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}
