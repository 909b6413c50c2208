//! Dates as the command line and listings write them, always UTC: `@EPOCH`, `EPOCH`,
//! `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]`, with an
//! optional trailing `UTC` or `Z`; and `now`.

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Parse a date (see the module doc). None when malformed.
pub fn parse(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "now" {
        return Some(now());
    }
    if let Some(n) = s.strip_prefix('@') {
        return n.parse().ok();
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let s = s
        .strip_suffix("UTC")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s)
        .trim();
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, t.trim()),
        None => (s, ""),
    };
    let num = |x: &str| -> Option<i64> {
        (!x.is_empty() && x.len() <= 4 && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse().ok())
            .flatten()
    };
    let mut dp = date.split('-');
    let (y, m, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    if !time.is_empty() {
        let mut tp = time.split(':');
        hh = num(tp.next()?)?;
        mm = num(tp.next()?)?;
        if let Some(x) = tp.next() {
            ss = num(x)?;
        }
        if tp.next().is_some() || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
    }
    let days = days_from_civil(y, m, d);
    u64::try_from(days * 86400 + hh * 3600 + mm * 60 + ss).ok()
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format(t: u64) -> String {
    let t = i64::try_from(t).unwrap_or(i64::MAX / 2);
    let (y, m, d) = civil_from_days(t.div_euclid(86400));
    let r = t.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        r / 3600,
        r / 60 % 60,
        r % 60
    )
}

/// ISO 8601 in UTC, one word: `2026-11-22T09:11:00Z` (listings and
/// JSON; [`format`] keeps oathtool's spelling for `warden otp`).
pub fn iso(t: u64) -> String {
    let s = format(t);
    let s = s.strip_suffix(" UTC").unwrap_or(&s);
    format!("{}Z", s.replacen(' ', "T", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse("@59"), Some(59));
        assert_eq!(parse("1234567890"), Some(1234567890));
        assert_eq!(parse("2009-02-13 23:31:30 UTC"), Some(1234567890));
        assert_eq!(parse("2009-02-13T23:31:30Z"), Some(1234567890));
        assert_eq!(parse("1970-01-02"), Some(86400));
        assert_eq!(parse("2024-02-29 12:00"), Some(1709208000));
        assert_eq!(parse("2024-13-01"), None);
        assert_eq!(parse("tomorrow"), None);
        assert_eq!(parse(""), None);
        assert_eq!(format(1234567890), "2009-02-13 23:31:30 UTC");
        for t in [0, 86399, 951782400, 4102444800] {
            assert_eq!(parse(&format(t)), Some(t));
        }
    }
}
