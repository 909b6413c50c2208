//! Inferno's getauthinfo against warden's logind, replayed from exchanges
//! recorded with the real client: Inferno's hosted emulator (emu, built
//! from Inferno's public source outside this repository) running
//! `getauthinfo` unchanged against the logind state machine on loopback.
//!
//! Each transcript in tests/inferno/ holds the signer's key (a test key),
//! the account logind saw, every random value the server drew, and the
//! bytes both ways, record by record. The replay feeds the client's
//! records to a fresh `Logind` with the same randomness and requires the
//! very bytes the client accepted; then checks what the transcript
//! proves (the certificate verifies under the signer's key and expires
//! with the account; a wrong password counts as a failed login).
//!
//! `record_with_emu` (ignored; needs INFERNO_ROOT, see its comment) made
//! them.

mod common;

use std::collections::VecDeque;
use warden::auth::inferno::keyring::{Certificate, PublicKey, RsaSecret, SecretKey};
use warden::auth::inferno::logind::{self, Env, Logind, Lookup, Out};
use warden::auth::inferno::rsa::{self, Signer};
use warden::auth::inferno::ssl;
use zeroize::Zeroizing;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

#[derive(Default)]
struct Transcript {
    signer: String,
    account: Option<(String, Vec<u8>, i32)>,
    random: Vec<Vec<u8>>,
    /// (client record, what the server wrote after it)
    steps: Vec<(Vec<u8>, Vec<u8>)>,
    notes: Vec<String>,
}

impl Transcript {
    fn parse(text: &str) -> Transcript {
        let mut t = Transcript::default();
        for line in text.lines() {
            let (k, v) = line.split_once(' ').unwrap_or((line, ""));
            match k {
                "signer-key" => t.signer = String::from_utf8(unhex(v)).unwrap(),
                "account" => {
                    let f: Vec<&str> = v.split(' ').collect();
                    t.account = Some((f[0].into(), unhex(f[1]), f[2].parse().unwrap()));
                }
                "random" => t.random.push(unhex(v)),
                "c2s" => t.steps.push((unhex(v), Vec::new())),
                "s2c" => t.steps.last_mut().unwrap().1 = unhex(v),
                "note" => t.notes.push(v.into()),
                _ => {}
            }
        }
        t
    }

    fn text(&self) -> String {
        let mut s = String::from(
            "# Inferno getauthinfo (emu, unchanged) against warden's logind; see tests/inferno.rs\n",
        );
        for n in &self.notes {
            s += &format!("note {n}\n");
        }
        s += &format!("signer-key {}\n", hex(self.signer.as_bytes()));
        if let Some((n, sec, exp)) = &self.account {
            s += &format!("account {n} {} {exp}\n", hex(sec));
        }
        for r in &self.random {
            s += &format!("random {}\n", hex(r));
        }
        for (c, sv) in &self.steps {
            s += &format!("c2s {}\ns2c {}\n", hex(c), hex(sv));
        }
        s
    }

    fn signer(&self) -> Signer {
        let (alpha, p) = rsa::dh_group();
        Signer {
            sk: SecretKey::Rsa(RsaSecret::parse(&self.signer).unwrap()),
            alpha,
            p,
        }
    }
}

/// The transcript's account and randomness.
struct Replay {
    account: Option<(String, Vec<u8>, i32)>,
    random: VecDeque<Vec<u8>>,
}

impl Env for Replay {
    fn lookup(&mut self, name: &str) -> Lookup {
        match &self.account {
            Some((n, s, exp)) if n == name => {
                let mut secret = Zeroizing::new([0u8; 20]);
                secret.copy_from_slice(s);
                Lookup::Ok { secret, exp: *exp }
            }
            _ => Lookup::Unknown,
        }
    }
    fn random(&mut self, buf: &mut [u8]) {
        let r = self
            .random
            .pop_front()
            .expect("more randomness than recorded");
        assert_eq!(r.len(), buf.len(), "a random draw of another size");
        buf.copy_from_slice(&r);
    }
}

