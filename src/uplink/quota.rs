//! The data quota (sans-IO): bytes up and down per billing period,
//! counted from the PPP interface's counters, a cap and what to do at it.
//!
//! The loop samples the interface's `rx_bytes` and `tx_bytes` (sysfs
//! statistics) while pppd runs and hands them to [`Meter::sample`] with
//! the local date; the meter adds what grew since the last sample (a
//! counter that went down belongs to a new interface: a new pppd, whose
//! counters start at 0), starts a new period on the billing day, and says
//! when the cap is reached ([`Event`]). The usage is kept in a small text
//! file ([`encode`], [`decode`]) under the state directory, written only
//! when it changed and then at most once per `save_interval`, so an idle
//! link writes nothing and a busy one wears the flash little; a restart
//! or a reboot loses at most that interval's bytes.

use core::fmt;
use std::time::Instant;

pub use crate::config::vocab::{parse_bytes, OverAction, Policy, FILE_PREFIX};

/// A civil date, (year, month, day).
pub type Date = (i32, i32, i32);

/// The start of the period `today` falls in, for periods starting on
/// `start_day` (1 to 28, so every month has it).
pub fn period_start(today: Date, start_day: u8) -> Date {
    let (y, m, d) = today;
    let sd = i32::from(start_day.clamp(1, 28));
    if d >= sd {
        (y, m, sd)
    } else if m == 1 {
        (y - 1, 12, sd)
    } else {
        (y, m - 1, sd)
    }
}

/// One period's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// The period's first day.
    pub period: Date,
    pub rx: u64,
    pub tx: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.rx.saturating_add(self.tx)
    }
}

/// The usage file's text: `period 2026-12-01`, `rx N`, `tx N`.
pub fn encode(u: &Usage) -> String {
    let (y, m, d) = u.period;
    format!(
        "# warden's data usage this period (bytes)\nperiod {y:04}-{m:02}-{d:02}\nrx {}\ntx {}\n",
        u.rx, u.tx
    )
}

/// A usage file's text back; the error names the line.
pub fn decode(text: &str) -> Result<Usage, String> {
    let (mut period, mut rx, mut tx) = (None, None, None);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || format!("line {}: '{line}'", n + 1);
        let (k, v) = line.split_once(' ').ok_or_else(bad)?;
        match k {
            "period" => period = Some(parse_date(v).ok_or_else(bad)?),
            "rx" => rx = Some(v.parse().map_err(|_| bad())?),
            "tx" => tx = Some(v.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        }
    }
    match (period, rx, tx) {
        (Some(period), Some(rx), Some(tx)) => Ok(Usage { period, rx, tx }),
        _ => Err("period, rx and tx are not all there".into()),
    }
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: i32 = it.next()?.parse().ok()?;
    let d: i32 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// `1.5 MiB`, `734 B` (integer arithmetic: no float formatting on the
/// router).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut i = 0;
    let mut div: u64 = 1024;
    while n / 1024 >= div && i + 1 < UNITS.len() {
        div *= 1024;
        i += 1;
    }
    // Tenths, rounded down (n * 10 could overflow; the remainder's cannot).
    let tenths = n / div * 10 + n % div * 10 / div;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[i])
}

/// What a sample changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new period began (a stopped link may dial again).
    NewPeriod(Date),
    /// The cap was reached with action warn (once per period).
    Warn(String),
    /// The cap was reached with action stop: hang up.
    Stop(String),
}

/// The meter: the period's usage and the counters last seen.
#[derive(Debug, Clone)]
pub struct Meter {
    policy: Policy,
    usage: Usage,
    /// The interface's (rx, tx) at the last sample; None: no interface.
    last: Option<(u64, u64)>,
    dirty: bool,
    last_save: Option<Instant>,
    /// The cap's event was given this period.
    over: bool,
    /// An admin resumed this period: no stop until the next.
    resumed: bool,
}

