//! Rendering the supervisor's [`Status`] for `warden status`: `key: value`
//! lines for people and scripts, or one JSON object with `--json`.

use super::ladder::{LadderStatus, Rung};
use super::supervisor::Status;
use crate::json::{Obj, Value};
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// `1h02m03s`, `4m05s`, `7s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Seconds to a tenth, for logs and messages: `2.0s`, `0.3s`.
pub fn tenths(d: Duration) -> String {
    format!("{}.{}s", d.as_secs(), d.subsec_millis() / 100)
}

fn uptime(st: &Status, now: Instant) -> Option<Duration> {
    st.up_since.map(|t| now.saturating_duration_since(t))
}

/// Which uplink a status is about: netifd's name for its link (the
/// `interface` option) and the run directory it serves its sockets from.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub interface: &'a str,
    pub run_dir: &'a Path,
}

/// `key: value` lines; absent values are left out.
pub fn text(who: &Who<'_>, st: &Status, now: Instant) -> String {
    let mut out = String::new();
    let mut kv = |k: &str, v: &str| {
        if !v.is_empty() {
            let _ = writeln!(out, "{k}: {v}");
        }
    };
    kv("interface", who.interface);
    kv("run_dir", &who.run_dir.display().to_string());
    kv("state", st.state);
    kv("link", if st.up_since.is_some() { "up" } else { "down" });
    if let Some(u) = uptime(st, now) {
        kv("uptime", &human_duration(u));
    }
    kv("reconnects", &st.reconnects.to_string());
    if let Some(a) = st.local {
        kv("address", &a.to_string());
    }
    if let Some(a) = st.remote {
        kv("peer", &a.to_string());
    }
    if let Some(a) = st.local6 {
        kv("address6", &a.to_string());
    }
    kv(
        "changes",
        &format!("address {}, dns {}", st.address_changes, st.dns_changes),
    );
    if let Some((at, what)) = &st.last_change {
        let ago = human_duration(now.saturating_duration_since(*at));
        kv("last_change", &format!("{ago} ago: {what}"));
    }
    kv("failures", &st.consecutive_failures.to_string());
    kv("last_reason", st.last_reason.as_deref().unwrap_or(""));
    if let Some(p) = &st.ports {
        kv("ppp_port", &p.ppp.display().to_string());
        kv("at_port", &p.at.display().to_string());
    }
    let m = &st.modem;
    kv("manufacturer", &m.manufacturer);
    kv("model", &m.model);
    kv("imei", &m.imei);
    kv("registration", &m.registration);
    kv("operator", &m.operator);
    if !m.mode.is_empty() {
        kv("mode", &m.mode);
    }
    if let Some(d) = m.signal_dbm {
        kv("signal_dbm", &d.to_string());
    }
    for d in &st.dns {
        kv("dns", &format!("{} {}", d.server, d.verdict));
    }
    if let Some(q) = &st.quota {
        kv("quota", &q.to_string());
    }
    kv("sms_received", &st.sms_received.to_string());
    kv("recovery", &recovery_counts(&st.recovery));
    if let Some(l) = &st.recovery.last {
        let ago = human_duration(now.saturating_duration_since(l.at));
        kv("last_recovery", &format!("{} {ago} ago: {}", l.rung, l.why));
    }
    out
}

