//! Configuration: one typed model ([`Config`]) with two front ends.
//!
//! - UCI (`/etc/config/warden`), the OpenWRT way, read by [`uci`];
//! - TOML, for hosts without UCI, read by [`toml_front`]: one table per
//!   section, e.g. `[uplink]`, holding the same options with the same names.
//!
//! Both front ends produce a [`Raw`] list of sections whose values remember
//! their line, and [`model`] turns that into typed structs. Every error names
//! `file:line`, the section, the option and what was expected; unknown
//! sections and options become warnings. [`show`] writes a [`Config`]
//! back as UCI.

pub mod model;
pub mod show;
#[cfg(feature = "toml")]
pub mod toml_front;
pub mod uci;
pub mod vocab;

pub use model::*;
pub use vocab::*;

use std::fmt;
use std::path::{Path, PathBuf};

/// Where warden looks for its configuration when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/config/warden";

/// A value as written, before typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    Str(String),
    List(Vec<String>),
}

/// A value with the 1-based line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub line: usize,
    pub value: T,
}

/// One `config TYPE [NAME]` section (UCI) or `[TYPE]` table (TOML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSection {
    pub ty: String,
    pub name: Option<String>,
    pub line: usize,
    pub options: Vec<(String, Located<RawValue>)>,
}

/// A parsed file, before typing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Raw {
    pub package: Option<String>,
    pub sections: Vec<RawSection>,
}

/// A configuration error: always names the file and line. Boxed, so a
/// `Result<_, ConfigError>` is one word and each of the reader's many `?`
/// moves a pointer, not the whole error (about 5 KB less code on mips).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(Box<ErrorAt>);

/// What a [`ConfigError`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAt {
    pub file: PathBuf,
    /// 0 when the error is not tied to a line (e.g. the file is unreadable).
    pub line: usize,
    pub msg: String,
}

impl ConfigError {
    pub fn new(file: &Path, line: usize, msg: String) -> ConfigError {
        ConfigError(Box::new(ErrorAt {
            file: file.to_path_buf(),
            line,
            msg,
        }))
    }
}

impl std::ops::Deref for ConfigError {
    type Target = ErrorAt;
    fn deref(&self) -> &ErrorAt {
        &self.0
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.msg)
        } else {
            write!(f, "{}: {}", self.file.display(), self.msg)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Something questionable but not fatal, e.g. an unknown option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: PathBuf,
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.msg)
    }
}

/// Which front end reads a file: TOML for `*.toml`, UCI otherwise.
pub fn is_toml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

/// Parse configuration text, refusing what `rules` refuse (every loader
/// passes `uplink::check::RULES`). `file` is used only in messages.
pub fn parse(
    file: &Path,
    text: &str,
    rules: &Rules,
) -> Result<(Config, Vec<Warning>), ConfigError> {
    let raw = if is_toml(file) {
        #[cfg(feature = "toml")]
        {
            toml_front::parse(text).map_err(|e| ConfigError::new(file, e.line, e.msg))?
        }
        #[cfg(not(feature = "toml"))]
        return Err(ConfigError::new(
            file,
            0,
            "this warden was built without TOML support (cargo feature 'toml'); use UCI".into(),
        ));
    } else {
        uci::parse(text).map_err(|e| ConfigError::new(file, e.line, e.msg))?
    };
    model::from_raw(file, &raw, rules)
}

/// Read and parse a configuration file (see [`parse`]).
pub fn load(file: &Path, rules: &Rules) -> Result<(Config, Vec<Warning>), ConfigError> {
    let text =
        std::fs::read(file).map_err(|e| ConfigError::new(file, 0, format!("cannot read: {e}")))?;
    let text = String::from_utf8(text).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        ConfigError::new(file, line, "not valid UTF-8".into())
    })?;
    parse(file, &text, rules)
}