impl Meter {
    /// A meter for `today`, carrying on from `saved` when it is this
    /// period's (a file from an earlier period starts a fresh one).
    pub fn new(policy: Policy, saved: Option<Usage>, today: Date) -> Meter {
        let period = period_start(today, policy.start_day);
        let usage = saved.filter(|u| u.period == period).unwrap_or(Usage {
            period,
            rx: 0,
            tx: 0,
        });
        let mut m = Meter {
            policy,
            usage,
            last: None,
            dirty: saved.is_some_and(|u| u.period != period),
            last_save: None,
            over: false,
            resumed: false,
        };
        m.over = m.reached();
        m
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }

    fn reached(&self) -> bool {
        self.policy.limit > 0 && self.usage.total() >= self.policy.limit
    }

    /// The link must stay down: the cap is reached, the action is stop,
    /// and no admin resumed this period.
    pub fn blocked(&self) -> bool {
        self.policy.action == OverAction::Stop && self.reached() && !self.resumed
    }

    /// Dial anyway until the next period (`warden uplink resume`); only
    /// a link the quota holds down is resumed (a resume never lets a later
    /// crossing of the cap pass).
    pub fn resume(&mut self) {
        if self.blocked() {
            self.resumed = true;
        }
    }

    /// Take one sample: today's date and the interface's counters (None:
    /// no interface, pppd not running).
    pub fn sample(&mut self, today: Date, counters: Option<(u64, u64)>) -> Vec<Event> {
        let mut out = Vec::new();
        let period = period_start(today, self.policy.start_day);
        if period != self.usage.period {
            self.usage = Usage {
                period,
                rx: 0,
                tx: 0,
            };
            self.over = false;
            self.resumed = false;
            self.dirty = true;
            out.push(Event::NewPeriod(period));
        }
        if let Some((rx, tx)) = counters {
            // A counter below the last is a new interface's, from 0.
            let (lrx, ltx) = self.last.unwrap_or((0, 0));
            let grow = |now: u64, last: u64| if now >= last { now - last } else { now };
            let (drx, dtx) = (grow(rx, lrx), grow(tx, ltx));
            if drx > 0 || dtx > 0 {
                self.usage.rx = self.usage.rx.saturating_add(drx);
                self.usage.tx = self.usage.tx.saturating_add(dtx);
                self.dirty = true;
            }
        }
        self.last = counters;
        if !self.over && self.reached() {
            self.over = true;
            let why = format!(
                "data quota reached: {} of {} since {}",
                human_bytes(self.usage.total()),
                human_bytes(self.policy.limit),
                date(self.usage.period)
            );
            out.push(match self.policy.action {
                OverAction::Warn => Event::Warn(why),
                OverAction::Stop if !self.resumed => Event::Stop(why),
                OverAction::Stop => Event::Warn(why),
            });
        }
        out
    }

    /// The usage should be written now: it changed, and the last write is
    /// at least `save_interval` old (or `force`: shutdown, new period).
    pub fn save_due(&self, now: Instant, force: bool) -> bool {
        self.dirty
            && (force
                || self
                    .last_save
                    .is_none_or(|t| now.saturating_duration_since(t) >= self.policy.save_interval))
    }

    /// The usage was written at `now`.
    pub fn saved(&mut self, now: Instant) {
        self.dirty = false;
        self.last_save = Some(now);
    }

    /// Writing failed at `now`: tried again after `save_interval`.
    pub fn save_failed(&mut self, now: Instant) {
        self.last_save = Some(now);
    }

    /// What `warden status` shows.
    pub fn status(&self) -> QuotaStatus {
        QuotaStatus {
            usage: self.usage,
            limit: self.policy.limit,
            action: self.policy.action,
            blocked: self.blocked(),
            resumed: self.resumed,
        }
    }
}

