//! `warden modem info|at|pin` against the simulated E367 over a real pty.
//! Skipped (with a note) under qemu-user, which cannot emulate the serial
//! ioctls.

mod common;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use warden::uplink::sim::{skip_under_qemu, Lock, SimConfig, SimModem};

struct Run {
    code: i32,
    out: String,
    err: String,
}

/// Run warden with `stdin`; fail the test if it takes longer than 60 s.
fn warden(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run warden");
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("warden {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        out,
        err,
    }
}

fn dev(sim: &SimModem) -> String {
    sim.path().display().to_string()
}

fn state(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warden-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d.join("pin-rejected")
}

fn pin(sim: &SimModem, state: &Path, pin: &str, extra: &[&str]) -> Run {
    let d = dev(sim);
    let s = state.display().to_string();
    let mut args = vec!["modem", "pin", "--device", &d, "--state", &s];
    args.extend_from_slice(extra);
    warden(&args, &format!("{pin}\n"))
}

#[test]
fn info_prints_key_value_lines_and_json() {
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let r = warden(&["modem", "info", "--device", &dev(&sim)], "");
    assert_eq!(r.code, 0, "{}", r.err);
    for line in [
        "manufacturer: huawei",
        "model: E367",
        "revision: 11.810.09.00.00",
        "imei: 353142030000005",
        "sim: pin-required",
        "pin_attempts: 3",
        "registration: not-registered",
        "operator: unknown",
        "mode: auto",
        "signal_csq: 17",
        "signal_dbm: -79",
    ] {
        assert!(
            r.out.lines().any(|l| l == line),
            "{line} missing in\n{}",
            r.out
        );
    }
    let r = warden(&["modem", "info", "--json", "--device", &dev(&sim)], "");
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.starts_with("{\"manufacturer\":\"huawei\","),
        "{}",
        r.out
    );
    assert!(r.out.contains("\"operator\":null,"), "{}", r.out);
}

#[test]
fn at_prints_the_reply_and_fails_on_error_results() {
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let r = warden(&["modem", "at", "--device", &dev(&sim), "AT+CSQ"], "");
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "+CSQ: 17,99\nOK\n"),
        "{}",
        r.err
    );
    let r = warden(&["modem", "at", "--device", &dev(&sim), "AT+CPIN?"], "");
    assert_eq!(r.out, "+CPIN: SIM PIN\nOK\n");
    let r = warden(&["modem", "at", "--device", &dev(&sim), "AT+NOPE"], "");
    assert_eq!((r.code, r.out.as_str()), (1, "COMMAND NOT SUPPORT\n"));
    assert_eq!(r.err, "warden: AT+NOPE: COMMAND NOT SUPPORT\n");
    // PINs never go out raw (and never through argv).
    let r = warden(
        &["modem", "at", "--device", &dev(&sim), "AT+CPIN=\"1234\""],
        "",
    );
    assert_eq!(r.code, 2);
    assert_eq!(sim.stats().pin_entries, 0);
    let r = warden(&["modem", "at", "--device", "/nonexistent/tty", "AT"], "");
    assert_eq!(r.code, 1);
    assert!(
        r.err.starts_with("warden: cannot open /nonexistent/tty: "),
        "{}",
        r.err
    );
}

#[test]
fn three_wrong_pins_at_the_command_line_never_reach_puk() {
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let st = state("three");
    let r = pin(&sim, &st, "0000", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("the SIM rejected the PIN") && r.err.contains("2 attempt(s) left"),
        "{}",
        r.err
    );
    let r = pin(&sim, &st, "0000", &[]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("rejected by this SIM before"), "{}", r.err);
    let r = pin(&sim, &st, "1111", &[]);
    assert_eq!(r.code, 1);
    let r = pin(&sim, &st, "2222", &[]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("only one PIN attempt is left"), "{}", r.err);
    let s = sim.stats();
    assert_eq!((s.lock, s.pin_left, s.pin_entries), (Lock::Pin, 1, 2));
    // The store never holds the PIN itself.
    let text = std::fs::read_to_string(&st).unwrap();
    assert!(
        !text.split_whitespace().any(|w| w == "0000" || w == "1111"),
        "{text}"
    );
    // The admin may spend the last attempt deliberately.
    let r = pin(&sim, &st, "1234", &["--force"]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "sim: ready (PIN accepted)\n"),
        "{}",
        r.err
    );
    let r = pin(&sim, &st, "1234", &[]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "sim: ready (no PIN needed)\n")
    );
}

