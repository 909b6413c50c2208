//! Inferno's keyring text forms (libinterp/keyring.c, libkeyring/*alg.c),
//! sans-IO, over big-endian byte strings.
//!
//! ```text
//! public key   = alg "\n" owner "\n" big* ("\n" after each)   rsa: n ek
//!                                            elgamal: p alpha key
//! secret key   = alg "\n" owner "\n" big*                    rsa: n ek dk p q kp kq c2
//!                                            elgamal: p alpha key secret
//! certificate  = alg "\n" hash "\n" signer "\n" exp "\n" big*   rsa: sig
//!                                            elgamal: r s
//! ```
//!
//! A key's or a signature's number (`%U`) is base64 of its big-endian
//! bytes with a 0x00 byte in front when the top bit is set; a
//! Diffie-Hellman value on the wire (`iptob64`) has no such byte. `exp`
//! is seconds since the epoch as a C int, 0 for never. A signature signs
//! `SHA1(public key text || "SIGNER EXP")` (keyring.c `sign`).

use crate::auth::ssh::wire::{base64, unbase64};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

/// The algorithms Inferno's keyring knows and how many numbers their
/// public keys and signatures hold.
const ALGS: &[(&str, usize, usize)] = &[("rsa", 2, 1), ("elgamal", 3, 2), ("dsa", 4, 2)];

fn alg_counts(alg: &str) -> Option<(usize, usize)> {
    ALGS.iter()
        .find(|(a, _, _)| *a == alg)
        .map(|&(_, pk, sig)| (pk, sig))
}

/// Strip leading zero bytes.
pub fn trim(b: &[u8]) -> &[u8] {
    let z = b.iter().take_while(|&&x| x == 0).count();
    &b[z..]
}

/// `%U`: a key's or signature's number.
pub fn key_b64(b: &[u8]) -> String {
    let b = trim(b);
    if b.first().is_some_and(|&x| x & 0x80 != 0) {
        let mut v = Vec::with_capacity(b.len() + 1);
        v.push(0);
        v.extend_from_slice(b);
        base64(&v)
    } else {
        base64(b)
    }
}

/// `iptob64`: a Diffie-Hellman value on the wire.
pub fn dh_b64(b: &[u8]) -> String {
    base64(trim(b))
}

/// Inferno's base64 to a number (leading zero bytes dropped); None for an
/// empty or bad string.
pub fn from_b64(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() {
        return None;
    }
    unbase64(s).map(|v| trim(&v).to_vec())
}

/// A text form that does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

fn lines(s: &str) -> std::str::Split<'_, char> {
    s.strip_suffix('\n').unwrap_or(s).split('\n')
}

fn bigs<'a>(
    it: &mut impl Iterator<Item = &'a str>,
    n: usize,
    what: &str,
) -> Result<Vec<Vec<u8>>, FormatError> {
    (0..n)
        .map(|i| {
            let l = it
                .next()
                .ok_or_else(|| FormatError(format!("{what}: number {} missing", i + 1)))?;
            from_b64(l)
                .ok_or_else(|| FormatError(format!("{what}: number {} is not base64", i + 1)))
        })
        .collect()
}

/// A public key (any algorithm the keyring knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub alg: String,
    pub owner: String,
    pub nums: Vec<Vec<u8>>,
}

impl PublicKey {
    pub fn parse(s: &str) -> Result<PublicKey, FormatError> {
        let mut it = lines(s);
        let alg = it.next().unwrap_or("");
        let (n, _) = alg_counts(alg).ok_or_else(|| {
            FormatError(format!(
                "public key: unknown algorithm '{}'",
                alg.escape_default()
            ))
        })?;
        let owner = it
            .next()
            .ok_or_else(|| FormatError("public key: no owner".into()))?;
        let nums = bigs(&mut it, n, "public key")?;
        if it.next().is_some() {
            return Err(FormatError(
                "public key: more lines than its algorithm has".into(),
            ));
        }
        Ok(PublicKey {
            alg: alg.into(),
            owner: owner.into(),
            nums,
        })
    }