/// Feed the client's records; the server's bytes must match. Returns the
/// last verdict's kind and the machine.
fn replay(t: &Transcript) -> (Option<Out>, Logind) {
    let signer = t.signer();
    let mut env = Replay {
        account: t.account.clone(),
        random: t.random.iter().cloned().collect(),
    };
    let mut m = Logind::new();
    let mut last = None;
    for (i, (c, want)) in t.steps.iter().enumerate() {
        let (skip, len) = ssl::split(c, ssl::MAX_RECORD).unwrap().unwrap();
        assert_eq!(skip + len, c.len(), "step {i}: one record");
        let out = m.record(&c[skip..], &signer, &mut env);
        let got = match &out {
            Out::Send(r) | Out::Issued { records: r, .. } | Out::Fail { records: r, .. } => r,
        };
        assert_eq!(hex(got), hex(want), "step {i}: the server's bytes");
        last = Some(out);
    }
    assert!(env.random.is_empty(), "recorded randomness left over");
    (last, m)
}

/// The message inside a digested record (header, SHA1 digest, status).
fn digested_text(rec: &[u8]) -> String {
    String::from_utf8(rec[2 + 20 + 1..].to_vec()).unwrap()
}

#[test]
fn getauthinfo_gets_a_certificate() {
    let t = Transcript::parse(include_str!("inferno/getauthinfo.txt"));
    let (last, _) = replay(&t);
    let Some(Out::Issued { user, records }) = last else {
        panic!("the exchange did not end with a certificate");
    };
    assert_eq!(user, "glenda");
    // What the client sent last is its public key; what it got verifies
    // under the signer's key and expires with the account.
    let pk_text = digested_text(&t.steps.last().unwrap().0);
    let pk = PublicKey::parse(&pk_text).unwrap();
    assert_eq!(pk.owner, "glenda");
    let cert = Certificate::parse(&digested_text(&records)).unwrap();
    assert_eq!(cert.exp, t.account.as_ref().unwrap().2);
    assert_eq!(cert.signer, "signer");
    assert!(t.signer().verify(pk_text.as_bytes(), &cert));
    // the client saved it: the keyring file was there afterwards
    assert!(
        t.notes
            .iter()
            .any(|n| n == "keyring file /tmp/k/default saved"),
        "{:?}",
        t.notes
    );
}

#[test]
fn getauthinfo_with_a_wrong_password() {
    let t = Transcript::parse(include_str!("inferno/wrong-password.txt"));
    let (_, m) = replay(&t);
    // The client hung up after alpha**r0: a failed login for glenda.
    assert_eq!(m.closed(), Some("glenda"));
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("name or secret incorrect (alpha**r0 mod p)")),
        "{:?}",
        t.notes
    );
}

/// Truncated and oversized records, garbage after the ivec: a clear
/// failure (never a panic), and only a client that has the encrypted
/// value and then misbehaves counts against the account.
#[test]
fn bad_input_from_a_recorded_start() {
    let t = Transcript::parse(include_str!("inferno/getauthinfo.txt"));
    let signer = t.signer();
    let env = || Replay {
        account: t.account.clone(),
        random: t.random.iter().cloned().collect(),
    };
    assert!(matches!(
        ssl::split(&[0x00, 4, 1, 2, 3, 4], 100),
        Err(ssl::SslError::Header(0))
    ));
    assert!(matches!(
        ssl::split(&[0x91, 0x00], logind::MAX_IN_RECORD),
        Err(ssl::SslError::TooLong(0x1100))
    ));
    // the name, the ivec, then a public key where alpha**r1 belongs
    let mut e = env();
    let mut m = Logind::new();
    for (c, _) in &t.steps[..2] {
        m.record(&c[2..], &signer, &mut e);
    }
    let bogus = ssl::OneWay::default().seal(&ssl::message(b"rsa\nglenda\n"));
    match m.record(&bogus[2..], &signer, &mut e) {
        Out::Fail { bad, why, .. } => {
            assert_eq!(bad.as_deref(), Some("glenda"));
            assert!(why.contains("alpha**r1"), "{why}");
        }
        o => panic!("{o:?}"),
    }
    // a digested record cut short, and one with a wrong digest
    for cut in [10usize, 30] {
        let mut e = env();
        let mut m = Logind::new();
        for (c, _) in &t.steps[..3] {
            m.record(&c[2..], &signer, &mut e);
        }
        let last = &t.steps[3].0;
        let mut body = last[2..].to_vec();
        body.truncate(cut.min(body.len()));
        if cut == 30 {
            body[0] ^= 1;
        }
        assert!(matches!(
            m.record(&body, &signer, &mut e),
            Out::Fail { bad: Some(_), .. }
        ));
    }
}

