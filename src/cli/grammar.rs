//! The typed values of the command line that are more than a string, a
//! path or a number (those are [`super::args::Level`]'s getters).

/// A duration on the command line: the configuration's syntax (`500ms`,
/// `2s`, `10m`, `24h`, `7d`, `1y`; [`crate::config::model::parse_duration`])
/// with the unit always written. A bare number is refused rather than
/// read as seconds, as the configuration does: some flags once took
/// milliseconds, and `--timeout 2000` must not quietly become half an
/// hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub std::time::Duration);

impl Dur {
    pub fn parse(s: &str) -> Result<Dur, String> {
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{s}' needs a unit: 500ms, 2s, 10m, 24h, 7d or 1y"));
        }
        crate::config::model::parse_duration(s)
            .map(Dur)
            .ok_or_else(|| format!("bad duration '{s}': expected e.g. 500ms, 2s, 10m, 24h, 7d, 1y"))
    }
}
