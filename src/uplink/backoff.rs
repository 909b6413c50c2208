//! Redial backoff: one policy ([`Backoff`]) and its running state
//! ([`Retry`]), owned by the uplink supervisor.
//!
//! Pure: time comes in as an [`Instant`] the caller passes and randomness
//! from a seeded [`Rng`], so a test scripts a timeline without waiting.
//!
//! The delay after the n-th consecutive failure is
//! `min(initial * multiplier^(n-1), max)`, then spread by up to
//! `jitter_percent` either way (and never above `max`), so that many routers
//! that lost the same cell do not redial in step. A link that stayed up for
//! `stable` wipes the failure count: the next failure starts again at
//! `initial`. The supervisor keeps its own count for the modem-reset
//! threshold, which a link that came up healthy ends however short it was.

use std::time::{Duration, Instant};

/// The tunables, with `Default` the values warden ships with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// No delay is ever longer than this.
    pub max: Duration,
    /// Growth factor per consecutive failure (1 = constant delay).
    pub multiplier: u32,
    /// Spread each delay by up to this many percent either way (0..=100).
    pub jitter_percent: u32,
    /// A link up at least this long resets the failure count.
    pub stable: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: crate::config::BACKOFF_INITIAL,
            max: crate::config::BACKOFF_MAX,
            multiplier: 2,
            jitter_percent: 20,
            stable: crate::config::BACKOFF_STABLE,
        }
    }
}

impl Backoff {
    /// The redial policy the `config uplink` options describe.
    pub fn of(u: &crate::config::Uplink) -> Backoff {
        Backoff {
            initial: u.backoff_initial,
            max: u.backoff_max.max(u.backoff_initial),
            stable: u.backoff_stable,
            ..Default::default()
        }
    }

    /// The delay before jitter after `failures` consecutive failures (>= 1).
    pub fn base_delay(&self, failures: u32) -> Duration {
        let mut d = self.initial.min(self.max);
        for _ in 1..failures.max(1) {
            d = d.saturating_mul(self.multiplier.max(1));
            if d >= self.max {
                return self.max;
            }
        }
        d
    }

    /// `base` spread by jitter using one random draw.
    fn jittered(&self, base: Duration, draw: u64) -> Duration {
        let pct = u64::from(self.jitter_percent.min(100));
        if pct == 0 {
            return base;
        }
        // A factor in [100 - pct, 100 + pct] percent, in 1/1000 percent steps.
        let span = 2 * pct * 1000 + 1;
        let factor = (100 - pct) * 1000 + draw % span; // in 1/100000
        let ms = base
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(base.subsec_millis()));
        // ms * factor / 100000 without a u128 (its division is 2 KB on
        // mips): the quotient's part and the remainder's, which cannot
        // overflow (factor <= 200,000)
        let out = (ms / 100_000)
            .saturating_mul(factor)
            .saturating_add(ms % 100_000 * factor / 100_000);
        Duration::from_millis(out).min(self.max)
    }
}

/// A small seeded generator (SplitMix64): enough for jitter and DNS ids,
/// not for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }
}

/// The running state: consecutive failures and when the link last came up.
#[derive(Debug, Clone)]
pub struct Retry {
    policy: Backoff,
    failures: u32,
    up_since: Option<Instant>,
    rng: Rng,
}

impl Retry {
    pub fn new(policy: Backoff, rng: Rng) -> Retry {
        Retry {
            policy,
            failures: 0,
            up_since: None,
            rng,
        }
    }

    pub fn policy(&self) -> &Backoff {
        &self.policy
    }

    /// Replace the policy (configuration reload); the count is kept.
    pub fn set_policy(&mut self, policy: Backoff) {
        self.policy = policy;
    }

    /// The link came up (ip-up and a healthy DNS check) at `now`.
    pub fn up(&mut self, now: Instant) {
        self.up_since = Some(now);
    }

    /// Whether the link has been up long enough to count as stable.
    pub fn is_stable(&self, now: Instant) -> bool {
        self.up_since
            .is_some_and(|t| now.saturating_duration_since(t) >= self.policy.stable)
    }

    /// An attempt failed or the link went down at `now`: count it and return
    /// how long to wait before the next dial.
    pub fn failed(&mut self, now: Instant) -> Duration {
        if self.is_stable(now) {
            self.failures = 0;
        }
        self.up_since = None;
        self.failures = self.failures.saturating_add(1);
        let base = self.policy.base_delay(self.failures);
        self.policy.jittered(base, self.rng.next_u64())
    }