/// What Inferno's `Keyring->auth` refuses (keyring.c: "pk doesn't match
/// certificate", "certificate expired"), warden's check refuses too: the
/// recorded certificate passes until it expires; a bit flipped in its
/// signature, another signer's name or key, or another public key fail.
#[test]
fn certificates_inferno_would_reject() {
    let t = Transcript::parse(include_str!("inferno/getauthinfo.txt"));
    let (last, _) = replay(&t);
    let Some(Out::Issued { records, .. }) = last else {
        panic!("no certificate");
    };
    let pk_text = digested_text(&t.steps.last().unwrap().0);
    let cert = Certificate::parse(&digested_text(&records)).unwrap();
    let spk = t.signer().public();
    let exp = i64::from(cert.exp);
    assert_eq!(rsa::check(&spk, pk_text.as_bytes(), &cert, exp - 1), Ok(()));
    let no = Err("pk doesn't match certificate");
    assert_eq!(
        rsa::check(&spk, pk_text.as_bytes(), &cert, exp),
        Err("certificate expired")
    );
    let mut bad = cert.clone();
    *bad.sig[0].last_mut().unwrap() ^= 1;
    assert_eq!(rsa::check(&spk, pk_text.as_bytes(), &bad, 0), no);
    let mut renamed = cert.clone();
    renamed.signer = "other".into();
    assert_eq!(rsa::check(&spk, pk_text.as_bytes(), &renamed, 0), no);
    let mut later = cert.clone();
    later.exp += 1;
    assert_eq!(rsa::check(&spk, pk_text.as_bytes(), &later, 0), no);
    let other = pk_text.replace("glenda", "glendb");
    assert_eq!(rsa::check(&spk, other.as_bytes(), &cert, 0), no);
    // signed properly, but by another signer's key of the same name
    let mut n = 0x9e37_79b9_7f4a_7c15u64;
    let mut rng = |b: &mut [u8]| {
        for x in b {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            *x = n as u8;
        }
    };
    let (alpha, p) = rsa::dh_group();
    let rogue = Signer {
        sk: SecretKey::Rsa(rsa::generate("signer", 512, &mut rng)),
        alpha,
        p,
    };
    let forged = rogue.certify(pk_text.as_bytes(), cert.exp, &mut rng);
    assert_eq!(
        rsa::check(&rogue.public(), pk_text.as_bytes(), &forged, 0),
        Ok(())
    );
    assert_eq!(rsa::check(&spk, pk_text.as_bytes(), &forged, 0), no);
}

/// One record off the connection, its body.
fn read_record(s: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read;
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    let (skip, len) = ssl::split(&h, ssl::MAX_RECORD).unwrap().unwrap();
    assert_eq!(skip, 2);
    let mut b = vec![0u8; len];
    s.read_exact(&mut b).unwrap();
    b
}

/// A running daemon with keyfs's account glenda (password1, expiring
/// 2030-01-01) and the signer key `createkey` made: the signer's public
/// key as `warden signer pubkey` prints it, and a login as getauthinfo
/// speaks it over TCP (the signer's port telling Inferno's first byte
/// from warden's own request) that sends the public key `mine` makes
/// from the signer's (login.b: genSKfromPK) and returns it with the
/// certificate's text.
struct Daemon {
    cfg: std::path::PathBuf,
    _s: common::Scratch,
    _d: common::Kill,
    port: u16,
    spk: PublicKey,
}

fn daemon(name: &str, createkey: &[&str]) -> Daemon {
    let s = common::Scratch::new(name);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = s.path("warden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[main]\nrun_dir = \"{}\"\nlog_level = \"info\"\n[uplink]\nenabled = false\n[keyfs]\nfile = \"{}\"\nkdf_iterations = 1000\n[signer]\nenabled = true\nlisten = \"127.0.0.1:{port}\"\n",
            s.path("run").display(),
            s.path("keys").display(),
        ),
    )
    .unwrap();
    common::ok(&cfg, &["keyfs", "init"], "pw\n");
    common::ok(
        &cfg,
        &["user", "add", "glenda", "--expire", "2030-01-01"],
        "pw\n",
    );
    common::ok(&cfg, &["user", "passwd", "glenda"], "pw\npassword1\n");
    let made = PublicKey::parse(&common::ok(&cfg, createkey, "pw\n")).unwrap();
    let spk = PublicKey::parse(&common::ok(&cfg, &["signer", "pubkey"], "pw\n")).unwrap();
    assert_eq!(made, spk, "createkey prints what pubkey prints");
    let d = common::start_daemon(&cfg, &s.path("run").join("keyfs"));
    common::ok(&cfg, &["unlock"], "pw\n");
    Daemon {
        cfg,
        _s: s,
        _d: d,
        port,
        spk,
    }
}

