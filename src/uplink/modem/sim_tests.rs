//! The driver and PIN safety against the simulated E367 over a real pty.
//! These run under qemu-user too (`cross/test`): the tty code uses plain
//! termios (TCGETS/TCSETS), which qemu emulates, not TCGETS2.

use super::at::Final;
use super::commands::{RegStat, SimState};
use super::pin::{self, Pin, PinError, PinStore, Policy, Refusal, Unlocked};
use super::{Modem, ModemError, ModemFault};
use crate::uplink::sim::{Lock, SimConfig, SimModem};
use std::path::PathBuf;
use std::time::Duration;

fn store_path(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warden-simtest-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d.join("pin-rejected")
}

fn open(sim: &SimModem) -> Modem {
    let mut m = Modem::open(sim.path()).unwrap();
    m.init().unwrap();
    m
}

/// One start of warden: open the modem, try the configured PIN, close.
fn attempt(
    sim: &SimModem,
    store: &std::path::Path,
    pin: &str,
    policy: Policy,
) -> Result<Unlocked, PinError> {
    let mut m = open(sim);
    let mut s = PinStore::open(store).unwrap();
    pin::unlock(&mut m, &Pin::new(pin).unwrap(), &mut s, policy)
}

#[test]
fn info_from_a_locked_e367() {
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let mut m = open(&sim);
    let i = m.info().unwrap();
    assert_eq!(i.identity.manufacturer.as_deref(), Some("huawei"));
    assert_eq!(i.identity.model.as_deref(), Some("E367"));
    assert_eq!(i.identity.revision.as_deref(), Some("11.810.09.00.00"));
    assert_eq!(i.identity.imei.as_deref(), Some("353142030000005"));
    assert_eq!(i.iccid.as_deref(), Some("89490200001234567890"));
    assert_eq!(i.sim, Some(SimState::Pin));
    assert_eq!(i.pin_attempts.map(|c| c.pin), Some(3));
    assert_eq!(i.registration.map(|r| r.stat), Some(RegStat::NotSearching));
    assert_eq!(i.operator.and_then(|o| o.name), None);
    assert_eq!(i.mode.map(|m| m.to_string()).as_deref(), Some("auto"));
    assert_eq!(i.signal.and_then(|s| s.dbm()), Some(-79));
}

#[test]
fn the_right_pin_unlocks_and_the_modem_registers() {
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let store = store_path("right");
    assert_eq!(
        attempt(&sim, &store, "1234", Policy::default()).unwrap(),
        Unlocked::Accepted
    );
    assert_eq!(
        attempt(&sim, &store, "1234", Policy::default()).unwrap(),
        Unlocked::AlreadyReady
    );
    let mut m = open(&sim);
    m.set_service(super::commands::Service::UmtsOnly).unwrap();
    let before = sim.stats().commands;
    assert!(matches!(
        m.set_apn("").map_err(ModemError::into_fault),
        Err(ModemFault::Apn(_))
    ));
    assert!(matches!(
        m.set_apn("x\";ATH").map_err(ModemError::into_fault),
        Err(ModemFault::Apn(_))
    ));
    assert_eq!(sim.stats().commands, before);
    m.set_apn("web.example").unwrap();
    assert_eq!(m.apns().unwrap()[0].apn, "web.example");
    let i = m.info().unwrap();
    assert_eq!(i.sim, Some(SimState::Ready));
    assert_eq!(i.registration.map(|r| r.stat), Some(RegStat::Home));
    assert_eq!(
        i.operator.and_then(|o| o.name).as_deref(),
        Some("Sim Telecom")
    );
    assert_eq!(i.mode.map(|m| m.to_string()).as_deref(), Some("umts_only"));
    assert_eq!(m.dial("*99***1#").unwrap().as_deref(), Some("3600000"));
    assert!(sim.stats().online);
    assert_eq!(sim.stats().pin_entries, 1);
}

