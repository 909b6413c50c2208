//! What an account's user certificates may say, from its keyfs attributes
//! (`warden user attr NAME ATTR VALUE`), and what a request gets: the
//! client may ask for less (fewer principals, a shorter validity, fewer
//! extensions), never more. Sans-IO.
//!
//! | attribute | value | without it |
//! |---|---|---|
//! | `principals` | `a,b,...`: the names the certificate is good for | the account's name |
//! | `max_validity` | a duration (`8h`, `7d`); the signer's `max_validity` stays the ceiling | the signer's `max_validity` |
//! | `extensions` | `pty,port-forwarding,agent-forwarding,X11-forwarding,user-rc` (with or without `permit-`), or `none` | all five, as ssh-keygen |
//! | `force_command` | the command sshd runs instead of the user's | none |
//! | `source_address` | `addr[/bits],...` (CIDR, IPv4 or IPv6): where the certificate is accepted from | anywhere |

use super::ca;
use crate::auth::keyfs::Account;
use crate::auth::ssh::cert::USER_EXTENSIONS;

pub const MAX_VALIDITY: &str = "max_validity";
pub const EXTENSIONS: &str = "extensions";
pub const FORCE_COMMAND: &str = "force_command";
pub const SOURCE_ADDRESS: &str = "source_address";

/// What the client asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ask {
    /// Seconds of use; 0: the longest allowed.
    pub validity: u64,
    /// Empty: every principal of the account.
    pub principals: Vec<String>,
    /// None: every extension the account allows.
    pub extensions: Option<Vec<String>>,
}

/// What the certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub principals: Vec<String>,
    pub valid_after: u64,
    pub valid_before: u64,
    pub critical: Vec<(String, String)>,
    pub extensions: Vec<String>,
}

fn attr<'a>(a: &'a Account, name: &str) -> Option<&'a str> {
    a.attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
}

/// `pty` or `permit-pty` (any case) -> `permit-pty`, as certificates
/// spell it.
pub fn extension(name: &str) -> Option<&'static str> {
    let n = name.trim();
    let n = n.strip_prefix("permit-").unwrap_or(n);
    USER_EXTENSIONS
        .iter()
        .find(|e| e[7..].eq_ignore_ascii_case(n))
        .copied()
}

