//! Dialing an authentication server for tickets (the client side of the
//! ticket service), with a deadline on every step.

use super::wire::{types, ERRMAXLEN, TICKETLEN};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The ticket service's TCP port ("ticket").
pub const TICKET_PORT: u16 = 567;

/// `host`, `host!port`, `tcp!host!port` or `host:port` to a socket address
/// string (port 567 when none is given).
pub fn address(auth: &str) -> Result<String, String> {
    let a = auth.strip_prefix("tcp!").unwrap_or(auth);
    let (host, port) = match a.split_once('!') {
        Some((h, p)) => (h, p),
        None => match a.rsplit_once(':').filter(|(h, _)| !h.contains(':')) {
            Some((h, p)) => (h, p),
            None => (a, ""),
        },
    };
    if host.is_empty() {
        return Err(format!("auth server '{auth}': no host"));
    }
    let port = match port {
        "" | "ticket" => TICKET_PORT,
        p => p
            .parse::<u16>()
            .map_err(|_| format!("auth server '{auth}': bad port '{p}'"))?,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.contains(':') {
        Ok(format!("[{host}]:{port}"))
    } else {
        Ok(format!("{host}:{port}"))
    }
}

/// The auth server a key names (its `auth=`) for `authdom`.
fn server_for<'a>(authdom: &str, auth: Option<&'a str>) -> Result<&'a str, String> {
    auth.ok_or_else(|| format!("no auth server known for domain {authdom}"))
}

/// Ask the auth server a key names (its `auth=`) for `authdom`'s tickets,
/// 5 s for each step.
pub fn for_domain(authdom: &str, auth: Option<&str>, req: &[u8]) -> Result<Vec<u8>, String> {
    ticket(server_for(authdom, auth)?, req, Duration::from_secs(5))
}

/// Send one ticket request to `auth` and return the reply: AuthOK and two
/// tickets (145 bytes) or AuthErr and its 64-byte message (65 bytes).
pub fn ticket(auth: &str, req: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    exchange(auth, req, timeout, &[2 * TICKETLEN])
}

/// A dp9ik client's AuthPAK + AuthTreq to the auth server a key names:
/// the replies, AuthOK and the two public keys (113 bytes), then AuthOK
/// and two form1 tickets (249) or AuthErr (65); an AuthErr first ends it.
pub fn pak_for_domain(authdom: &str, auth: Option<&str>, req: &[u8]) -> Result<Vec<u8>, String> {
    pak_tickets(server_for(authdom, auth)?, req, Duration::from_secs(5))
}

/// See [`pak_for_domain`].
pub fn pak_tickets(auth: &str, req: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    use super::authpak::PAKYLEN;
    use super::form1::TICKETLEN as FORM1LEN;
    exchange(auth, req, timeout, &[2 * PAKYLEN, 2 * FORM1LEN])
}

/// Send `req` to `auth` and read one reply per entry of `ok_lens`: its
/// type byte, then that many bytes for AuthOK or an AuthErr's message (an
/// AuthErr ends the exchange). `timeout` bounds each step.
fn exchange(
    auth: &str,
    req: &[u8],
    timeout: Duration,
    ok_lens: &[usize],
) -> Result<Vec<u8>, String> {
    let addr = address(auth)?;
    let sa = crate::dns::resolve::resolve(&addr).map_err(|e| format!("auth server {addr}: {e}"))?;
    let mut s =
        TcpStream::connect_timeout(&sa, timeout).map_err(|e| format!("auth server {addr}: {e}"))?;
    let io = |e: std::io::Error| format!("auth server {addr}: {e}");
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    s.write_all(req).map_err(io)?;
    let mut out = Vec::new();
    for &ok_len in ok_lens {
        let mut ty = [0u8; 1];
        s.read_exact(&mut ty).map_err(io)?;
        let rest = match ty[0] {
            types::AUTH_OK => ok_len,
            types::AUTH_ERR => ERRMAXLEN,
            t => return Err(format!("auth server {addr}: unexpected reply type {t}")),
        };
        let start = out.len();
        out.push(ty[0]);
        out.resize(start + 1 + rest, 0);
        s.read_exact(&mut out[start + 1..]).map_err(io)?;
        if ty[0] == types::AUTH_ERR {
            break;
        }
    }
    Ok(out)
}

/// The text of an AuthErr reply (after its type byte).
pub fn err_text(b: &[u8]) -> String {
    let m = b.get(1..).unwrap_or_default();
    let end = m.iter().position(|&c| c == 0).unwrap_or(m.len());
    String::from_utf8_lossy(&m[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(address("auth").unwrap(), "auth:567");
        assert_eq!(address("tcp!10.0.0.1!5670").unwrap(), "10.0.0.1:5670");
        assert_eq!(address("10.0.0.1!ticket").unwrap(), "10.0.0.1:567");
        assert_eq!(address("127.0.0.1:99").unwrap(), "127.0.0.1:99");
        assert_eq!(address("tcp!::1!99").unwrap(), "[::1]:99");
        assert!(address("").is_err());
        assert!(address("h!x").is_err());
        assert_eq!(err_text(&[5, b'n', b'o', 0, 0]), "no");
    }
}