    /// Like [`Retry::failed`], but the first failure in a row redials at
    /// once: for faults a fresh dial usually cures, such as placeholder DNS
    /// servers (the fault does not repeat after a reconnect). A repeat backs
    /// off as usual.
    pub fn failed_retry_now_once(&mut self, now: Instant) -> Duration {
        let d = self.failed(now);
        if self.failures == 1 {
            Duration::ZERO
        } else {
            d
        }
    }

    /// Consecutive failures since the last stable period or reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Forget the failures (e.g. after a modem reset or an operator's
    /// explicit reconnect).
    pub fn reset(&mut self) {
        self.failures = 0;
        self.up_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> Backoff {
        Backoff {
            jitter_percent: 0,
            ..Backoff::default()
        }
    }

    #[test]
    fn grows_geometrically_and_caps() {
        let b = no_jitter();
        let secs: Vec<u64> = (1..=10).map(|n| b.base_delay(n).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(b.base_delay(u32::MAX), b.max);
        let flat = Backoff {
            multiplier: 1,
            ..no_jitter()
        };
        assert_eq!(flat.base_delay(50), Duration::from_secs(2));
        let zero = Backoff {
            multiplier: 0,
            ..no_jitter()
        };
        assert_eq!(zero.base_delay(3), Duration::from_secs(2));
    }

    /// A scripted timeline: failures back off, a short up period does not
    /// reset, a stable one does.
    #[test]
    fn scripted_timeline() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut r = Retry::new(no_jitter(), Rng::new(1));
        assert_eq!(r.failed(at(0)), Duration::from_secs(2));
        assert_eq!(r.failed(at(2)), Duration::from_secs(4));
        assert_eq!(r.failed(at(6)), Duration::from_secs(8));
        assert_eq!(r.failures(), 3);
        // Up for 60 s only: not stable, the count goes on.
        r.up(at(14));
        assert!(!r.is_stable(at(74)));
        assert_eq!(r.failed(at(74)), Duration::from_secs(16));
        assert_eq!(r.failures(), 4);
        // Up for exactly the stable period: the next failure starts over.
        r.up(at(90));
        assert!(r.is_stable(at(390)));
        assert_eq!(r.failed(at(390)), Duration::from_secs(2));
        assert_eq!(r.failures(), 1);
        // An up that ended is forgotten: a later failure is not "stable".
        assert_eq!(r.failed(at(10_000)), Duration::from_secs(4));
        r.reset();
        assert_eq!(r.failures(), 0);
        assert_eq!(r.failed(at(10_001)), Duration::from_secs(2));
    }

    #[test]
    fn first_failure_can_redial_at_once() {
        let t0 = Instant::now();
        let mut r = Retry::new(no_jitter(), Rng::new(5));
        assert_eq!(r.failed_retry_now_once(t0), Duration::ZERO);
        assert_eq!(r.failed_retry_now_once(t0), Duration::from_secs(4));
        r.up(t0);
        let later = t0 + Duration::from_secs(400);
        assert_eq!(r.failed_retry_now_once(later), Duration::ZERO);
        assert_eq!(r.failures(), 1);
    }

    #[test]
    fn jitter_stays_in_bounds_and_varies() {
        let mut r = Retry::new(Backoff::default(), Rng::new(42));
        let mut seen = Vec::new();
        for n in 1..=40u32 {
            let d = r.failed(Instant::now());
            let base = Backoff::default().base_delay(n);
            assert!(d >= base * 8 / 10, "{n}: {d:?} < 80% of {base:?}");
            assert!(
                d <= (base * 12 / 10).min(Backoff::default().max),
                "{n}: {d:?}"
            );
            seen.push(d);
        }
        // The capped tail is not one constant value.
        seen.sort();
        seen.dedup();
        assert!(seen.len() > 20, "{seen:?}");
    }

    #[test]
    fn same_seed_same_delays() {
        let run = |seed| {
            let mut r = Retry::new(Backoff::default(), Rng::new(seed));
            (0..8).map(|_| r.failed(Instant::now())).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn extreme_policies_do_not_overflow() {
        let b = Backoff {
            initial: Duration::from_secs(u64::MAX / 2),
            max: Duration::MAX,
            multiplier: u32::MAX,
            jitter_percent: 250,
            stable: Duration::MAX,
        };
        let mut r = Retry::new(b, Rng::new(3));
        for _ in 0..5 {
            r.failed(Instant::now());
        }
        assert!(!r.is_stable(Instant::now()));
    }
}