/// A comma-separated list of extension names; `none` is the empty list.
pub fn extensions(list: &str) -> Result<Vec<&'static str>, String> {
    if list.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for n in list.split(',').filter(|n| !n.trim().is_empty()) {
        let e = extension(n).ok_or_else(|| {
            format!(
                "unknown extension '{}' (pty, port-forwarding, agent-forwarding, X11-forwarding, user-rc)",
                n.trim().escape_default()
            )
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// A source-address list as sshd accepts it: CIDR entries only (sshd
/// refuses a certificate whose list it cannot parse).
fn source_address(list: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for e in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (ip, bits) = match e.split_once('/') {
            Some((ip, b)) => (ip, Some(b)),
            None => (e, None),
        };
        let max = match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => 32,
            Ok(std::net::IpAddr::V6(_)) => 128,
            Err(_) => return Err(format!("'{}' is not an address", e.escape_default())),
        };
        if let Some(b) = bits {
            if !b.parse::<u8>().is_ok_and(|b| b <= max) {
                return Err(format!("'{}': bad prefix length", e.escape_default()));
            }
        }
        out.push(e);
    }
    if out.is_empty() {
        return Err("an empty list".into());
    }
    Ok(out.join(","))
}

/// The certificate `a` gets at `now` for `ask`; `signer_max` is the
/// signer's `max_validity`. An error names the attribute or the request
/// field at fault.
pub fn grant(a: &Account, signer_max: u64, now: u64, ask: &Ask) -> Result<Grant, String> {
    let bad = |attr: &str, e: String| format!("account {}: attribute {attr}: {e}", a.name);
    let allowed = ca::principals(a);
    let principals = if ask.principals.is_empty() {
        allowed
    } else {
        if let Some(p) = ask.principals.iter().find(|p| !allowed.contains(p)) {
            return Err(format!(
                "principal '{}' is not one of {}'s ({})",
                p.escape_default(),
                a.name,
                allowed.join(",")
            ));
        }
        ask.principals.clone()
    };
    let mut max = signer_max;
    if let Some(v) = attr(a, MAX_VALIDITY) {
        let d = crate::config::model::parse_duration(v)
            .map(|d| d.as_secs())
            .filter(|d| *d > 0)
            .ok_or_else(|| {
                bad(
                    MAX_VALIDITY,
                    format!("'{}' is not a duration", v.escape_default()),
                )
            })?;
        max = max.min(d);
    }
    if ask.validity > 0 {
        max = max.min(ask.validity);
    }
    let (valid_after, valid_before) = ca::user_window(now, a.expire, max);
    let allowed: Vec<&str> = match attr(a, EXTENSIONS) {
        Some(v) => extensions(v).map_err(|e| bad(EXTENSIONS, e))?,
        None => USER_EXTENSIONS.to_vec(),
    };
    let extensions = match &ask.extensions {
        None => allowed.iter().map(|e| e.to_string()).collect(),
        Some(want) => {
            let mut out = Vec::new();
            for w in want {
                match extension(w) {
                    Some(e) if allowed.contains(&e) => out.push(e.to_string()),
                    _ => {
                        return Err(format!(
                            "extension '{}' is not allowed for {} ({})",
                            w.escape_default(),
                            a.name,
                            if allowed.is_empty() {
                                "none".to_string()
                            } else {
                                allowed.join(",")
                            }
                        ))
                    }
                }
            }
            out.dedup();
            out
        }
    };
    let mut critical = Vec::new();
    if let Some(c) = attr(a, FORCE_COMMAND).filter(|c| !c.is_empty()) {
        critical.push(("force-command".to_string(), c.to_string()));
    }
    if let Some(s) = attr(a, SOURCE_ADDRESS) {
        let s = source_address(s).map_err(|e| bad(SOURCE_ADDRESS, e))?;
        critical.push(("source-address".to_string(), s));
    }
    Ok(Grant {
        principals,
        valid_after,
        valid_before,
        critical,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::Expiry;

    fn account(attrs: &[(&str, &str)]) -> Account {
        let mut a = Account::new("glenda", Expiry::Never, 0).unwrap();
        for (k, v) in attrs {
            a.attrs.push((k.to_string(), v.to_string()));
        }
        a
    }

    #[test]
    fn defaults_are_ssh_keygens() {
        let g = grant(&account(&[]), 3600, 1000, &Ask::default()).unwrap();
        assert_eq!(g.principals, ["glenda"]);
        assert_eq!((g.valid_after, g.valid_before), (700, 4600));
        assert!(g.critical.is_empty());
        assert_eq!(g.extensions, USER_EXTENSIONS);
    }

    #[test]
    fn the_account_narrows_and_the_client_narrows_further() {
        let a = account(&[
            ("principals", "glenda,backup,www"),
            (MAX_VALIDITY, "30m"),
            (EXTENSIONS, "pty, permit-port-forwarding"),
            (FORCE_COMMAND, "/usr/bin/backup"),
            (SOURCE_ADDRESS, "192.168.1.0/24, ::1"),
        ]);
        let g = grant(&a, 3600, 1000, &Ask::default()).unwrap();
        assert_eq!(g.valid_before, 1000 + 1800);
        assert_eq!(g.extensions, ["permit-pty", "permit-port-forwarding"]);
        assert_eq!(
            g.critical,
            [
                ("force-command".to_string(), "/usr/bin/backup".to_string()),
                (
                    "source-address".to_string(),
                    "192.168.1.0/24,::1".to_string()
                )
            ]
        );
        // The signer's ceiling stays.
        assert_eq!(
            grant(&a, 600, 1000, &Ask::default()).unwrap().valid_before,
            1600
        );
        // Less is given.
        let ask = Ask {
            validity: 60,
            principals: vec!["backup".into()],
            extensions: Some(vec!["PTY".into()]),
        };
        let g = grant(&a, 3600, 1000, &ask).unwrap();
        assert_eq!(g.principals, ["backup"]);
        assert_eq!(g.valid_before, 1060);
        assert_eq!(g.extensions, ["permit-pty"]);
        let none = Ask {
            extensions: Some(vec![]),
            ..Ask::default()
        };
        assert!(grant(&a, 3600, 1000, &none).unwrap().extensions.is_empty());
        // More is refused, naming what.
        let more = |ask: Ask| grant(&a, 3600, 1000, &ask).unwrap_err();
        let e = more(Ask {
            principals: vec!["root".into()],
            ..Ask::default()
        });
        assert!(e.contains("principal 'root' is not one of glenda's"), "{e}");
        let e = more(Ask {
            extensions: Some(vec!["agent-forwarding".into()]),
            ..Ask::default()
        });
        assert!(
            e.contains("extension 'agent-forwarding' is not allowed"),
            "{e}"
        );
        // A longer validity than allowed is cut, not refused.
        let long = Ask {
            validity: 99_999,
            ..Ask::default()
        };
        assert_eq!(grant(&a, 3600, 1000, &long).unwrap().valid_before, 2800);
    }

    #[test]
    fn bad_attributes_are_named() {
        for (attr, v, want) in [
            (MAX_VALIDITY, "forever", "attribute max_validity: 'forever'"),
            (
                EXTENSIONS,
                "pty,shell",
                "attribute extensions: unknown extension 'shell'",
            ),
            (
                SOURCE_ADDRESS,
                "lan",
                "attribute source_address: 'lan' is not an address",
            ),
            (
                SOURCE_ADDRESS,
                "10.0.0.0/33",
                "'10.0.0.0/33': bad prefix length",
            ),
            (SOURCE_ADDRESS, ",", "an empty list"),
        ] {
            let e = grant(&account(&[(attr, v)]), 3600, 1000, &Ask::default()).unwrap_err();
            assert!(e.contains(want) && e.contains("account glenda"), "{e}");
        }
        assert_eq!(extensions("none").unwrap(), Vec::<&str>::new());
        assert_eq!(extension("x11-FORWARDING"), Some("permit-X11-forwarding"));
    }
}