/// `redial 4, cfun 1, usb_reset 0, port_power 0, gpio 0`.
fn recovery_counts(r: &LadderStatus) -> String {
    Rung::ALL
        .iter()
        .zip(r.counts)
        .map(|(rung, n)| format!("{rung} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One JSON object with the same facts.
pub fn json(who: &Who<'_>, st: &Status, now: Instant) -> String {
    let m = &st.modem;
    let dns: Vec<Value> = st
        .dns
        .iter()
        .map(|d| {
            Obj::new()
                .field("server", d.server.to_string())
                .field("verdict", d.verdict.as_str())
                .field("healthy", d.healthy)
                .into()
        })
        .collect();
    let v: Value = Obj::new()
        .field("interface", who.interface)
        .field("run_dir", who.run_dir.display().to_string())
        .field("state", st.state)
        .field("link", if st.up_since.is_some() { "up" } else { "down" })
        .field(
            "uptime_s",
            uptime(st, now).map(|u| u.as_secs().min(i64::MAX as u64) as i64),
        )
        .field("reconnects", st.reconnects)
        .field("address", st.local.map(|a| a.to_string()))
        .field("peer", st.remote.map(|a| a.to_string()))
        .field("address6", st.local6.map(|a| a.to_string()))
        .field(
            "changes",
            Obj::new()
                .field("address", st.address_changes)
                .field("dns", st.dns_changes),
        )
        .field(
            "last_change",
            st.last_change.as_ref().map_or(Value::Null, |(at, what)| {
                let ago = now.saturating_duration_since(*at).as_secs();
                Obj::new()
                    .field("what", what.as_str())
                    .field("ago_s", ago.min(i64::MAX as u64) as i64)
                    .into()
            }),
        )
        .field("failures", st.consecutive_failures)
        .field("last_reason", st.last_reason.clone())
        .field(
            "ppp_port",
            st.ports.as_ref().map(|p| p.ppp.display().to_string()),
        )
        .field(
            "at_port",
            st.ports.as_ref().map(|p| p.at.display().to_string()),
        )
        .field(
            "modem",
            Obj::new()
                .field("manufacturer", m.manufacturer.as_str())
                .field("model", m.model.as_str())
                .field("imei", m.imei.as_str())
                .field("registration", m.registration.as_str())
                .field("operator", m.operator.as_str())
                .field("mode", m.mode.as_str())
                .field("signal_dbm", m.signal_dbm),
        )
        .field("dns", Value::Arr(dns))
        .field(
            "quota",
            st.quota.as_ref().map_or(Value::Null, |q| {
                let clamp = |n: u64| n.min(i64::MAX as u64) as i64;
                Obj::new()
                    .field("period_start", super::quota::date(q.usage.period))
                    .field("rx", clamp(q.usage.rx))
                    .field("tx", clamp(q.usage.tx))
                    .field("limit", clamp(q.limit))
                    .field("action", q.action.name())
                    .field("over", q.blocked)
                    .field("resumed", q.resumed)
                    .into()
            }),
        )
        .field("sms_received", st.sms_received)
        .field("recovery", {
            let mut o = Obj::new();
            for (rung, n) in Rung::ALL.iter().zip(st.recovery.counts) {
                o = o.field(rung.name(), n);
            }
            o
        })
        .field(
            "last_recovery",
            st.recovery.last.as_ref().map_or(Value::Null, |l| {
                let ago = now.saturating_duration_since(l.at).as_secs();
                Obj::new()
                    .field("rung", l.rung.name())
                    .field("reason", l.why.as_str())
                    .field("ago_s", ago.min(i64::MAX as u64) as i64)
                    .into()
            }),
        )
        .into();
    format!("{v}\n")
}

#[cfg(test)]
mod tests {
    use super::super::ladder::Last;
    use super::super::supervisor::{DnsHealth, ModemStatus, Ports};
    use super::*;

    fn sample(now: Instant) -> Status {
        Status {
            state: "up",
            ports: Some(Ports {
                ppp: "/dev/ttyUSB0".into(),
                at: "/dev/ttyUSB2".into(),
            }),
            up_since: Some(now - Duration::from_secs(3723)),
            reconnects: 1,
            consecutive_failures: 0,
            last_reason: Some("broken DNS: 10.11.12.13 bogus".into()),
            modem: ModemStatus {
                manufacturer: "huawei".into(),
                model: "E367".into(),
                imei: "123456789012347".into(),
                registration: "home".into(),
                operator: "Sim Telecom".into(),
                mode: "UMTS".into(),
                signal_dbm: Some(-71),
                new_sms: 0,
            },
            dns: vec![DnsHealth {
                server: "192.0.2.53".parse().unwrap(),
                verdict: "ok".into(),
                healthy: true,
            }],
            local: Some("10.64.1.3".parse().unwrap()),
            remote: Some("10.64.64.64".parse().unwrap()),
            address_changes: 1,
            dns_changes: 2,
            last_change: Some((
                now - Duration::from_secs(12),
                "DNS 192.0.2.53 -> 198.51.100.7".into(),
            )),
            quota: Some(crate::uplink::quota::QuotaStatus {
                usage: crate::uplink::quota::Usage {
                    period: (2026, 12, 1),
                    rx: 3 << 20,
                    tx: 1 << 20,
                },
                limit: 1 << 30,
                action: crate::uplink::quota::OverAction::Stop,
                blocked: false,
                resumed: false,
            }),
            recovery: LadderStatus {
                counts: [4, 1, 1, 0, 0],
                last: Some(Last {
                    rung: Rung::UsbReset,
                    why: "cfun did not help (3 failures since); last: modem: timeout".into(),
                    at: now - Duration::from_secs(65),
                }),
            },
            sms_received: 2,
            local6: Some("fe80::5c3e:1".parse().unwrap()),
        }
    }

    fn who() -> Who<'static> {
        Who {
            interface: "wan",
            run_dir: Path::new("/var/run/warden/wan"),
        }
    }

    #[test]
    fn text_lines() {
        let now = Instant::now();
        let t = text(&who(), &sample(now), now);
        assert!(
            t.starts_with(
                "interface: wan\nrun_dir: /var/run/warden/wan\n\
                 state: up\nlink: up\nuptime: 1h02m03s\nreconnects: 1\n\
                 address: 10.64.1.3\npeer: 10.64.64.64\naddress6: fe80::5c3e:1\n\
                 changes: address 1, dns 2\n\
                 last_change: 12s ago: DNS 192.0.2.53 -> 198.51.100.7\nfailures: 0\n"
            ),
            "{t}"
        );
        assert!(t.contains("last_reason: broken DNS: 10.11.12.13 bogus\n"));
        assert!(t.contains("signal_dbm: -71\n"));
        assert!(t.contains("operator: Sim Telecom\nmode: UMTS\n"));
        assert!(t.contains("dns: 192.0.2.53 ok\n"));
        assert!(t.contains("\nsms_received: 2\nrecovery: "), "{t}");
        assert!(
            t.contains(
                "\nquota: 4.0 MiB of 1.0 GiB (0%) since 2026-12-01, rx 3.0 MiB tx 1.0 MiB, \
                 at the cap: stop\n"
            ),
            "{t}"
        );
        assert!(
            t.ends_with(
                "recovery: redial 4, cfun 1, usb_reset 1, port_power 0, gpio 0\n\
                 last_recovery: usb_reset 1m05s ago: cfun did not help (3 failures since); \
                 last: modem: timeout\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn json_object() {
        let now = Instant::now();
        let j = json(&who(), &sample(now), now);
        assert!(
            j.starts_with(
                r#"{"interface":"wan","run_dir":"/var/run/warden/wan","state":"up","link":"up","uptime_s":3723,"reconnects":1,"address":"10.64.1.3","peer":"10.64.64.64","address6":"fe80::5c3e:1","changes":{"address":1,"dns":2},"last_change":{"what":"DNS 192.0.2.53 -> 198.51.100.7","ago_s":12},"failures":0"#
            ),
            "{j}"
        );
        assert!(j.contains(r#""operator":"Sim Telecom","mode":"UMTS","signal_dbm":-71}"#));
        assert!(j.contains(r#""dns":[{"server":"192.0.2.53","verdict":"ok","healthy":true}]"#));
        assert!(
            j.contains(
                r#""quota":{"period_start":"2026-12-01","rx":3145728,"tx":1048576,"limit":1073741824,"action":"stop","over":false,"resumed":false}"#
            ),
            "{j}"
        );
        assert!(
            j.contains(
                r#""sms_received":2,"recovery":{"redial":4,"cfun":1,"usb_reset":1,"port_power":0,"gpio":0},"last_recovery":{"rung":"usb_reset","reason":"cfun did not help (3 failures since); last: modem: timeout","ago_s":65}}"#
            ),
            "{j}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(Duration::from_secs(7)), "7s");
        assert_eq!(human_duration(Duration::from_secs(245)), "4m05s");
    }
}