impl Daemon {
    fn login(
        &self,
        pw: &[u8],
        mine: impl Fn(&PublicKey) -> String,
    ) -> Result<(String, String), &str> {
        use std::io::Write;
        use warden::auth::inferno::keyring;
        use warden::auth::inferno::ssl::{Mode, Msg, OneWay};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        let (mut cin, mut cout) = (OneWay::default(), OneWay::default());
        let mut send = |c: &mut std::net::TcpStream, m: &[u8]| {
            c.write_all(&cout.seal(&ssl::message(m))).unwrap()
        };
        send(&mut c, b"glenda");
        let ack = cin.open(&read_record(&mut c)).unwrap();
        assert_eq!(ssl::parse(&ack), Msg::Data(b"glenda"));
        let ivec = [9u8, 8, 7, 6, 5, 4, 3, 2];
        send(&mut c, &ivec);
        let key = logind::rc4_key(&logind::password_secret(pw), &ivec);
        cin.mode = Mode::rc4_40(&key[..]);
        let m = cin.open(&read_record(&mut c)).unwrap();
        // login.b: a status byte that is not 0, or no base64 after it
        let a0 = match ssl::parse(&m) {
            Msg::Data(d) => std::str::from_utf8(d).ok().and_then(keyring::from_b64),
            _ => None,
        }
        .ok_or("name or secret incorrect (alpha**r0 mod p)")?;
        cin.mode = Mode::Clear;
        let alpha = cin.open(&read_record(&mut c)).unwrap();
        let p = cin.open(&read_record(&mut c)).unwrap();
        let alpha = keyring::from_b64(std::str::from_utf8(&alpha[1..]).unwrap()).unwrap();
        let p = keyring::from_b64(std::str::from_utf8(&p[1..]).unwrap()).unwrap();
        let r1 = [0x5au8; 32];
        let a1 = rsa::modexp_be(&alpha, &r1, &p, true);
        send(&mut c, keyring::dh_b64(&a1).as_bytes());
        let secret = rsa::modexp_be(&a0, &r1, &p, true);
        cin.mode = Mode::Sha1(Zeroizing::new(secret.clone()));
        let got_spk = cin.open(&read_record(&mut c)).unwrap();
        cout.mode = Mode::Sha1(Zeroizing::new(secret));
        let got_spk = PublicKey::parse(std::str::from_utf8(&got_spk[1..]).unwrap()).unwrap();
        assert_eq!(got_spk, self.spk, "the signer's key as sent");
        let mine = mine(&got_spk);
        c.write_all(&cout.seal(&ssl::message(mine.as_bytes())))
            .unwrap();
        let cert = cin.open(&read_record(&mut c)).unwrap();
        Ok((mine, String::from_utf8(cert[1..].to_vec()).unwrap()))
    }
}

/// getauthinfo's whole login against a daemon with an RSA signer key:
/// the certificate verifies under `warden signer pubkey` and ends with
/// the account; a wrong password cannot read alpha**r0.
#[test]
fn getauthinfo_against_the_daemon() {
    let d = daemon(
        "inferno-daemon",
        &["signer", "createkey", "--bits", "512", "signer"],
    );
    let rsa_key = |_: &PublicKey| {
        PublicKey {
            alg: "rsa".into(),
            owner: "glenda".into(),
            nums: vec![vec![0xc5; 64], vec![3]],
        }
        .text()
    };
    let (mine, cert) = d.login(b"password1", rsa_key).unwrap();
    let cert = Certificate::parse(&cert).unwrap();
    assert_eq!(cert.signer, "signer");
    // 2030-01-01T00:00:00Z, the account's expiry
    assert_eq!(cert.exp, 1_893_456_000);
    assert_eq!(rsa::check(&d.spk, mine.as_bytes(), &cert, 0), Ok(()));
    let e = d.login(b"password2", rsa_key).unwrap_err();
    assert_eq!(e, "name or secret incorrect (alpha**r0 mod p)");
}

