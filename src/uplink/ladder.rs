//! The recovery ladder for a wedged modem (sans-IO): which rung comes
//! next, when.
//!
//! ```text
//!   redial  (every failure: hang up, back off, dial again)
//!     | reset_after failures in a row
//!   cfun        AT+CFUN=1,1 on the AT port
//!     | escalate_after more failures (the rung did not help)
//!   usb_reset   USBDEVFS_RESET on /dev/bus/usb/BBB/DDD
//!     | escalate_after more
//!   port_power  the hub port's `disable` 1/0, else the device's `authorized` 0/1
//!     | escalate_after more
//!   gpio        the board's USB power switch (`gpio_power`: a GPIO value or
//!               an LED brightness file) 0, then 1
//! ```
//!
//! A link that comes up and passes its DNS check sends the ladder back to
//! the bottom. Each rung runs at most once per its minimum interval: a rung
//! still resting is held (the supervisor keeps redialing with its backoff)
//! and climbed at the first failure after its interval, so a flapping
//! network never becomes a reset storm. At the top, the top rung repeats,
//! no more often than its interval.
//!
//! [`Ladder`] decides; the supervisor carries a climb out as
//! `Action::Reset`, and the plant does the rung's I/O.

use std::time::{Duration, Instant};

/// One way to recover the modem (the configuration's vocabulary: the
/// `reset_ladder` option lists them).
pub use crate::config::{Rung, MIN_INTERVALS};

/// How the ladder climbs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The rungs above redial, in the order they are climbed (redial is
    /// always the bottom and never listed here).
    pub rungs: Vec<Rung>,
    /// Failures in a row before the first rung (0: never climb).
    pub first_after: u32,
    /// Failures after a rung before the next one (a rung that did not help).
    pub escalate_after: u32,
    /// Per rung ([`Rung::ALL`] order): the least time between two climbs of it.
    pub min_interval: [Duration; 5],
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rungs: crate::config::LADDER.to_vec(),
            first_after: crate::config::RESET_AFTER,
            escalate_after: crate::config::ESCALATE_AFTER,
            min_interval: MIN_INTERVALS,
        }
    }
}

impl Policy {
    /// The recovery ladder the `config uplink` options describe.
    pub fn of(u: &crate::config::Uplink) -> Policy {
        Policy {
            rungs: u.reset_ladder.clone(),
            first_after: u.reset_after,
            escalate_after: u.escalate_after.max(1),
            min_interval: u.min_interval,
        }
    }
}

/// What a failure leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Redial (with the backoff).
    Redial,
    /// Climb this rung now.
    Climb(Rung),
    /// This rung is due but rests for `left` more: redial meanwhile.
    Held { rung: Rung, left: Duration },
}

/// The last rung climbed, for status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Last {
    pub rung: Rung,
    pub why: String,
    pub at: Instant,
}

/// What status shows about the ladder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LadderStatus {
    /// Times each rung was used ([`Rung::ALL`] order; redial counts every
    /// redial after a failure).
    pub counts: [u32; 5],
    pub last: Option<Last>,
}

/// The ladder's state. See the module documentation.
#[derive(Debug, Clone)]
pub struct Ladder {
    policy: Policy,
    /// Index in `policy.rungs` of the next rung to climb.
    next: usize,
    /// Failures since the row began or the last rung was climbed.
    since: u32,
    last_at: [Option<Instant>; 5],
    status: LadderStatus,
}

impl Ladder {
    pub fn new(policy: Policy) -> Ladder {
        Ladder {
            policy,
            next: 0,
            since: 0,
            last_at: [None; 5],
            status: LadderStatus::default(),
        }
    }

