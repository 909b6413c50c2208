//! Local time, for the timestamps pam_oath's users file holds.
//!
//! The zone comes from where the router's C library finds it: the `TZ`
//! environment variable, else `/etc/TZ` (OpenWRT writes the POSIX rule of
//! its `system.timezone` there, and its musl reads it; upstream musl, which
//! warden links statically, does not), else `/etc/localtime`. A zone is a
//! POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`) or a zoneinfo file, whose
//! footer holds the rule in force now (TZif version 2 and later). Nothing
//! found means UTC. Doing this here instead of through localtime_r also
//! keeps musl's time zone code (about 7 KB on mips) out of the binary.

/// Seconds east of UTC and when daylight saving time applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    std_offset: i32,
    dst: Option<Dst>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dst {
    offset: i32,
    start: (Day, i32),
    end: (Day, i32),
}

/// A POSIX rule's day of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Jn`: 1 to 365, February 29 never counted.
    Julian1(i32),
    /// `n`: 0 to 365, February 29 counted.
    Julian0(i32),
    /// `Mm.w.d`: weekday d (0 Sunday) of week w (5 = last) of month m.
    Month(i32, i32, i32),
}

impl Zone {
    pub const UTC: Zone = Zone {
        std_offset: 0,
        dst: None,
    };

    /// The system's zone (see the module's text).
    pub fn system() -> Zone {
        let from_file = |p: &str| std::fs::read(p).ok().and_then(|b| zone_of_file(&b));
        if let Ok(tz) = std::env::var("TZ") {
            return zone_of_tz(&tz, &from_file).unwrap_or(Zone::UTC);
        }
        if let Ok(b) = std::fs::read("/etc/TZ") {
            let text = String::from_utf8_lossy(&b);
            if let Some(z) = zone_of_tz(text.trim(), &from_file) {
                return z;
            }
        }
        from_file("/etc/localtime").unwrap_or(Zone::UTC)
    }

    /// Parse a POSIX TZ rule: `std offset [dst [offset] [,start[/time],end[/time]]]`.
    pub fn parse(s: &str) -> Option<Zone> {
        let mut p = Parser(s.as_bytes());
        p.name()?;
        let std_offset = -p.offset()?;
        if p.0.is_empty() {
            return Some(Zone {
                std_offset,
                dst: None,
            });
        }
        p.name()?;
        let offset = match p.0.first() {
            Some(b',') | None => std_offset + 3600,
            Some(_) => -p.offset()?,
        };
        // Without rules, the US ones (as musl and glibc assume).
        let (start, end) = if p.0.is_empty() {
            ((Day::Month(3, 2, 0), 7200), (Day::Month(11, 1, 0), 7200))
        } else {
            p.eat(b',')?;
            let start = p.rule()?;
            p.eat(b',')?;
            (start, p.rule()?)
        };
        p.0.is_empty().then_some(Zone {
            std_offset,
            dst: Some(Dst { offset, start, end }),
        })
    }

    /// Seconds east of UTC at `t` (seconds since the epoch, UTC).
    pub fn offset_at(&self, t: i64) -> i32 {
        let Some(d) = &self.dst else {
            return self.std_offset;
        };
        let year = civil(t + i64::from(self.std_offset)).0;
        let at = |(day, time): (Day, i32), offset: i32| {
            i64::from(days_from_civil(year, 1, 1) + day_of_year(day, year)) * 86_400
                + i64::from(time - offset)
        };
        let start = at(d.start, self.std_offset);
        let end = at(d.end, d.offset);
        let in_dst = if start < end {
            start <= t && t < end
        } else {
            !(end <= t && t < start)
        };
        if in_dst {
            d.offset
        } else {
            self.std_offset
        }
    }

    /// The local civil time of `t`.
    pub fn local(&self, t: i64) -> (i32, i32, i32, i32, i32, i32) {
        civil(t + i64::from(self.offset_at(t)))
    }