/// Without --state, the rejected-PIN memory is the configuration's
/// `<state_dir>/pin-rejected`, as the daemon's is.
#[test]
fn pin_memory_defaults_to_the_configured_state_dir() {
    use warden::uplink::modem::{pin as p, Modem};
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let st = state("state-dir");
    let dir = st.parent().unwrap();
    // The right PIN, remembered there as rejected by this SIM: refused.
    let status = Modem::open(sim.path()).unwrap().sim_status().unwrap();
    p::PinStore::open(&st)
        .unwrap()
        .remember(&p::sim_keys(&status), &p::Pin::new("1234").unwrap())
        .unwrap();
    let conf = dir.join("warden.conf");
    std::fs::write(
        &conf,
        format!(
            "config warden 'main'\n option state_dir '{}'\n",
            dir.display()
        ),
    )
    .unwrap();
    let c = conf.display().to_string();
    let r = warden(
        &["-c", &c, "modem", "pin", "--device", &dev(&sim)],
        "1234\n",
    );
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(r.err.contains("rejected by this SIM before"), "{}", r.err);
    assert_eq!(sim.stats().pin_entries, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pin_input_is_checked_before_the_modem_is_touched() {
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let st = state("input");
    for bad in ["12", "12a4", ""] {
        let r = pin(&sim, &st, bad, &[]);
        assert_eq!(r.code, 2, "{bad}: {}", r.err);
    }
    let d = dev(&sim);
    let s = st.display().to_string();
    let r = warden(&["modem", "pin", "--device", &d, "--state", &s], "");
    assert_eq!(r.code, 2);
    assert!(r.err.contains("no PIN given"), "{}", r.err);
    assert_eq!(sim.stats().pin_entries, 0);
}

#[test]
fn a_modem_that_vanishes_mid_command_fails_cleanly() {
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig {
        vanish_on: Some("AT+CSQ".into()),
        ..SimConfig::default()
    })
    .unwrap();
    let r = warden(&["modem", "info", "--device", &dev(&sim)], "");
    assert_eq!(r.code, 1);
    assert!(
        r.err.starts_with("warden: AT+CSQ: the modem went away"),
        "{}",
        r.err
    );
}

/// A pty pair for the child's stdin: (master, slave).
fn pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls; each descriptor is owned by one File.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()), 0);
        let s = libc::open(buf.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(s >= 0);
        (std::fs::File::from_raw_fd(m), std::fs::File::from_raw_fd(s))
    }
}

#[test]
fn the_pin_prompt_does_not_echo() {
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let st = state("prompt");
    let (mut master, slave) = pty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["modem", "pin", "--device", &dev(&sim), "--state"])
        .arg(&st)
        .stdin(slave)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the prompt (echo is off by then), then type the PIN.
    let mut err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("SIM PIN: ") {
        let mut b = [0u8; 64];
        let n = err.read(&mut b).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&b[..n]);
    }
    master.write_all(b"1234\n").unwrap();
    let status = common::status_within(&mut child, common::CHILD_DEADLINE, "child");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{out}");
    assert_eq!(out, "sim: ready (PIN accepted)\n");
    // What the terminal showed: the newline, never the digits.
    let mut shown = Vec::new();
    // SAFETY: make the master non-blocking so reading stops when empty.
    unsafe {
        use std::os::fd::AsRawFd;
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
    }
    let mut b = [0u8; 256];
    while let Ok(n) = master.read(&mut b) {
        if n == 0 {
            break;
        }
        shown.extend_from_slice(&b[..n]);
    }
    let shown = String::from_utf8_lossy(&shown);
    assert!(!shown.contains("1234"), "echoed: {shown:?}");
}

#[test]
fn a_silent_modem_costs_no_cpu_while_warden_waits() {
    if skip_under_qemu() {
        return;
    }
    let sim = SimModem::spawn(SimConfig {
        ignore: vec!["AT+CSQ".into()],
        ..SimConfig::default()
    })
    .unwrap();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, with its rusage
    let child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args([
            "modem",
            "at",
            "--timeout",
            "2s",
            "--device",
            &dev(&sim),
            "AT+CSQ",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it in for this child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 1);
    let cpu = Duration::new(ru.ru_utime.tv_sec as u64, ru.ru_utime.tv_usec as u32 * 1000)
        + Duration::new(ru.ru_stime.tv_sec as u64, ru.ru_stime.tv_usec as u32 * 1000);
    // Waiting 2 s in poll(2) costs next to nothing; a busy loop would
    // burn the whole 2 s.
    assert!(cpu < Duration::from_millis(500), "{cpu:?} of CPU");
    let mut err = String::new();
    child.stderr.unwrap().read_to_string(&mut err).unwrap();
    assert!(
        err.starts_with("warden: AT+CSQ: no final result after"),
        "{err}"
    );
}