    pub fn status(&self) -> &LadderStatus {
        &self.status
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The rung a climb would take now (the top repeats).
    pub fn due(&self) -> Option<Rung> {
        let top = self.policy.rungs.len().checked_sub(1)?;
        self.policy.rungs.get(self.next.min(top)).copied()
    }

    /// How many failures the next climb waits for in all.
    fn needed(&self) -> u32 {
        if self.next == 0 {
            self.policy.first_after
        } else {
            self.policy.escalate_after.max(1)
        }
    }

    /// One failure (`why`, for the log and status): redial, climb, or
    /// hold a rung that is resting.
    pub fn failed(&mut self, now: Instant, why: &str) -> Step {
        self.since = self.since.saturating_add(1);
        let Some(rung) = self.due() else {
            return self.redial();
        };
        if self.policy.first_after == 0 || self.since < self.needed() {
            return self.redial();
        }
        let rest = self.policy.min_interval[rung.index()];
        if let Some(t) = self.last_at[rung.index()] {
            let ready = t + rest;
            if now < ready {
                self.redial();
                return Step::Held {
                    rung,
                    left: ready - now,
                };
            }
        }
        let reason = if self.next == 0 {
            format!("{} failures in a row; last: {why}", self.since)
        } else {
            let before = self.policy.rungs[(self.next - 1).min(self.policy.rungs.len() - 1)];
            format!(
                "{before} did not help ({} failures since); last: {why}",
                self.since
            )
        };
        self.last_at[rung.index()] = Some(now);
        self.status.counts[rung.index()] += 1;
        self.status.last = Some(Last {
            rung,
            why: reason,
            at: now,
        });
        self.since = 0;
        self.next = self.next.saturating_add(1);
        Step::Climb(rung)
    }

    fn redial(&mut self) -> Step {
        self.status.counts[Rung::Redial.index()] += 1;
        Step::Redial
    }

    /// The link came up healthy: back to the bottom. The rungs' rests
    /// still run (a link that keeps breaking soon after a reset is not
    /// reset more often than the intervals allow).
    pub fn recovered(&mut self) {
        self.next = 0;
        self.since = 0;
    }

    /// The reason of the last climb.
    pub fn last_why(&self) -> Option<&str> {
        self.status.last.as_ref().map(|l| l.why.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn policy() -> Policy {
        Policy {
            rungs: vec![Rung::Cfun, Rung::UsbReset, Rung::PortPower, Rung::Gpio],
            first_after: 3,
            escalate_after: 2,
            min_interval: [secs(0), secs(60), secs(120), secs(300), secs(600)],
        }
    }

    /// Feed failures at the given seconds; the steps taken.
    fn run(l: &mut Ladder, t0: Instant, at: &[u64]) -> Vec<Step> {
        at.iter().map(|&s| l.failed(t0 + secs(s), "x")).collect()
    }

    fn climbs(v: &[Step]) -> Vec<Rung> {
        v.iter()
            .filter_map(|s| match s {
                Step::Climb(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn climbs_rung_by_rung_and_repeats_the_top() {
        let t0 = Instant::now();
        let mut l = Ladder::new(policy());
        let steps = run(&mut l, t0, &[0, 1, 2]);
        assert_eq!(steps, [Step::Redial, Step::Redial, Step::Climb(Rung::Cfun)]);
        let why = l.status().last.as_ref().unwrap().why.clone();
        assert_eq!(why, "3 failures in a row; last: x");
        // Two more failures: the next rung, with why.
        let steps = run(&mut l, t0, &[10, 11]);
        assert_eq!(steps, [Step::Redial, Step::Climb(Rung::UsbReset)]);
        assert!(l
            .last_why()
            .unwrap()
            .starts_with("cfun did not help (2 failures since)"));
        let s = run(&mut l, t0, &[20, 21, 30, 31]);
        assert_eq!(climbs(&s), [Rung::PortPower, Rung::Gpio]);
        // At the top: gpio again, once its 600 s have passed.
        let s = run(&mut l, t0, &[40, 41, 50, 60]);
        assert_eq!(
            s[1],
            Step::Held {
                rung: Rung::Gpio,
                left: secs(590)
            }
        );
        assert!(climbs(&s).is_empty());
        assert_eq!(l.failed(t0 + secs(631), "x"), Step::Climb(Rung::Gpio));
        let c = l.status().counts;
        assert_eq!(c, [9, 1, 1, 1, 2]);
    }

    #[test]
    fn a_healthy_link_sends_it_back_to_the_bottom() {
        let t0 = Instant::now();
        let mut l = Ladder::new(policy());
        run(&mut l, t0, &[0, 1, 2, 3, 4]);
        assert_eq!(l.due(), Some(Rung::PortPower));
        l.recovered();
        assert_eq!(l.due(), Some(Rung::Cfun));
        // Two failures are not three: no rung.
        assert!(climbs(&run(&mut l, t0, &[100, 101])).is_empty());
        assert_eq!(l.failed(t0 + secs(102), "x"), Step::Climb(Rung::Cfun));
    }

    /// A network that breaks every few seconds, each time right after a
    /// healthy reconnect, never gets past its first rung's interval.
    #[test]
    fn a_flapping_network_is_no_reset_storm() {
        let t0 = Instant::now();
        let mut l = Ladder::new(policy());
        let mut cfuns = 0;
        for i in 0..100u64 {
            for k in 0..3 {
                if l.failed(t0 + secs(i * 10 + k), "x") == Step::Climb(Rung::Cfun) {
                    cfuns += 1;
                }
            }
            l.recovered();
        }
        // 1000 s at most one cfun a minute.
        assert!(cfuns <= 17, "{cfuns}");
        assert_eq!(l.status().counts[Rung::UsbReset.index()], 0);
    }

    #[test]
    fn a_resting_rung_is_held_then_climbed() {
        let t0 = Instant::now();
        let mut l = Ladder::new(policy());
        run(&mut l, t0, &[0, 1, 2]);
        l.recovered();
        let s = run(&mut l, t0, &[10, 11, 12, 30]);
        assert_eq!(
            s[2],
            Step::Held {
                rung: Rung::Cfun,
                left: secs(50)
            }
        );
        assert_eq!(
            s[3],
            Step::Held {
                rung: Rung::Cfun,
                left: secs(32)
            }
        );
        assert_eq!(l.failed(t0 + secs(62), "x"), Step::Climb(Rung::Cfun));
    }

    #[test]
    fn no_rungs_or_zero_means_redial_forever() {
        let t0 = Instant::now();
        for p in [
            Policy {
                rungs: vec![],
                ..policy()
            },
            Policy {
                first_after: 0,
                ..policy()
            },
        ] {
            let mut l = Ladder::new(p);
            let s: Vec<Step> = (0..50)
                .map(|i| l.failed(t0 + secs(i * 1000), "x"))
                .collect();
            assert!(s.iter().all(|s| *s == Step::Redial));
        }
    }

    #[test]
    fn names_round_trip() {
        for r in Rung::ALL {
            assert_eq!(Rung::parse(r.name()), Some(r));
        }
        assert_eq!(Rung::parse("reboot"), None);
    }
}