    pub fn text(&self) -> String {
        let mut s = format!("{}\n{}\n", self.alg, self.owner);
        for n in &self.nums {
            s.push_str(&key_b64(n));
            s.push('\n');
        }
        s
    }
}

/// An RSA secret key, as libsec's rsagen makes it.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaSecret {
    pub owner: String,
    pub n: Vec<u8>,
    pub ek: Vec<u8>,
    pub dk: Zeroizing<Vec<u8>>,
    pub p: Zeroizing<Vec<u8>>,
    pub q: Zeroizing<Vec<u8>>,
    pub kp: Zeroizing<Vec<u8>>,
    pub kq: Zeroizing<Vec<u8>>,
    /// p^-1 mod q.
    pub c2: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for RsaSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaSecret({}, <secret>)", self.owner)
    }
}

impl RsaSecret {
    /// The secret key text (sktostr), secret itself.
    pub fn text(&self) -> Zeroizing<String> {
        sk_text(
            "rsa",
            &self.owner,
            &[
                &self.n, &self.ek, &self.dk, &self.p, &self.q, &self.kp, &self.kq, &self.c2,
            ],
        )
    }

    pub fn parse(s: &str) -> Result<RsaSecret, FormatError> {
        let (owner, v) = sk_parse(s, "rsa", 8)?;
        let mut v = v.into_iter();
        let mut next = || v.next().unwrap_or_default();
        Ok(RsaSecret {
            owner,
            n: next().to_vec(),
            ek: next().to_vec(),
            dk: next(),
            p: next(),
            q: next(),
            kp: next(),
            kq: next(),
            c2: next(),
        })
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            alg: "rsa".into(),
            owner: self.owner.clone(),
            nums: vec![self.n.clone(), self.ek.clone()],
        }
    }
}

/// A secret key's text: alg, owner, then each number (`%U`).
fn sk_text(alg: &str, owner: &str, nums: &[&[u8]]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(format!("{alg}\n{owner}\n"));
    for n in nums {
        s.push_str(&key_b64(n));
        s.push('\n');
    }
    s
}

/// A secret key of `alg` with `n` numbers: its owner and the numbers.
type Nums = Vec<Zeroizing<Vec<u8>>>;

fn sk_parse(s: &str, alg: &str, n: usize) -> Result<(String, Nums), FormatError> {
    let mut it = lines(s);
    if it.next() != Some(alg) {
        return Err(FormatError(format!("secret key: not an {alg} key")));
    }
    let owner = it
        .next()
        .ok_or_else(|| FormatError("secret key: no owner".into()))?
        .to_string();
    let v = bigs(&mut it, n, "secret key")?;
    if it.next().is_some() {
        return Err(FormatError(format!(
            "secret key: more lines than an {alg} key has"
        )));
    }
    Ok((owner, v.into_iter().map(Zeroizing::new).collect()))
}

/// An ElGamal secret key, as libsec's eggen makes it: the group (p, a
/// safe prime, and alpha), the public key alpha^secret mod p, the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct EgSecret {
    pub owner: String,
    pub p: Vec<u8>,
    pub alpha: Vec<u8>,
    pub key: Vec<u8>,
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for EgSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EgSecret({}, <secret>)", self.owner)
    }
}

impl EgSecret {
    /// The secret key text: p, alpha, key, secret.
    pub fn text(&self) -> Zeroizing<String> {
        sk_text(
            "elgamal",
            &self.owner,
            &[&self.p, &self.alpha, &self.key, &self.secret],
        )
    }