/// The quota as `warden status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaStatus {
    pub usage: Usage,
    pub limit: u64,
    pub action: OverAction,
    pub blocked: bool,
    pub resumed: bool,
}

/// `2026-12-01`.
pub fn date((y, m, d): Date) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

impl fmt::Display for QuotaStatus {
    /// `12.0 MiB of 1.0 GiB (1%) since 2026-12-01, rx 11.0 MiB tx 1.0 MiB, at the cap: stop`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.usage;
        write!(f, "{}", human_bytes(u.total()))?;
        if self.limit > 0 {
            // in u64, as human_bytes does
            let (t, l) = (u.total(), self.limit);
            let pct = (t / l)
                .saturating_mul(100)
                .saturating_add((t % l).saturating_mul(100) / l);
            write!(f, " of {} ({pct}%)", human_bytes(self.limit))?;
        }
        write!(
            f,
            " since {}, rx {} tx {}",
            date(u.period),
            human_bytes(u.rx),
            human_bytes(u.tx)
        )?;
        if self.limit > 0 {
            write!(f, ", at the cap: {}", self.action.name())?;
        }
        if self.blocked {
            f.write_str(" (over: hung up until the next period or `warden uplink resume`)")?;
        } else if self.resumed {
            f.write_str(" (resumed by an admin this period)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(limit: u64, action: OverAction) -> Policy {
        Policy {
            limit,
            start_day: 15,
            action,
            ..Policy::default()
        }
    }

    #[test]
    fn periods_start_on_the_billing_day() {
        assert_eq!(period_start((2026, 12, 3), 15), (2026, 11, 15));
        assert_eq!(period_start((2026, 12, 15), 15), (2026, 12, 15));
        assert_eq!(period_start((2026, 1, 3), 15), (2025, 12, 15));
        assert_eq!(period_start((2026, 3, 1), 1), (2026, 3, 1));
        assert_eq!(period_start((2026, 3, 31), 28), (2026, 3, 28));
        // Out of range days are held to 1..=28.
        assert_eq!(period_start((2026, 3, 2), 0), (2026, 3, 1));
    }

    #[test]
    fn counts_growth_and_a_new_interface_from_zero() {
        let mut m = Meter::new(policy(0, OverAction::Warn), None, (2026, 12, 3));
        assert!(m.sample((2026, 12, 3), Some((1000, 100))).is_empty());
        m.sample((2026, 12, 3), Some((1500, 150)));
        assert_eq!((m.usage().rx, m.usage().tx), (1500, 150));
        // pppd gone, then a new interface whose counters start at 0.
        m.sample((2026, 12, 3), None);
        m.sample((2026, 12, 3), Some((200, 20)));
        assert_eq!((m.usage().rx, m.usage().tx), (1700, 170));
        // A counter that went down without a gap: a new interface too.
        m.sample((2026, 12, 3), Some((50, 5)));
        assert_eq!((m.usage().rx, m.usage().tx), (1750, 175));
    }

    #[test]
    fn a_new_period_starts_from_zero_and_unblocks() {
        let mut m = Meter::new(policy(1000, OverAction::Stop), None, (2026, 12, 14));
        let e = m.sample((2026, 12, 14), Some((900, 200)));
        assert!(
            matches!(&e[..], [Event::Stop(w)] if w.contains("data quota reached")),
            "{e:?}"
        );
        assert!(m.blocked());
        // The next sample does not repeat the event.
        assert!(m.sample((2026, 12, 14), Some((950, 200))).is_empty());
        let e = m.sample((2026, 12, 15), None);
        assert_eq!(e, [Event::NewPeriod((2026, 12, 15))]);
        assert!(!m.blocked());
        assert_eq!(m.usage().total(), 0);
    }

    #[test]
    fn warn_once_and_resume() {
        let mut m = Meter::new(policy(1000, OverAction::Warn), None, (2026, 12, 20));
        let e = m.sample((2026, 12, 20), Some((1000, 0)));
        assert!(matches!(&e[..], [Event::Warn(_)]), "{e:?}");
        assert!(!m.blocked(), "warn never blocks");
        assert!(m.sample((2026, 12, 20), Some((2000, 0))).is_empty());

        let mut m = Meter::new(policy(1000, OverAction::Stop), None, (2026, 12, 20));
        m.resume();
        m.sample((2026, 12, 20), Some((1000, 0)));
        assert!(m.blocked(), "a resume before the cap is nothing");
        assert!(m.blocked());
        m.resume();
        assert!(!m.blocked());
        assert!(m.status().to_string().contains("resumed"));
    }

    #[test]
    fn saved_usage_carries_on_in_its_period_only() {
        let saved = Usage {
            period: (2026, 11, 15),
            rx: 700,
            tx: 400,
        };
        let m = Meter::new(policy(1000, OverAction::Stop), Some(saved), (2026, 12, 3));
        assert_eq!(m.usage(), saved);
        assert!(m.blocked(), "over the cap before any sample");
        let m = Meter::new(policy(1000, OverAction::Stop), Some(saved), (2026, 12, 16));
        assert_eq!(m.usage().total(), 0);
        assert!(
            m.save_due(Instant::now(), false),
            "the new period is written"
        );
    }

    #[test]
    fn writes_only_what_changed_and_at_most_once_per_interval() {
        let t0 = Instant::now();
        let mut m = Meter::new(policy(0, OverAction::Warn), None, (2026, 12, 3));
        assert!(!m.save_due(t0, false), "nothing counted: nothing to write");
        m.sample((2026, 12, 3), Some((10, 1)));
        assert!(m.save_due(t0, false));
        m.saved(t0);
        // Idle: the same counters, no write however long.
        m.sample((2026, 12, 3), Some((10, 1)));
        assert!(!m.save_due(t0 + Duration::from_secs(86_400), false));
        m.sample((2026, 12, 3), Some((20, 1)));
        assert!(!m.save_due(t0 + Duration::from_secs(60), false));
        assert!(m.save_due(t0 + Duration::from_secs(60), true), "shutdown");
        assert!(m.save_due(t0 + Duration::from_secs(15 * 60), false));
    }

    #[test]
    fn the_file_round_trips_and_bad_ones_say_where() {
        let u = Usage {
            period: (2026, 2, 1),
            rx: 123,
            tx: 45,
        };
        let text = encode(&u);
        assert!(
            text.contains("period 2026-02-01\nrx 123\ntx 45\n"),
            "{text}"
        );
        assert_eq!(decode(&text), Ok(u));
        let e = decode("period 2026-02-01\nrx 12x\ntx 1\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("12x"), "{e}");
        assert!(decode("period 2026-13-01\nrx 1\ntx 1\n").is_err());
        assert!(decode("rx 1\n").is_err());
        assert!(decode("").is_err());
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_bytes(734), "734 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16777215.9 TiB");
    }

    #[test]
    fn status_lines() {
        let mut m = Meter::new(policy(1 << 30, OverAction::Stop), None, (2026, 12, 20));
        m.sample((2026, 12, 20), Some((11 << 20, 1 << 20)));
        assert_eq!(
            m.status().to_string(),
            "12.0 MiB of 1.0 GiB (1%) since 2026-12-15, rx 11.0 MiB tx 1.0 MiB, at the cap: stop"
        );
    }

    #[test]
    fn byte_options() {
        assert_eq!(parse_bytes("0"), Some(0));
        assert_eq!(parse_bytes("500M"), Some(500 << 20));
        assert_eq!(parse_bytes("2G"), Some(2 << 30));
        assert_eq!(parse_bytes("64k"), Some(64 << 10));
        assert_eq!(parse_bytes("1.5G"), None);
        assert_eq!(parse_bytes("G"), None);
        assert_eq!(parse_bytes("99999999999T"), None);
    }
}
