//! The signer's record inside keyfs: its CA keys (the current one and
//! retired ones whose certificates may still be valid), the next
//! certificate serial, the log of issued certificates, revoked keys and
//! the agent's saved keys. Everything here is secret or sensitive: it
//! lives only in the encrypted key file.
//!
//! ```text
//! signer  = next_serial:u64 krl_version:u64
//!           ncas:u16 ca*  nissued:u32 issued*  nrevkeys:u16 bytes16*
//!           nagent:u16 agentkey*
//!           nenrol:u16 enrol*           (payload version 3 on)
//!           inferno:(0 | 1 created:u64 sk:bytes16 alpha:bytes16 p:bytes16)
//!                                   (version 3 on)
//! ca      = seed[32] created:u64 retired:(0 | 1 u64) until:u64
//! issued  = serial:u64 kind:u8 key:bytes16 ca:bytes16 principals:str16
//!           valid_after:u64 valid_before:u64 by:str8 at:u64 revoked:u8
//! agentkey= seed[32] comment:str16 confirm:u8 cert:bytes16   (cert: version 3 on; empty: none)
//! enrol   = host:str8 principals:str16 token[16] expires:u64 validity:u64
//! ```

use zeroize::Zeroizing;

/// One CA key. Retired keys stay listed until `until` (the latest
/// `valid_before` of a certificate they signed) has passed.
#[derive(Clone, PartialEq, Eq)]
pub struct CaKey {
    pub seed: Zeroizing<[u8; 32]>,
    pub created: u64,
    pub retired: Option<u64>,
    /// The latest expiry of any certificate this key signed.
    pub until: u64,
}

impl std::fmt::Debug for CaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaKey")
            .field("created", &self.created)
            .field("retired", &self.retired)
            .field("until", &self.until)
            .finish()
    }
}

/// One issued certificate, as `warden cert list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub serial: u64,
    /// 1 user, 2 host (as in the certificate).
    pub kind: u8,
    /// The certified public key's wire blob.
    pub key: Vec<u8>,
    /// The signing CA's public key blob.
    pub ca: Vec<u8>,
    pub principals: Vec<String>,
    pub valid_after: u64,
    pub valid_before: u64,
    /// Who asked: `user NAME from ADDR` or `admin`.
    pub by: String,
    /// When it was issued.
    pub at: u64,
    pub revoked: bool,
}

/// A key the ssh-agent keeps across restarts.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentKey {
    pub seed: Zeroizing<[u8; 32]>,
    /// The certificate it was added with (a certificate identity).
    pub cert: Option<Vec<u8>>,
    pub comment: String,
    pub confirm: bool,
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgentKey({})", self.comment)
    }
}

/// A one-time enrolment token for a host certificate
/// (`warden cert enrol-token HOST`): spent by the first enrolment that
/// proves it, forgotten once expired.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrol {
    pub host: String,
    /// The host certificate's principals (HOST and any others named).
    pub principals: Vec<String>,
    pub token: Zeroizing<[u8; 16]>,
    pub expires: u64,
    /// How long the host certificate is valid.
    pub validity: u64,
}

impl std::fmt::Debug for Enrol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Enrol({} until {})", self.host, self.expires)
    }
}

/// The whole record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerDb {
    pub next_serial: u64,
    pub krl_version: u64,
    /// Oldest first; the last one not retired signs.
    pub cas: Vec<CaKey>,
    pub issued: Vec<Issued>,
    /// Keys revoked outright (public key blobs).
    pub revoked_keys: Vec<Vec<u8>>,
    pub agent_keys: Vec<AgentKey>,
    /// Host enrolment tokens not yet spent.
    pub enrol: Vec<Enrol>,
    /// The Inferno signer's key (`warden signer createkey`), for logind.
    pub inferno: Option<InfernoKey>,
}

/// The Inferno signer's key: its secret key text (Inferno's sktostr
/// form) and the Diffie-Hellman group logind serves with it.
#[derive(Clone, PartialEq, Eq)]
pub struct InfernoKey {
    pub created: u64,
    pub sk: Zeroizing<String>,
    pub alpha: Vec<u8>,
    pub p: Vec<u8>,
}

impl std::fmt::Debug for InfernoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InfernoKey(created {}, <secret>)", self.created)
    }
}

impl Default for SignerDb {
    fn default() -> Self {
        SignerDb {
            next_serial: 1,
            krl_version: 0,
            cas: Vec::new(),
            issued: Vec::new(),
            revoked_keys: Vec::new(),
            agent_keys: Vec::new(),
            enrol: Vec::new(),
            inferno: None,
        }
    }
}

/// The per-account secret for the signer's PAKE, set with the password:
/// PBKDF2-HMAC-SHA256(password, salt, iterations) ([`derive_secret`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SignerVerifier {
    pub salt: [u8; 16],
    pub iterations: u32,
    pub secret: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SignerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignerVerifier(<secret>)")
    }
}

/// The password-equivalent both sides of the signer's SPAKE2 use; the
/// router stores it per account (never the password).
pub fn derive_secret(password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut w = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, w.as_mut());
    w
}

/// PBKDF2 iterations for new verifiers (the client repeats them on every
/// request; the router runs them once, at `warden user passwd`).
pub const VERIFIER_ITERATIONS: u32 = 50_000;

impl SignerVerifier {
    /// A verifier with a fresh random salt.
    pub fn new(password: &[u8], iterations: u32) -> Result<SignerVerifier, super::KeyfsError> {
        let mut salt = [0u8; 16];
        super::sealed::random(&mut salt)?;
        let secret = derive_secret(password, &salt, iterations);
        Ok(SignerVerifier {
            salt,
            iterations,
            secret,
        })
    }
}