    /// The text form, and what signing needs of the numbers: p odd with
    /// (p - 1) / 2 odd (a safe prime's shape; primality is the maker's
    /// word), of 64 to 2048 bits, 1 < alpha < p, 0 < key < p, secret > 0.
    pub fn parse(s: &str) -> Result<EgSecret, FormatError> {
        let (owner, v) = sk_parse(s, "elgamal", 4)?;
        let [p, alpha, key, secret]: [Zeroizing<Vec<u8>>; 4] = v
            .try_into()
            .map_err(|_| FormatError("secret key: numbers missing".into()))?;
        let big = |b: &[u8]| crate::auth::bignum::Nat::from_be_bytes(b);
        let ok = match (big(&p), big(&alpha), big(&key)) {
            (Some(np), Some(na), Some(nk)) => {
                (64..=crate::auth::bignum::MAX_BITS).contains(&np.bits())
                    && np.low_u32() & 3 == 3
                    && na.bits() > 1
                    && na.cmp(&np).is_lt()
                    && !nk.is_zero()
                    && nk.cmp(&np).is_lt()
                    && !secret.is_empty()
            }
            _ => false,
        };
        if !ok {
            return Err(FormatError(
                "secret key: not an ElGamal key over a safe prime (p, alpha, key out of range)"
                    .into(),
            ));
        }
        Ok(EgSecret {
            owner,
            p: p.to_vec(),
            alpha: alpha.to_vec(),
            key: key.to_vec(),
            secret,
        })
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            alg: "elgamal".into(),
            owner: self.owner.clone(),
            nums: vec![self.p.clone(), self.alpha.clone(), self.key.clone()],
        }
    }
}

/// A signer's secret key of either algorithm createsignerkey makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretKey {
    Rsa(RsaSecret),
    Elgamal(EgSecret),
}

impl SecretKey {
    /// A new key of `alg` ("rsa" or "elgamal", see rsa::generate and
    /// elgamal::generate).
    pub fn generate(
        alg: &str,
        owner: &str,
        bits: usize,
        modp: bool,
        rng: &mut dyn FnMut(&mut [u8]),
    ) -> SecretKey {
        if alg == "elgamal" {
            SecretKey::Elgamal(super::elgamal::generate(owner, bits, modp, rng))
        } else {
            SecretKey::Rsa(super::rsa::generate(owner, bits, rng))
        }
    }

    /// By the text's first line.
    pub fn parse(s: &str) -> Result<SecretKey, FormatError> {
        match lines(s).next() {
            Some("rsa") => RsaSecret::parse(s).map(SecretKey::Rsa),
            Some("elgamal") => EgSecret::parse(s).map(SecretKey::Elgamal),
            a => Err(FormatError(format!(
                "secret key: unknown algorithm '{}' (rsa or elgamal)",
                a.unwrap_or("").escape_default()
            ))),
        }
    }

    pub fn text(&self) -> Zeroizing<String> {
        match self {
            SecretKey::Rsa(k) => k.text(),
            SecretKey::Elgamal(k) => k.text(),
        }
    }

    pub fn public(&self) -> PublicKey {
        match self {
            SecretKey::Rsa(k) => k.public(),
            SecretKey::Elgamal(k) => k.public(),
        }
    }
}

/// A certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub alg: String,
    pub hash: String,
    pub signer: String,
    /// Seconds since the epoch, 0 for never (a C int).
    pub exp: i32,
    pub sig: Vec<Vec<u8>>,
}

impl Certificate {
    pub fn text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n{}\n",
            self.alg, self.hash, self.signer, self.exp
        );
        for n in &self.sig {
            s.push_str(&key_b64(n));
            s.push('\n');
        }
        s
    }

    pub fn parse(s: &str) -> Result<Certificate, FormatError> {
        let mut it = lines(s);
        let alg = it.next().unwrap_or("");
        let (_, n) = alg_counts(alg).ok_or_else(|| {
            FormatError(format!(
                "certificate: unknown algorithm '{}'",
                alg.escape_default()
            ))
        })?;
        let mut field = |what: &str| {
            it.next()
                .map(str::to_string)
                .ok_or_else(|| FormatError(format!("certificate: no {what}")))
        };
        let hash = field("hash")?;
        let signer = field("signer")?;
        let exp = field("expiry")?
            .parse()
            .map_err(|_| FormatError("certificate: the expiry is not a number".into()))?;
        let sig = bigs(&mut it, n, "certificate")?;
        Ok(Certificate {
            alg: alg.into(),
            hash,
            signer,
            exp,
            sig,
        })
    }
}

/// What a certificate's signature signs (keyring.c `sign` with "sha1"):
/// SHA1 of the signed text, then of `"SIGNER EXP"`.
pub fn cert_digest(signed: &[u8], signer: &str, exp: i32) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(signed);
    h.update(format!("{signer} {exp}").as_bytes());
    h.finalize().into()
}