/// The same with an ElGamal signer key (createkey --alg elgamal --modp):
/// the client makes its ElGamal key from the signer's p and alpha, as
/// login.b's genSKfromPK does, and gets an ElGamal certificate that
/// warden's check accepts and whose equation python3 checks on its own
/// (alpha^m == y^r r^s mod p, m = the SHA1 keyring.c signs).
#[test]
fn getauthinfo_against_the_daemon_with_an_elgamal_signer() {
    use warden::auth::inferno::keyring;
    let d = daemon(
        "inferno-daemon-eg",
        &[
            "signer",
            "createkey",
            "--alg",
            "elgamal",
            "--modp",
            "signer",
        ],
    );
    assert_eq!(d.spk.alg, "elgamal");
    assert_eq!(d.spk.owner, "signer");
    assert_eq!(d.spk.nums[0], rsa::dh_group().1, "RFC 2409's prime");
    assert!(d.spk.nums[1].len() > 1, "a random generator, not 2");
    let eg_key = |spk: &PublicKey| {
        let x = [0x3du8; 127];
        let y = rsa::modexp_be(&spk.nums[1], &x, &spk.nums[0], true);
        PublicKey {
            alg: "elgamal".into(),
            owner: "glenda".into(),
            nums: vec![spk.nums[0].clone(), spk.nums[1].clone(), y],
        }
        .text()
    };
    let (mine, text) = d.login(b"password1", eg_key).unwrap();
    let cert = Certificate::parse(&text).unwrap();
    assert!(
        text.starts_with("elgamal\nsha1\nsigner\n1893456000\n"),
        "{text}"
    );
    assert_eq!(rsa::check(&d.spk, mine.as_bytes(), &cert, 0), Ok(()));
    let mut bad = cert.clone();
    *bad.sig[1].last_mut().unwrap() ^= 1;
    assert_eq!(
        rsa::check(&d.spk, mine.as_bytes(), &bad, 0),
        Err("pk doesn't match certificate")
    );
    let m = keyring::cert_digest(mine.as_bytes(), &cert.signer, cert.exp);
    let hex = |b: &[u8]| format!("0x{}", self::hex(b));
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys\np, a, y, r, s, m = (int(v, 16) for v in sys.argv[1:])\nprint(0 < r < p and pow(a, m, p) == pow(y, r, p) * pow(r, s, p) % p)",
            &hex(&d.spk.nums[0]),
            &hex(&d.spk.nums[1]),
            &hex(&d.spk.nums[2]),
            &hex(&cert.sig[0]),
            &hex(&cert.sig[1]),
            &hex(&m),
        ])
        .output()
        .expect("python3 is needed for this test");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True",
        "{out:?}"
    );
    let e = d.login(b"password2", eg_key).unwrap_err();
    assert_eq!(e, "name or secret incorrect (alpha**r0 mod p)");
    // createkey's refusals: an existing key without --force, an unknown
    // algorithm, --modp with rsa or with other bits
    for (args, want) in [
        (
            &["--alg", "elgamal", "--modp"][..],
            "give --force to replace it",
        ),
        (&["--alg", "dsa"][..], "--alg dsa: expected rsa or elgamal"),
        (&["--modp"][..], "--modp is for --alg elgamal"),
        (
            &["--alg", "elgamal", "--modp", "--bits", "2048"][..],
            "the MODP group has 1024 bits",
        ),
    ] {
        let args: Vec<&str> = ["signer", "createkey"]
            .iter()
            .chain(args)
            .chain(&["signer"])
            .copied()
            .collect();
        let o = common::run_warden(&d.cfg, &args, "pw\n");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "{args:?}: {err}");
    }
}