#[test]
fn a_wrong_pin_in_the_config_is_tried_once_across_any_number_of_restarts() {
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let store = store_path("wrong");
    match attempt(&sim, &store, "0000", Policy::default()) {
        Err(PinError::Rejected { attempts_left, .. }) => assert_eq!(attempts_left, Some(2)),
        other => panic!("{other:?}"),
    }
    for _ in 0..10 {
        match attempt(&sim, &store, "0000", Policy::default()) {
            Err(PinError::Refused(Refusal::RejectedBefore)) => {}
            other => panic!("{other:?}"),
        }
    }
    let st = sim.stats();
    assert_eq!((st.lock, st.pin_left, st.pin_entries), (Lock::Pin, 2, 1));
    // The rejection survives a modem reset too (same SIM, same ICCID).
    open(&sim).reset().unwrap();
    assert!(matches!(
        attempt(&sim, &store, "0000", Policy::default()),
        Err(PinError::Refused(Refusal::RejectedBefore))
    ));
    // Once fixed, the right PIN unlocks and the record goes.
    assert_eq!(
        attempt(&sim, &store, "1234", Policy::default()).unwrap(),
        Unlocked::Accepted
    );
    assert_eq!(
        PinStore::open(&store)
            .unwrap()
            .rejected_count("iccid:89490200001234567890"),
        0
    );
}

#[test]
fn three_different_wrong_pins_never_reach_puk() {
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let store = store_path("three");
    assert!(matches!(
        attempt(&sim, &store, "0000", Policy::default()),
        Err(PinError::Rejected { .. })
    ));
    assert!(matches!(
        attempt(&sim, &store, "1111", Policy::default()),
        Err(PinError::Rejected { .. })
    ));
    for p in ["2222", "3333", "1234"] {
        match attempt(&sim, &store, p, Policy::default()) {
            Err(PinError::Refused(Refusal::LastAttempt)) => {}
            other => panic!("{p}: {other:?}"),
        }
    }
    let st = sim.stats();
    assert_eq!((st.lock, st.pin_left), (Lock::Pin, 1));
    // The admin, at the console, may spend the last attempt on purpose;
    // even then a PIN already rejected is refused.
    let force = Policy { force: true };
    assert!(matches!(
        attempt(&sim, &store, "0000", force),
        Err(PinError::Refused(Refusal::RejectedBefore))
    ));
    assert_eq!(
        attempt(&sim, &store, "1234", force).unwrap(),
        Unlocked::Accepted
    );
    assert_eq!(sim.stats().lock, Lock::Ready);
}

#[test]
fn unknown_attempts_mean_no_pin_is_entered() {
    let sim = SimModem::spawn(SimConfig {
        huawei_cpin: false,
        ..SimConfig::default()
    })
    .unwrap();
    let store = store_path("unknown");
    assert!(matches!(
        attempt(&sim, &store, "1234", Policy::default()),
        Err(PinError::Refused(Refusal::AttemptsUnknown))
    ));
    assert_eq!(sim.stats().pin_entries, 0);
}

