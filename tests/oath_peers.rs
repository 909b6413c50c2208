//! `warden otp` against Debian's oathtool on random cases (generate and
//! validate), and Plan 9's passtokey against an independent transcription
//! (tests/peers/passtokey.py, DES from openssl).

mod common;
use common::Deadline;
use common::*;
use std::process::Command;

/// The exit status and standard output.
fn run(prog: &str, args: &[String]) -> (i32, String) {
    let o = Command::new(prog)
        .args(args)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// A random oathtool invocation (options only, without KEY/OTP).
fn random_opts(r: &mut Rng) -> (Vec<String>, usize) {
    let mut a = Vec::new();
    let hash_len;
    if r.below(2) == 0 {
        a.push("--hotp".to_string());
        a.push(format!("--counter={}", r.below(1 << 40)));
        hash_len = 20;
    } else {
        let (mode, len) = [("SHA1", 20), ("SHA256", 32), ("SHA512", 64)][r.below(3) as usize];
        // Both spellings: bare --totp means SHA1.
        if mode == "SHA1" && r.below(2) == 0 {
            a.push("--totp".into());
        } else {
            a.push(format!("--totp={mode}"));
        }
        hash_len = len;
        a.push("-N".into());
        a.push(format!("@{}", r.below(4_000_000_000)));
        match r.below(3) {
            0 => {}
            1 => a.push(format!("-s{}", [30, 60, 1, 45][r.below(4) as usize])),
            _ => a.push(format!("--time-step-size={}s", 1 + r.below(300))),
        }
    }
    a.push(format!("-d{}", 6 + r.below(3)));
    a.push(format!("--window={}", r.below(4)));
    (a, hash_len)
}

#[test]
fn generate_matches_oathtool() {
    need_tool("oathtool", "oathtool");
    let mut r = Rng::new("generate");
    for i in 0..150 {
        let (mut args, hash_len) = random_opts(&mut r);
        let klen = 1 + r.below(hash_len as u64 * 2) as usize;
        args.push(hex(&r.bytes(klen)));
        let (ok1, want) = run("oathtool", &args);
        let mut wargs = vec!["otp".to_string()];
        wargs.extend(args.iter().cloned());
        let (ok2, got) = run(warden(), &wargs);
        assert_eq!(ok1, 0, "oathtool {args:?} failed");
        assert_eq!(ok2, 0, "warden otp {args:?} failed");
        assert_eq!(got, want, "case {i}: {args:?}");
    }
}

#[test]
fn validate_matches_oathtool() {
    need_tool("oathtool", "oathtool");
    let mut r = Rng::new("validate");
    let mut found = 0;
    for i in 0..150 {
        let (opts, hash_len) = random_opts(&mut r);
        let klen = 1 + r.below(hash_len as u64) as usize;
        let key = hex(&r.bytes(klen));
        // A code oathtool generates at some offset (often inside the window,
        // sometimes outside), or random digits.
        let digits: usize = opts
            .iter()
            .find_map(|o| o.strip_prefix("-d"))
            .and_then(|d| d.parse().ok())
            .unwrap();
        let otp = if r.below(4) == 0 {
            (0..digits)
                .map(|_| char::from(b'0' + r.below(10) as u8))
                .collect()
        } else {
            let mut g = opts.clone();
            g.retain(|o| !o.starts_with("--window"));
            g.push(format!("--window={}", r.below(6)));
            g.push(key.clone());
            let (_, out) = run("oathtool", &g);
            let lines: Vec<&str> = out.lines().collect();
            lines[r.below(lines.len() as u64) as usize].to_string()
        };
        let mut args = opts.clone();
        args.push(key.clone());
        args.push(otp.clone());
        let (ok1, want) = run("oathtool", &args);
        let mut wargs = vec!["otp".to_string()];
        wargs.extend(args.iter().cloned());
        let (ok2, got) = run(warden(), &wargs);
        assert_eq!(
            ok2, ok1,
            "case {i}: {args:?}: oathtool said {want:?}, warden {got:?}"
        );
        assert_eq!(got, want, "case {i}: {args:?}");
        found += usize::from(ok1 == 0);
    }
    assert!(
        found > 20,
        "too few positive cases ({found}) to mean anything"
    );
}

#[test]
fn key_from_stdin_and_base32_like_oathtool() {
    need_tool("oathtool", "oathtool");
    use std::io::Write;
    let key = "3132333435363738393031323334353637383930";
    for prog in ["oathtool", warden()] {
        let mut args = vec![];
        if prog != "oathtool" {
            args.push("otp");
        }
        args.extend(["--totp", "-N", "@1111111109", "-d", "8", "-"]);
        let mut c = Command::new(prog)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{key}\n").as_bytes())
            .unwrap();
        let o = common::wait_within(c, common::CHILD_DEADLINE, "c").unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "07081804\n", "{prog}");
    }
    let (_, a) = run(
        "oathtool",
        &["-b".into(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into()],
    );
    let (_, b) = run(
        warden(),
        &[
            "otp".into(),
            "-b".into(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into(),
        ],
    );
    assert_eq!(a, b);
}

/// Exit statuses as oathtool's: 2 for a code not found, 1 for other
/// errors (bad key, bad option, bad digits), 0 for no arguments (help)
/// and for -V/--version. (One difference, on purpose: oathtool 2.6.7
/// takes `--totp=MD5` as SHA1 and exits 0; warden refuses the mode.)
#[test]
fn exit_codes_and_version_like_oathtool() {
    need_tool("oathtool", "oathtool");
    let key = "3132333435363738393031323334353637383930";
    let cases: &[&[&str]] = &[
        &["--totp", "-N", "@59", key, "000000"],
        &["-c", "0", key, "755224"],
        &["-c", "5", "-w", "1", key, "755224"],
        &["--totp", "zz"],
        &["--bogus", key],
        &["-d", "9", key],
        &[],
        &["-V"],
        &["--version"],
    ];
    for args in cases {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (want, _) = run("oathtool", &args);
        let mut wargs = vec!["otp".to_string()];
        wargs.extend(args.iter().cloned());
        let (got, out) = run(warden(), &wargs);
        assert_eq!(got, want, "{args:?}: {out}");
    }
    let (_, v) = run(warden(), &["otp".into(), "--version".into()]);
    assert!(v.starts_with("warden otp (warden) "), "{v}");
}

#[test]
fn passtokey_matches_independent_transcription() {
    need_tool("python3", "python3");
    need_tool("openssl", "openssl");
    let mut r = Rng::new("passtokey");
    let pws: Vec<String> = (0..12)
        .map(|_| {
            let n = 1 + r.below(40) as usize;
            (0..n)
                .map(|_| char::from(b' ' + r.below(95) as u8))
                .collect()
        })
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/passtokey.py");
    let o = Command::new("python3")
        .arg(script)
        .args(&pws)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), pws.len());
    for (pw, line) in pws.iter().zip(lines) {
        let want = line.rsplit('\t').next().unwrap();
        let got = hex(&warden::auth::authsrv::des::passtokey(pw.as_bytes()));
        assert_eq!(got, want, "password {pw:?}");
    }
}
