//! `warden signer ...`: the Inferno signer's key (auth/createsignerkey's
//! part), kept encrypted in keyfs; logind on the signer's port certifies
//! with it (see `auth/inferno`).

use super::args::{flag, opt, pos, short, Cmd, Parsed};
use super::keyfs::open;
use super::{when, Fail, Globals};
use crate::auth::inferno::{keyring, keyring::PublicKey, rsa};
use crate::auth::keyfs::signer::InfernoKey;
use zeroize::Zeroizing;

/// the Inferno signer (getauthinfo's certificates)
#[derive(Debug)]
pub struct SignerCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    CreateKey(CreateKey),
    Pubkey(Pubkey),
}

/// make the signer's key, as auth/createsignerkey: RSA of 1024 bits by
/// default; refuses to replace a key without --force (every certificate
/// the old key issued stops verifying). ElGamal makes a new safe prime as
/// Inferno does: seconds on a PC, but about ten minutes (at worst half an
/// hour) on a 400 MHz router at 1024 bits; --modp takes RFC 2409's
/// well-known 1024-bit safe prime instead (the one logind's Diffie-Hellman
/// already uses) with a new random generator and secret: seconds anywhere
#[derive(Debug)]
struct CreateKey {
    /// algorithm: rsa (the default) or elgamal
    alg: String,
    /// modulus bits (elgamal: of the new safe prime), 512 to 2048 (default 1024)
    bits: usize,
    /// elgamal: RFC 2409's 1024-bit MODP group instead of a new safe prime
    modp: bool,
    /// replace an existing key
    force: bool,
    /// the signer's name (the certificates' signer)
    name: String,
}

/// print the signer's public key (Inferno's text form)
#[derive(Debug)]
struct Pubkey {}

fn check(c: &CreateKey) -> Result<(), Fail> {
    match (c.alg.as_str(), c.modp) {
        ("elgamal", false) => {}
        ("elgamal", true) if c.bits == rsa::DEFAULT_BITS => {}
        ("elgamal", true) => {
            return Err(Fail::Usage(format!(
                "--bits {} with --modp: the MODP group has 1024 bits",
                c.bits
            )))
        }
        ("rsa", false) => {}
        ("rsa", true) => return Err(Fail::Usage("--modp is for --alg elgamal".into())),
        (a, _) => return Err(Fail::Usage(format!("--alg {a}: expected rsa or elgamal"))),
    }
    if !(512..=2048).contains(&c.bits) {
        return Err(Fail::Usage(format!(
            "--bits {}: the modulus must have 512 to 2048 bits",
            c.bits
        )));
    }
    if c.name.is_empty() || c.name.len() > 64 || c.name.contains(['\n', ' ']) {
        return Err(Fail::Usage(format!(
            "'{}' is not a signer name (1 to 64 bytes, no spaces or newlines)",
            c.name.escape_default()
        )));
    }
    Ok(())
}

impl SignerCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        match self.what {
            What::CreateKey(c) => {
                check(&c)?;
                let mut o = open(g)?;
                if let Some(k) = &o.store.db().signer.inferno {
                    let owner = rsa_owner(&k.sk);
                    if !c.force {
                        return Err(Fail::msg(format!(
                            "the Inferno signer key of {owner} exists (made {}); a new one invalidates every certificate it issued: give --force to replace it",
                            when::format(k.created)
                        )));
                    }
                    eprintln!(
                        "warden: warning: replacing the Inferno signer key of {owner}: every certificate it issued stops verifying"
                    );
                }
                let mut rng = |b: &mut [u8]| crate::sys::random::fill_or_abort(b);
                if c.alg == "elgamal" && !c.modp {
                    eprintln!("warden: making a {}-bit safe prime (1024 bits: seconds on a PC, about ten minutes on a 400 MHz router; --modp: seconds)", c.bits);
                }
                let sk = keyring::SecretKey::generate(&c.alg, &c.name, c.bits, c.modp, &mut rng);
                let (alpha, p) = rsa::dh_group();
                let pk = sk.public();
                let key = InfernoKey {
                    created: when::now(),
                    sk: sk.text(),
                    alpha,
                    p,
                };
                o.store.update(|db| {
                    db.signer.inferno = Some(key);
                    Ok(())
                })?;
                print!("{}", pk.text());
            }
            What::Pubkey(_) => {
                let o = open(g)?;
                let k = o.store.db().signer.inferno.as_ref().ok_or_else(|| {
                    Fail::msg("no Inferno signer key: make one with 'warden signer createkey NAME'")
                })?;
                print!("{}", public_of(&k.sk)?.text());
            }
        }
        Ok(())
    }
}

fn rsa_owner(sk: &Zeroizing<String>) -> String {
    sk.split('\n').nth(1).unwrap_or("?").to_string()
}

fn public_of(sk: &str) -> Result<PublicKey, Fail> {
    keyring::SecretKey::parse(sk)
        .map(|k| k.public())
        .map_err(|e| Fail::msg(format!("the stored Inferno signer key: {e}")))
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group(
    "signer",
    "the Inferno signer (getauthinfo's certificates)",
    &[CREATEKEY, PUBKEY],
);
const CREATEKEY: Cmd = Cmd::leaf(
    "createkey",
    "make the signer's key, as auth/createsignerkey: RSA of 1024 bits by default; refuses to \
     replace a key without --force (every certificate the old key issued stops verifying). \
     ElGamal makes a new safe prime as Inferno does: seconds on a PC, but about ten minutes \
     (at worst half an hour) on a 400 MHz router at 1024 bits; --modp takes RFC 2409's \
     well-known 1024-bit safe prime instead (the one logind's Diffie-Hellman already uses) \
     with a new random generator and secret: seconds anywhere",
    &[
        opt("alg", "algorithm: rsa (the default) or elgamal"),
        short(
            b'b',
            opt(
                "bits",
                "modulus bits (elgamal: of the new safe prime), 512 to 2048 (default 1024)",
            ),
        ),
        flag(
            "modp",
            "elgamal: RFC 2409's 1024-bit MODP group instead of a new safe prime",
        ),
        flag("force", "replace an existing key"),
        pos("name", "the signer's name (the certificates' signer)"),
    ],
);
const PUBKEY: Cmd = Cmd::leaf(
    "pubkey",
    "print the signer's public key (Inferno's text form)",
    &[],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<SignerCmd, Fail> {
    let a = p.leaf();
    Ok(SignerCmd {
        what: match p.sub(2) {
            "createkey" => What::CreateKey(CreateKey {
                alg: a.string_or("alg", "rsa"),
                bits: a
                    .num("bits", u32::MAX.into())?
                    .map_or(rsa::DEFAULT_BITS, |b| b as usize),
                modp: a.flag("modp"),
                force: a.flag("force"),
                name: a.string("name"),
            }),
            "pubkey" => What::Pubkey(Pubkey {}),
            _ => return Err(p.unknown()),
        },
    })
}