#[test]
fn a_puk_locked_sim_is_reported_and_left_alone() {
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    {
        // Someone else (not warden) burnt the SIM.
        let mut m = open(&sim);
        for _ in 0..3 {
            let r = m.at("AT+CPIN=\"9999\"", Duration::from_secs(5)).unwrap();
            assert_ne!(r.result, Final::Ok);
        }
    }
    let store = store_path("puk");
    for policy in [Policy::default(), Policy { force: true }] {
        match attempt(&sim, &store, "1234", policy) {
            Err(PinError::Refused(Refusal::PukLocked { puk_attempts })) => {
                assert_eq!(puk_attempts, Some(10))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(sim.stats().puk_left, 10);
}

#[test]
fn a_device_that_vanishes_mid_command_is_a_clear_error() {
    let sim = SimModem::spawn(SimConfig {
        vanish_on: Some("AT+CSQ".into()),
        ..SimConfig::default()
    })
    .unwrap();
    let mut m = open(&sim);
    match m.info().map_err(ModemError::into_fault) {
        Err(ModemFault::Vanished { command, .. }) => assert_eq!(command, "AT+CSQ"),
        other => panic!("{other:?}"),
    }
    // Further use fails at once, the same way (no hang, no spin).
    assert!(matches!(
        m.signal().map_err(ModemError::into_fault),
        Err(ModemFault::Vanished { .. })
    ));
    assert!(sim.stats().vanished);
}

#[test]
fn a_device_that_vanishes_between_commands() {
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let mut m = open(&sim);
    sim.vanish();
    while !sim.stats().vanished {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(matches!(
        m.signal().map_err(ModemError::into_fault),
        Err(ModemFault::Vanished { .. })
    ));
    // Opening a device that is gone is a clear error. Not through the
    // vanished pty's own path: tests run in parallel, and another test's
    // new pty may take its number (and would be locked by this open).
    let gone = std::env::temp_dir().join(format!("warden-gone-tty-{}", std::process::id()));
    assert!(matches!(
        Modem::open(&gone).map_err(ModemError::into_fault),
        Err(ModemFault::Open { .. })
    ));
}

#[test]
fn a_silent_modem_times_out_and_a_late_answer_is_not_misread() {
    let sim = SimModem::spawn(SimConfig {
        ignore: vec!["AT+COPS".into()],
        ..SimConfig::default()
    })
    .unwrap();
    let mut m = open(&sim);
    match m
        .at("AT+COPS?", Duration::from_millis(300))
        .map_err(ModemError::into_fault)
    {
        Err(ModemFault::Timeout(f)) => {
            assert!(f.to_string().starts_with("AT+COPS?: no final result"))
        }
        other => panic!("{other:?}"),
    }
    // The modem never answers it: after the grace period the next command works.
    assert_eq!(m.signal().unwrap().rssi, 17);

    let sim = SimModem::spawn(SimConfig {
        reply_delay: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .unwrap();
    let mut m = Modem::open(sim.path()).unwrap();
    assert!(matches!(
        m.at("AT+CGMM", Duration::from_millis(100))
            .map_err(ModemError::into_fault),
        Err(ModemFault::Timeout(_))
    ));
    // The late "E367 / OK" must not be taken as the answer to AT+CGMI.
    let r = m.at("AT+CGMI", Duration::from_secs(5)).unwrap();
    assert_eq!(r.lines, vec!["huawei"]);
}

#[test]
fn garbage_noise_slow_replies_and_unsolicited_codes_do_not_confuse_it() {
    let sim = SimModem::spawn(SimConfig {
        garbage: true,
        urc_mid_response: true,
        urc_interval: Some(Duration::from_millis(20)),
        reply_delay: Duration::from_millis(30),
        ..SimConfig::default()
    })
    .unwrap();
    let store = store_path("noise");
    assert_eq!(
        attempt(&sim, &store, "1234", Policy::default()).unwrap(),
        Unlocked::Accepted
    );
    let mut m = open(&sim);
    let i = m.info().unwrap();
    assert_eq!(i.identity.model.as_deref(), Some("E367"));
    assert_eq!(
        i.operator.and_then(|o| o.name).as_deref(),
        Some("Sim Telecom")
    );
    assert_eq!(i.signal.map(|s| s.rssi), Some(17));
    let urcs = m.take_unsolicited();
    assert!(urcs.contains(&super::at::Urc::Rssi(17)), "{urcs:?}");
}

#[test]
fn dropped_bytes_give_answers_or_timeouts_never_a_hang() {
    let sim = SimModem::spawn(SimConfig {
        drop_every: Some(5),
        echo: false,
        ..SimConfig::default()
    })
    .unwrap();
    let mut m = Modem::open(sim.path()).unwrap();
    let (mut answered, mut timed_out) = (0, 0);
    for _ in 0..8 {
        match m
            .at("AT+CSQ", Duration::from_millis(300))
            .map_err(ModemError::into_fault)
        {
            Ok(_) => answered += 1,
            Err(ModemFault::Timeout(_)) => timed_out += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(answered + timed_out, 8);
}

/// A port closed and opened again at once is never "in use" because
/// another thread forked while it was open: the child's copy of the locked
/// descriptor lives until its exec (this is what made restarts fail beside
/// other work). Every reopen here races a fork loop.
#[test]
fn reopening_a_port_while_other_threads_fork_is_never_in_use() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let forker = {
        let done = done.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                let _ = std::process::Command::new("true").status();
            }
            done.store(true, Ordering::Relaxed);
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (mut opens, mut failures) = (0, Vec::new());
    while !done.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
        opens += 1;
        if let Err(e) = Modem::open(sim.path()) {
            failures.push(e.to_string());
        }
    }
    forker.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {opens}: {:?}",
        failures.len(),
        failures.first()
    );
}

/// Another process's lock (as python's lockf takes it: the same record
/// lock) makes the port in use, after the short wait for a holder on its
/// way out; once that process is gone the port opens.
#[test]
fn a_port_another_process_holds_is_in_use_until_it_lets_go() {
    use std::io::{BufRead, Write};
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl, os, sys\n\
             fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)\n\
             fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n\
             print('locked', flush=True)\n\
             sys.stdin.read()",
        ])
        .arg(sim.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    // the holder prints once it has the lock (or dies, closing its stdout)
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "locked\n");
    match Modem::open(sim.path()).map_err(ModemError::into_fault) {
        Err(ModemFault::InUse { .. }) => {}
        other => panic!("{:?}", other.err()),
    }
    holder.stdin.take().unwrap().write_all(b"").unwrap(); // closes it
    holder.wait().unwrap();
    Modem::open(sim.path()).unwrap();
}

#[test]
fn a_port_in_use_or_not_a_tty_is_refused_clearly() {
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let _first = Modem::open(sim.path()).unwrap();
    match Modem::open(sim.path()) {
        Err(e) if matches!(e.fault(), ModemFault::InUse { .. }) => {
            assert!(e.to_string().ends_with("is in use by another process"))
        }
        other => panic!("{:?}", other.err()),
    }
    match Modem::open("/dev/null".as_ref()) {
        Err(e) if matches!(e.fault(), ModemFault::Open { .. }) => {
            assert_eq!(e.to_string(), "cannot open /dev/null: not a tty")
        }
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn a_pin_whose_fate_is_unknown_counts_as_spent_unless_the_sim_says_otherwise() {
    let iccid_key = &["iccid:89490200001234567890".to_string()][..];
    // The modem never answers the PIN, but stays: the counter did not
    // drop, so the attempt was not spent and is not remembered.
    let sim = SimModem::spawn(SimConfig {
        ignore: vec!["AT+CPIN=".into()],
        ..SimConfig::default()
    })
    .unwrap();
    let store = store_path("silent");
    let mut m = open(&sim).with_timeouts(super::Timeouts {
        slow: Duration::from_millis(300),
        ..super::Timeouts::default()
    });
    let mut s = PinStore::open(&store).unwrap();
    let p = Pin::new("0000").unwrap();
    match m.enter_pin(&p, &mut s, Policy::default()) {
        Err(PinError::Modem(e)) if matches!(e.fault(), ModemFault::Timeout(_)) => {}
        other => panic!("{other:?}"),
    }
    assert!(!PinStore::open(&store).unwrap().is_rejected(iccid_key, &p));

    // The modem vanishes with the PIN in flight: nothing can be read
    // back, so the worst is assumed and the PIN is never sent again.
    let sim = SimModem::spawn(SimConfig {
        vanish_on: Some("AT+CPIN=".into()),
        ..SimConfig::default()
    })
    .unwrap();
    let store = store_path("vanish");
    match attempt(&sim, &store, "0000", Policy::default()) {
        Err(PinError::Modem(e)) => match e.into_fault() {
            ModemFault::Vanished { command, .. } => assert_eq!(command, "AT+CPIN=<secret>"),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(PinStore::open(&store).unwrap().is_rejected(iccid_key, &p));
}

#[test]
fn after_a_dropped_call_the_port_is_back_in_command_mode() {
    let sim = SimModem::spawn(SimConfig {
        pin: None,
        ..SimConfig::default()
    })
    .unwrap();
    let mut m = open(&sim);
    assert_eq!(m.dial("*99***1#").unwrap().as_deref(), Some("3600000"));
    sim.hang_up();
    while sim.stats().online {
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = m.at("AT", Duration::from_secs(5)).unwrap();
    assert_eq!(r.result, Final::Ok);
    // Dialing without a SIM PIN entered is refused by the modem.
    let sim = SimModem::spawn(SimConfig::default()).unwrap();
    let mut m = open(&sim);
    assert!(matches!(
        m.dial("*99***1#").map_err(ModemError::into_fault),
        Err(ModemFault::Rejected { .. })
    ));
}

/// SMS in PDU mode and USSD against the simulated E367: list (the
/// concatenated parts reassembled), read, delete, send (the prompt, a
/// PDU the modem checks), and *100# with Huawei's packed encoding.
#[test]
fn sms_and_ussd_on_the_simulated_e367() {
    use super::sms;
    let sim = SimModem::spawn(SimConfig {
        pin: None,
        ..SimConfig::default()
    })
    .unwrap();
    let mut m = open(&sim);
    let list = m.sms_list().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].msg.text, "hellohello");
    assert_eq!(list[0].stat, 0);
    let msgs = sms::reassemble(&list);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1].text, "See you at noon");
    assert_eq!(msgs[1].indexes, [3, 2]);
    assert_eq!(msgs[1].sender, "+4917");
    // Listing read the unread one.
    assert_eq!(m.sms_read(1).unwrap().stat, 1);
    m.sms_delete(1).unwrap();
    assert!(matches!(
        m.sms_read(1).map_err(ModemError::into_fault),
        Err(ModemFault::Rejected { .. })
    ));
    assert_eq!(m.sms_list().unwrap().len(), 2);
    // Two parts: two prompts, two references.
    let long = "x".repeat(200);
    assert_eq!(m.sms_send("+4917", &long, 9).unwrap(), [1, 2]);
    assert_eq!(m.sms_send("+4917", "hi €", 10).unwrap(), [3]);
    let sent = sim.stats().sms_sent;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2], sms::submit("+4917", "hi €", 10).unwrap()[0].hex);
    let r = m.ussd("*100#").unwrap();
    assert_eq!(
        (r.m, r.text.as_deref()),
        (0, Some(crate::uplink::sim::e367::SIM_BALANCE))
    );
    assert_eq!(
        m.ussd("*101#").unwrap().text.as_deref(),
        Some("Unknown code")
    );
    assert!(m.ussd("日本").is_err());
}

/// A plain 3GPP modem (every `^` command ERROR), named by +CGMI: the
/// daemon's preparation reads the PIN attempts with +CPINR, spends one
/// right PIN, sets the mode with +WS46 and sends no `^` command at all;
/// the last attempt is still never spent.
#[test]
fn a_generic_modem_is_prepared_in_plain_3gpp() {
    let generic = SimConfig {
        generic: true,
        manufacturer: "Simulated".into(),
        ..SimConfig::default()
    };
    let sim = SimModem::spawn(generic.clone()).unwrap();
    let u = crate::config::Uplink {
        pincode: crate::config::Secret(zeroize::Zeroizing::new("1234".into())),
        service: "umts_only".into(),
        ..crate::config::Uplink::default()
    };
    let store = store_path("generic");
    let mut m = Modem::open(sim.path()).unwrap();
    let s = crate::uplink::plant::prepare_modem(&mut m, &u, &store).unwrap();
    assert_eq!(
        (s.manufacturer.as_str(), s.signal_dbm),
        ("Simulated", Some(-79))
    );
    assert_eq!(m.dialect(), super::commands::Dialect::Generic);
    let st = sim.stats();
    assert_eq!((st.carets, st.pin_entries, st.wrong_pins), (0, 1, 0));
    assert_eq!(st.ws46, Some(22));
    assert_eq!(m.info().unwrap().pin_attempts.map(|c| c.pin), Some(3));
    assert_eq!(sim.stats().carets, 0);

    let last = SimModem::spawn(SimConfig {
        pin_attempts: 1,
        ..generic
    })
    .unwrap();
    assert!(matches!(
        attempt(
            &last,
            &store_path("generic-last"),
            "1234",
            Policy::default()
        ),
        Err(PinError::Refused(Refusal::LastAttempt))
    ));
    assert_eq!(last.stats().pin_entries, 0);
}

/// A message the network delivers is announced with +CMTI once
/// `AT+CNMI` asked for it; the uplink's look at the modem reads it
/// (once), counts it and writes it to the spool directory.
#[test]
fn a_new_sms_is_announced_read_counted_and_spooled() {
    let sim = SimModem::spawn(SimConfig {
        pin: None,
        ..SimConfig::default()
    })
    .unwrap();
    let spool = store_path("spool").with_file_name("spool");
    let u = crate::config::Uplink {
        sms_spool: Some(spool.clone()),
        ..crate::config::Uplink::default()
    };
    let mut m = open(&sim);
    sim.receive_sms();
    assert_eq!(
        crate::uplink::plant::refresh_modem(&mut m, &u).new_sms,
        0,
        "announced before AT+CNMI asked"
    );
    m.announce_sms().unwrap();
    sim.receive_sms();
    assert_eq!(crate::uplink::plant::refresh_modem(&mut m, &u).new_sms, 1);
    assert_eq!(crate::uplink::plant::refresh_modem(&mut m, &u).new_sms, 0);
    let files: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.ends_with("-5.sms"), "{name}");
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        "from: 27838890001\ntime: 99-03-29 15:16:59+02:00\n\nhellohello\n"
    );
}
