//! Inferno's signer: the keyring text forms (`keyring.rs`), devssl's
//! records (`ssl.rs`), the signer's RSA key and DH group (`rsa.rs`), its
//! ElGamal key (`elgamal.rs`) and the login service getauthinfo speaks (`logind.rs`), all sans-IO; the
//! service that serves it on TCP is `signer/service.rs`, which tells it
//! from warden's own certificate request by the first byte.

pub mod elgamal;
pub mod keyring;
pub mod logind;
pub mod rsa;
pub mod ssl;
