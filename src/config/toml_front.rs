//! The TOML front end: `[section]` tables of scalar or array options, turned
//! into the same [`Raw`] form the UCI reader makes, with line numbers.
//!
//! Integers and floats keep their written form, booleans become `1`/`0`
//! (UCI's spelling), arrays of scalars become lists.

use super::{Located, Raw, RawSection, RawValue};
use toml::de::{DeTable, DeValue};

/// A TOML error with the 1-based line it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlError {
    pub line: usize,
    pub msg: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn scalar(v: &DeValue<'_>) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().replace('_', "")),
        DeValue::Float(f) => Some(f.as_str().to_string()),
        DeValue::Boolean(b) => Some(if *b { "1" } else { "0" }.to_string()),
        DeValue::Datetime(d) => Some(d.to_string()),
        DeValue::Array(_) | DeValue::Table(_) => None,
    }
}

/// Parse TOML text into raw sections.
pub fn parse(text: &str) -> Result<Raw, TomlError> {
    let doc = DeTable::parse(text).map_err(|e| TomlError {
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
        msg: format!("TOML: {}", e.message().trim_end()),
    })?;
    let mut raw = Raw::default();
    for (key, value) in doc.get_ref().iter() {
        let line = line_of(text, key.span().start);
        let DeValue::Table(table) = value.get_ref() else {
            return Err(TomlError {
                line,
                msg: format!(
                    "'{}' must be a section table like [{}], not a bare value",
                    key.get_ref(),
                    key.get_ref()
                ),
            });
        };
        let mut section = RawSection {
            ty: key.get_ref().to_string(),
            name: None,
            line,
            options: Vec::new(),
        };
        for (okey, oval) in table.iter() {
            let oline = line_of(text, okey.span().start);
            let bad = || {
                TomlError {
                line: oline,
                msg: format!(
                    "section '{}', option '{}': expected a string, number, boolean or array of those",
                    section.ty,
                    okey.get_ref()
                ),
            }
            };
            let value = match oval.get_ref() {
                DeValue::Array(items) => RawValue::List(
                    items
                        .iter()
                        .map(|i| scalar(i.get_ref()).ok_or_else(bad))
                        .collect::<Result<_, _>>()?,
                ),
                other => RawValue::Str(scalar(other).ok_or_else(bad)?),
            };
            section
                .options
                .push((okey.get_ref().to_string(), Located { line: oline, value }));
        }
        // The table is a sorted map: restore the order of the file.
        section.options.sort_by_key(|(_, v)| v.line);
        raw.sections.push(section);
    }
    raw.sections.sort_by_key(|s| s.line);
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_become_sections() {
        let raw = parse("# c\n[main]\nlog_level = \"debug\"\n\n[uplink]\nenabled = true\nprobe_interval = 1_0\nfallback_dns = [\"9.9.9.9\", \"1.1.1.1\"]\n").unwrap();
        assert_eq!(raw.sections.len(), 2);
        assert_eq!(raw.sections[0].ty, "main");
        assert_eq!(raw.sections[0].line, 2);
        let up = &raw.sections[1];
        assert_eq!(up.options[0].0, "enabled");
        assert_eq!(up.options[0].1.value, RawValue::Str("1".into()));
        assert_eq!(up.options[0].1.line, 6);
        assert_eq!(up.options[1].1.value, RawValue::Str("10".into()));
        assert_eq!(
            up.options[2].1.value,
            RawValue::List(vec!["9.9.9.9".into(), "1.1.1.1".into()])
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("[main]\nlog_level = \n").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
        let e = parse("[main]\nx = 1\ny = { a = 1 }\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.msg.contains("option 'y'"));
        let e = parse("\nlog_level = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("section table"));
    }
}