    /// The instant a local civil time names (for a time that occurs twice
    /// or not at all, one near it).
    pub fn instant(&self, y: i32, mo: i32, d: i32, h: i32, mi: i32, s: i32) -> i64 {
        let wall =
            i64::from(days_from_civil(y, mo, d)) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
        let guess = wall - i64::from(self.std_offset);
        let t = wall - i64::from(self.offset_at(guess));
        wall - i64::from(self.offset_at(t))
    }
}

/// `TZ`'s value: a POSIX rule, or (with a leading `:` or when it is no
/// rule) a zoneinfo file, absolute or under /usr/share/zoneinfo.
fn zone_of_tz(tz: &str, file: &dyn Fn(&str) -> Option<Zone>) -> Option<Zone> {
    let (name, forced_file) = match tz.strip_prefix(':') {
        Some(n) => (n, true),
        None => (tz, false),
    };
    if name.is_empty() {
        return Some(Zone::UTC);
    }
    if !forced_file {
        if let Some(z) = Zone::parse(name) {
            return Some(z);
        }
    }
    if name.starts_with('/') {
        file(name)
    } else if name.split('/').any(|c| c == "..") {
        None
    } else {
        file(&format!("/usr/share/zoneinfo/{name}"))
    }
}

/// The rule in a zoneinfo file's footer (`\n<rule>\n` at its end).
pub fn zone_of_file(b: &[u8]) -> Option<Zone> {
    if b.len() < 6 || &b[..4] != b"TZif" || b[4] < b'2' {
        return None;
    }
    let body = b.strip_suffix(b"\n")?;
    let start = body.iter().rposition(|&c| c == b'\n')? + 1;
    let rule = std::str::from_utf8(&body[start..]).ok()?;
    if rule.is_empty() {
        return None;
    }
    Zone::parse(rule)
}

struct Parser<'a>(&'a [u8]);

impl Parser<'_> {
    fn eat(&mut self, c: u8) -> Option<()> {
        let (&first, rest) = self.0.split_first()?;
        (first == c).then(|| self.0 = rest)
    }

    /// `ABC` (3 or more letters) or `<+03>`.
    fn name(&mut self) -> Option<()> {
        if self.eat(b'<').is_some() {
            let end = self.0.iter().position(|&c| c == b'>')?;
            self.0 = &self.0[end + 1..];
            return (end >= 3).then_some(());
        }
        let n = self
            .0
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        self.0 = &self.0[n..];
        (n >= 3).then_some(())
    }

    fn number(&mut self) -> Option<i32> {
        let n = self.0.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 3 {
            return None;
        }
        let v = std::str::from_utf8(&self.0[..n]).ok()?.parse().ok()?;
        self.0 = &self.0[n..];
        Some(v)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds (POSIX sign: positive is west).
    fn offset(&mut self) -> Option<i32> {
        let sign = if self.eat(b'-').is_some() {
            -1
        } else {
            let _ = self.eat(b'+');
            1
        };
        let h = self.number()?;
        let mut secs = h * 3600;
        for unit in [60, 1] {
            if self.eat(b':').is_none() {
                break;
            }
            let v = self.number()?;
            if v > 59 {
                return None;
            }
            secs += v * unit;
        }
        (h <= 167).then_some(sign * secs)
    }

    /// `date[/time]`, time defaulting to 02:00.
    fn rule(&mut self) -> Option<(Day, i32)> {
        let day = if self.eat(b'J').is_some() {
            let n = self.number()?;
            (1..=365).contains(&n).then_some(Day::Julian1(n))?
        } else if self.eat(b'M').is_some() {
            let m = self.number()?;
            self.eat(b'.')?;
            let w = self.number()?;
            self.eat(b'.')?;
            let d = self.number()?;
            ((1..=12).contains(&m) && (1..=5).contains(&w) && d <= 6)
                .then_some(Day::Month(m, w, d))?
        } else {
            let n = self.number()?;
            (n <= 365).then_some(Day::Julian0(n))?
        };
        let time = if self.eat(b'/').is_some() {
            self.offset()?
        } else {
            7200
        };
        Some((day, time))
    }
}