/// Record a transcript with Inferno's emu. Needs INFERNO_ROOT (an
/// Inferno tree with a built emu-g under Linux/386/bin and `inflogin`'s
/// port in lib/ndb/common and lib/ndb/inferno set to INFERNO_PORT), and
/// writes tests/inferno/{getauthinfo,wrong-password}.txt:
/// `INFERNO_ROOT=... INFERNO_PORT=16673 cargo test --test inferno -- --ignored`
#[test]
#[ignore]
fn record_with_emu() {
    let root = std::env::var("INFERNO_ROOT").expect("INFERNO_ROOT");
    let port: u16 = std::env::var("INFERNO_PORT").unwrap().parse().unwrap();
    let mut rng = |b: &mut [u8]| warden::sys::random::fill_or_abort(b);
    let sk = rsa::generate("signer", rsa::DEFAULT_BITS, &mut rng);
    for (file, pw) in [
        ("getauthinfo", "password1"),
        ("wrong-password", "password2"),
    ] {
        let mut t = Transcript {
            signer: sk.text().to_string(),
            account: Some((
                "glenda".into(),
                logind::password_secret(b"password1").to_vec(),
                1_900_000_000,
            )),
            ..Transcript::default()
        };
        let notes = record_one(&root, port, pw, &mut t);
        t.notes = notes;
        let path = format!("{}/tests/inferno/{file}.txt", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(&path, t.text()).unwrap();
    }
}

struct Recorder<'a> {
    t: &'a mut Transcript,
    account: Option<(String, Vec<u8>, i32)>,
}

impl Env for Recorder<'_> {
    fn lookup(&mut self, name: &str) -> Lookup {
        Replay {
            account: self.account.clone(),
            random: VecDeque::new(),
        }
        .lookup(name)
    }
    fn random(&mut self, buf: &mut [u8]) {
        warden::sys::random::fill_or_abort(buf);
        self.t.random.push(buf.to_vec());
    }
}

fn record_one(root: &str, port: u16, pw: &str, t: &mut Transcript) -> Vec<String> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::fs::write(
        format!("{root}/tmp/ga.sh"),
        "#!/dis/sh\nndb/cs\nmkdir -p /tmp/k\nrm -f /tmp/k/default\ngetauthinfo /tmp/k/default\nls /tmp/k/default\n",
    )
    .unwrap();
    let mut emu = Command::new(format!("{root}/Linux/386/bin/emu-g"))
        .arg(format!("-r{root}"))
        .args(["/dis/sh.dis", "/tmp/ga.sh"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = emu.stdin.take().unwrap();
    let pw = pw.to_string();
    // getauthinfo reads its password in raw mode: one line per read.
    let feeder = std::thread::spawn(move || {
        for (line, wait) in [
            ("127.0.0.1", 1),
            ("glenda", 2),
            (pw.as_str(), 2),
            ("yes", 2),
        ] {
            let _ = writeln!(input, "{line}");
            std::thread::sleep(Duration::from_secs(wait));
        }
    });
    l.set_nonblocking(true).unwrap();
    let start = std::time::Instant::now();
    let mut s = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(_) if start.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => {
                let _ = emu.kill();
                let o = emu.wait_with_output().unwrap();
                panic!(
                    "emu never connected ({e}): {}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
    };
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let signer = t.signer();
    let account = t.account.clone();
    let mut env = Recorder { t, account };
    let mut m = Logind::new();
    let mut buf = Vec::new();
    'conn: loop {
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Ok(Some((skip, len))) = ssl::split(&buf, ssl::MAX_RECORD) {
            if buf.len() < skip + len {
                break;
            }
            let rec: Vec<u8> = buf.drain(..skip + len).collect();
            let out = m.record(&rec[skip..], &signer, &mut env);
            let (bytes, end) = match out {
                Out::Send(r) => (r, false),
                Out::Issued { records, .. } | Out::Fail { records, .. } => (records, true),
            };
            s.write_all(&bytes).unwrap();
            env.t.steps.push((rec, bytes));
            if end {
                break 'conn;
            }
        }
    }
    drop(s);
    feeder.join().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let _ = emu.kill();
    let out = emu.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // emu's console is its stdout; the prompts share lines with output
    stderr
        .lines()
        .chain(stdout.lines())
        .filter_map(|l| {
            if l.trim_end().ends_with("/tmp/k/default") && !l.contains("getauthinfo /") {
                Some("keyring file /tmp/k/default saved".to_string())
            } else {
                l.find("getauthinfo:").map(|i| l[i..].trim().to_string())
            }
        })
        .collect()
}