/// The certificate's expiry for an account's: the same second (never
/// later), 0 for never; a time past a C int's range is cut to its
/// largest value (January 2038), earlier than the account's.
pub fn cert_exp(expire: crate::auth::keyfs::account::Expiry) -> i32 {
    match expire {
        crate::auth::keyfs::account::Expiry::Never => 0,
        crate::auth::keyfs::account::Expiry::At(t) => i32::try_from(t).unwrap_or(i32::MAX),
    }
}

/// One item of a keyring file (keyring.c sendmsg: `%4.4d\n` then the
/// bytes), as getauthinfo saves one.
pub fn file_item(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("{:04}\n", data.len()).as_bytes());
    out.extend_from_slice(data);
}

/// A keyring file's items (signer's public key, certificate, own secret
/// key, DH alpha, DH p).
pub fn file_items(mut b: &[u8]) -> Result<Vec<&[u8]>, FormatError> {
    let mut items = Vec::new();
    while !b.is_empty() {
        let (h, rest) = b.split_at_checked(5).ok_or_else(|| {
            FormatError(format!(
                "keyring file: item {} header cut short",
                items.len() + 1
            ))
        })?;
        let n: usize = std::str::from_utf8(&h[..4])
            .ok()
            .and_then(|t| t.parse().ok())
            .filter(|_| h[4] == b'\n')
            .ok_or_else(|| {
                FormatError(format!(
                    "keyring file: item {} header is not %04d\\n",
                    items.len() + 1
                ))
            })?;
        let (item, rest) = rest.split_at_checked(n).ok_or_else(|| {
            FormatError(format!("keyring file: item {} cut short", items.len() + 1))
        })?;
        items.push(item);
        b = rest;
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(key_b64(&[0x7f]), "fw==");
        assert_eq!(key_b64(&[0, 0x80]), "AIA=");
        assert_eq!(key_b64(&[0x80]), "AIA=");
        assert_eq!(dh_b64(&[0, 0x80]), "gA==");
        assert_eq!(from_b64("AIA="), Some(vec![0x80]));
        assert_eq!(from_b64(""), None);
        assert_eq!(from_b64("a*"), None);
    }

    #[test]
    fn public_key_and_certificate_round_trip() {
        let pk = PublicKey {
            alg: "rsa".into(),
            owner: "glenda".into(),
            nums: vec![vec![0xc1, 2, 3], vec![3]],
        };
        let t = pk.text();
        assert_eq!(t, "rsa\nglenda\nAMECAw==\nAw==\n");
        assert_eq!(PublicKey::parse(&t).unwrap(), pk);
        assert!(PublicKey::parse("rsa\nglenda\nAw==\n").is_err());
        assert!(PublicKey::parse("rot13\nglenda\n").is_err());
        assert!(PublicKey::parse("rsa\nglenda\nAw==\nAw==\nAw==\n").is_err());
        let c = Certificate {
            alg: "rsa".into(),
            hash: "sha1".into(),
            signer: "signer".into(),
            exp: 0,
            sig: vec![vec![0x12, 0x34]],
        };
        assert_eq!(c.text(), "rsa\nsha1\nsigner\n0\nEjQ=\n");
        assert_eq!(Certificate::parse(&c.text()).unwrap(), c);
    }

    #[test]
    fn files() {
        let mut f = Vec::new();
        file_item(&mut f, b"abc");
        file_item(&mut f, b"");
        assert_eq!(f, b"0003\nabc0000\n");
        assert_eq!(file_items(&f).unwrap(), [&b"abc"[..], b""]);
        assert!(file_items(b"0009\nabc").is_err());
        assert!(file_items(b"00x3\nabc").is_err());
    }

    #[test]
    fn expiry_never_later_than_the_account() {
        use crate::auth::keyfs::account::Expiry;
        assert_eq!(cert_exp(Expiry::Never), 0);
        assert_eq!(cert_exp(Expiry::At(1_800_000_000)), 1_800_000_000);
        assert_eq!(cert_exp(Expiry::At(1 << 40)), i32::MAX);
    }
}