fn is_leap(y: i32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i32, m: i32) -> i32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 0-based day of the year on which the rule's day falls in `year`.
fn day_of_year(d: Day, year: i32) -> i32 {
    match d {
        Day::Julian1(n) => n - 1 + i32::from(is_leap(year) && n >= 60),
        Day::Julian0(n) => n,
        Day::Month(m, w, wd) => {
            let first = days_from_civil(year, m, 1);
            // 1970-01-01 was a Thursday (4).
            let first_wd = (first + 4).rem_euclid(7);
            let mut day = 1 + (wd - first_wd).rem_euclid(7) + (w - 1) * 7;
            while day > days_in_month(year, m) {
                day -= 7;
            }
            first + day - 1 - days_from_civil(year, 1, 1)
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i32, m: i32, d: i32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day, hour, minute, second) of seconds since the epoch.
pub fn civil(t: i64) -> (i32, i32, i32, i32, i32, i32) {
    // Days fit an i32 for 5.8 million years either way; MIPS32 does i32
    // arithmetic in single instructions.
    let days = t.div_euclid(86_400).clamp(-2_000_000_000, 2_000_000_000) as i32;
    let secs = t.rem_euclid(86_400) as i32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i32::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn show(z: &Zone, t: i64) -> String {
        let (y, mo, d, h, mi, s) = z.local(t);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }

    /// glibc's answers for `ts`, through one date(1) for the zone (the
    /// instants on its standard input, one per line), within a deadline:
    /// under qemu-user a child forked beside other threads can hang before
    /// its exec, so a stuck one is killed and run once more.
    fn dates(tz: &str, ts: &[i64]) -> Vec<String> {
        use std::io::{Read, Write};
        use std::process::Stdio;
        use std::time::{Duration, Instant};
        let input: String = ts.iter().map(|t| format!("@{t}\n")).collect();
        for _ in 0..2 {
            let mut c = Command::new("date")
                .env("TZ", tz)
                .args(["-f", "-", "+%Y-%m-%dT%H:%M:%S"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("running date");
            let (mut stdin, mut stdout) = (c.stdin.take().unwrap(), c.stdout.take().unwrap());
            let text = input.clone();
            let w = std::thread::spawn(move || {
                let _ = stdin.write_all(text.as_bytes());
            });
            let r = std::thread::spawn(move || {
                let mut s = String::new();
                let _ = stdout.read_to_string(&mut s);
                s
            });
            let deadline = Instant::now() + Duration::from_secs(60);
            let status = loop {
                if let Some(st) = c.try_wait().unwrap() {
                    break Some(st);
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let _ = w.join();
            let out = r.join().unwrap();
            if let Some(st) = status {
                assert!(st.success(), "date for TZ={tz}: {st}");
                return out.lines().map(String::from).collect();
            }
        }
        panic!("date(1) for TZ={tz} did not answer within 60 s, twice");
    }

    /// Instants around the changes of several years, both hemispheres.
    fn instants() -> Vec<i64> {
        let mut v = vec![0, 951_782_400, 1_700_000_000, 2_147_483_647];
        for y in [2000, 2023, 2024, 2037] {
            for (m, d) in [
                (3, 8),
                (3, 12),
                (3, 26),
                (3, 31),
                (4, 2),
                (10, 1),
                (10, 29),
                (11, 5),
            ] {
                let base = i64::from(days_from_civil(y, m, d)) * 86_400;
                for h in [-1i64, 0, 1, 2, 3, 13] {
                    v.push(base + h * 3600 - 1);
                    v.push(base + h * 3600);
                }
            }
        }
        v
    }

    #[test]
    fn posix_rules_agree_with_the_c_library() {
        for tz in [
            "UTC0",
            "CET-1CEST,M3.5.0,M10.5.0/3",
            "EST5EDT,M3.2.0,M11.1.0",
            "<-03>3",
            "<+0530>-5:30",
            "AEST-10AEDT,M10.1.0,M4.1.0/3",
            "NZST-12NZDT,M9.5.0,M4.1.0/3",
            "IST-1GMT0,M10.5.0,M3.5.0/1",
            "<+0330>-3:30<+0430>,J79/24,J263/24",
            "XXX3YYY,86/2,300/2",
        ] {
            let z = Zone::parse(tz).unwrap_or_else(|| panic!("{tz} did not parse"));
            // Compare through the command once per zone: a batch of instants.
            let ts = instants();
            let want = dates(tz, &ts);
            assert_eq!(want.len(), ts.len(), "TZ={tz}: {want:?}");
            for (t, w) in ts.iter().zip(&want) {
                assert_eq!(&show(&z, *t), w, "TZ={tz} at {t}");
            }
        }
    }

    #[test]
    fn dst_without_rules_takes_the_us_ones() {
        // (glibc would take them from its posixrules file instead.)
        assert_eq!(
            Zone::parse("XST5XDT"),
            Zone::parse("XST5XDT4,M3.2.0,M11.1.0")
        );
    }

    #[test]
    fn local_times_map_back_to_their_instant() {
        let z = Zone::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        for t in instants() {
            let (y, mo, d, h, mi, s) = z.local(t);
            let back = z.instant(y, mo, d, h, mi, s);
            // The hour that repeats in autumn maps to one of its instants.
            assert!(back == t || (back - t).abs() == 3600, "{t} -> {back}");
            assert_eq!(z.local(back), z.local(t));
        }
    }

    #[test]
    fn zoneinfo_footers_and_tz_forms() {
        let file = b"TZif2\0\0\0binary data\nTZif2 more\n<+04>-4\n";
        assert_eq!(zone_of_file(file), Zone::parse("<+04>-4"));
        assert_eq!(zone_of_file(b"TZif\0\0\0\0\nCET-1\n"), None); // version 1
        assert_eq!(zone_of_file(b"not a zone\nCET-1\n"), None);
        let files = |p: &str| (p == "/usr/share/zoneinfo/Europe/Prague").then_some(Zone::UTC);
        assert_eq!(zone_of_tz("Europe/Prague", &files), Some(Zone::UTC));
        assert_eq!(zone_of_tz(":Europe/Prague", &files), Some(Zone::UTC));
        assert_eq!(zone_of_tz("../../etc/passwd", &files), None);
        assert_eq!(zone_of_tz("", &files), Some(Zone::UTC));
        assert_eq!(
            zone_of_tz("CET-1", &files),
            Some(Zone {
                std_offset: 3600,
                dst: None
            })
        );
        // The system's zoneinfo files, where present, agree with date(1).
        if let Ok(b) = std::fs::read("/usr/share/zoneinfo/Europe/Prague") {
            let z = zone_of_file(&b).unwrap();
            let ts = [1_700_000_000, 1_720_000_000];
            let want = dates("Europe/Prague", &ts);
            let got: Vec<String> = ts.iter().map(|&t| show(&z, t)).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "",
            "C",
            "CET",
            "CET-",
            "CET-1CEST,",
            "CET-1CEST,M3.5.0",
            "CET-1CEST,M13.5.0,M10.5.0",
            "CET-1CEST,M3.6.0,M10.5.0",
            "CET-1CEST,M3.5.7,M10.5.0",
            "CET-1CEST,J0,J10",
            "CET-1CEST,366,J10",
            "CET-168",
            "CET-1:60",
            "<+04-4",
            "CET-1 trailing",
        ] {
            assert_eq!(Zone::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(-1), (1969, 12, 31, 23, 59, 59));
        assert_eq!(days_from_civil(2024, 3, 1), 19_783);
        for d in (-800_000i32..800_000).step_by(997) {
            let (y, m, dd, ..) = civil(i64::from(d) * 86_400);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
