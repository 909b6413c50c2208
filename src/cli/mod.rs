//! The command line: `warden <command> [options]`.
//!
//! Usage errors print a one-line reason and exit 2; a bad configuration
//! exits 2 naming `file:line`; runtime errors print the error chain once,
//! prefixed `warden:`, and exit 1. A command whose output already says what
//! went wrong exits with its own status ([`Fail::Exit`]: `status` exits 3
//! when some uplinks answered and another is gone). Each area's commands
//! live in their own file here and call into the library.

mod args;
#[cfg(feature = "auth")]
mod authsrv;
#[cfg(feature = "auth")]
mod cert;
mod config_cmd;
mod daemon_cmd;
mod dns;
#[cfg(feature = "auth")]
mod factotum;
mod grammar;
#[cfg(feature = "auth")]
mod keyfs;
mod modem;
pub(crate) mod modem_usb;
mod notify;
#[cfg(feature = "client")]
mod otp;
#[cfg(feature = "auth")]
mod output;
#[cfg(feature = "auth")]
mod prompt;
mod rpcd;
#[cfg(feature = "auth")]
mod secstore;
#[cfg(feature = "auth")]
mod signer;
mod status;
mod uplink;
#[cfg(feature = "auth")]
mod user;
#[cfg(feature = "auth")]
use crate::when;

use crate::config::{self, Config, ConfigError};
use std::error::Error;
use std::path::{Path, PathBuf};

/// The commands of the cargo feature `auth`, in a build without it:
/// none of them matches or is listed.
#[cfg(not(feature = "auth"))]
mod off {
    use super::args::Cmd;
    pub const CMD: Cmd = Cmd::OFF;
    pub const UNLOCK: Cmd = Cmd::OFF;
    pub const LOCK: Cmd = Cmd::OFF;
    pub const KEYFS: Cmd = Cmd::OFF;
    pub const FACTOTUM: Cmd = Cmd::OFF;
    pub const KEY: Cmd = Cmd::OFF;
    pub const RPC: Cmd = Cmd::OFF;
}
#[cfg(not(feature = "auth"))]
use off::{
    self as user, self as keyfs, self as cert, self as signer, self as factotum, self as authsrv,
    self as secstore,
};

/// `otp` takes oathtool's option syntax (e.g. `--totp[=MODE]`): its words
/// go to otp.rs as they are.
const OTP: args::Cmd = args::Cmd::leaf(
    "otp",
    "generate and validate OATH codes (oathtool's options; 'warden otp -h')",
    &[args::greedy(
        "args",
        "oathtool-style options, KEY and OTP (parsed by 'otp' itself)",
    )],
);

/// The global options and the commands.
const ROOT: args::Cmd = args::Cmd {
    name: "warden",
    about: "Self-healing 3G uplink and Plan 9 style key agent for OpenWRT routers.",
    args: &[
        args::flag("version", "print the version and exit"),
        args::short(
            b'c',
            args::opt(
                "config",
                "configuration file (default /etc/config/warden; a *.toml file is read as TOML)",
            ),
        ),
        args::short(
            b'v',
            args::flag("verbose", "more log output: -v for debug, -vv for trace"),
        ),
    ],
    subs: &[
        daemon_cmd::CMD,
        config_cmd::CMD,
        dns::CMD,
        notify::CMD,
        status::CMD,
        uplink::UPLINK,
        uplink::SMS,
        uplink::USSD,
        modem::CMD,
        user::CMD,
        keyfs::UNLOCK,
        keyfs::LOCK,
        keyfs::KEYFS,
        cert::CMD,
        signer::CMD,
        factotum::FACTOTUM,
        factotum::KEY,
        factotum::RPC,
        authsrv::CMD,
        rpcd::CMD,
        secstore::CMD,
        if cfg!(feature = "client") {
            OTP
        } else {
            args::Cmd::OFF
        },
    ],
};

/// How a command failed, which decides the exit status.
#[derive(Debug)]
pub enum Fail {
    /// Wrong arguments: exit 2.
    Usage(String),
    /// A bad configuration file: exit 2.
    Config(ConfigError),
    /// Anything else: exit 1.
    Runtime(Box<dyn Error + Send + Sync>),
    /// Already reported on the command's own output: exit with this status.
    Exit(i32),
}

impl<E: Error + Send + Sync + 'static> From<E> for Fail {
    fn from(e: E) -> Self {
        Fail::Runtime(Box::new(e))
    }
}

impl Fail {
    /// A runtime failure with a plain message.
    pub fn msg(m: impl Into<String>) -> Fail {
        Fail::Runtime(m.into().into())
    }
}

/// Global options every command sees.
pub struct Globals {
    pub config_path: Option<PathBuf>,
    pub verbose: u8,
}

impl Globals {
    /// The configuration file in effect.
    pub fn config_path(&self) -> &Path {
        self.config_path
            .as_deref()
            .unwrap_or(Path::new(config::DEFAULT_PATH))
    }

    /// Load the configuration. A missing default file means built-in
    /// defaults (a host that is not a router); a missing file that was named
    /// explicitly is an error.
    pub fn load_config(&self) -> Result<Config, Fail> {
        let path = self.config_path();
        if self.config_path.is_none() && !path.exists() {
            log::debug!("{} not found; using built-in defaults", path.display());
            return Ok(Config::default());
        }
        let (cfg, warnings) =
            config::load(path, &crate::uplink::check::RULES).map_err(Fail::Config)?;
        for w in warnings {
            log::warn!("{w}");
        }
        Ok(cfg)
    }

    /// The log level: -v raises what the config says.
    pub fn log_level(&self, cfg: &Config) -> log::LevelFilter {
        crate::sys::log::level_for(cfg.main.log_level, self.verbose)
    }
}

/// Parse arguments (without the program name) and run. Returns the exit
/// status.
pub fn run(args: &[&str]) -> i32 {
    // otp's words are its own (see OTP): the parse stops at `otp`.
    #[cfg(feature = "client")]
    let (args, otp_args) = match otp::is_otp_command(args) {
        Some(i) => (&args[..=i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let p = match args::parse(&ROOT, args) {
        Ok(p) => p,
        Err(args::Stop::Help(h)) => {
            println!("{}", h.trim_end());
            return 0;
        }
        Err(args::Stop::Usage(m, help)) => {
            eprintln!("warden: {m}; try '{help}'");
            return 2;
        }
    };
    let root = p.root();
    if root.flag("version") {
        println!("warden {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let g = Globals {
        config_path: root.opt_path("config"),
        verbose: root.count("verbose"),
    };
    let result = match p.sub(1) {
        "" => Err(Fail::Usage("no command given".into())),
        "daemon" => daemon_cmd::parse(&p).and_then(|c| c.run(&g)),
        "config" => config_cmd::parse(&p).and_then(|c| c.run(&g)),
        "dns" => dns::parse(&p).and_then(|c| c.run(&g)),
        "notify" => notify::parse(&p).and_then(|c| c.run(&g)),
        "status" => status::parse(&p).and_then(|c| c.run(&g)),
        "uplink" => uplink::parse_uplink(&p).and_then(|c| c.run(&g)),
        "sms" => uplink::parse_sms(&p).and_then(|c| c.run(&g)),
        "ussd" => uplink::parse_ussd(&p).and_then(|c| c.run(&g)),
        "modem" => modem::parse(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "user" => user::parse(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "unlock" => keyfs::UnlockCmd {}.run(&g),
        #[cfg(feature = "auth")]
        "lock" => keyfs::LockCmd {}.run(&g),
        #[cfg(feature = "auth")]
        "keyfs" => keyfs::parse_keyfs(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "cert" => cert::parse(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "signer" => signer::parse(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "factotum" => factotum::parse_factotum(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "key" => factotum::parse_key(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "rpc" => factotum::parse_rpc(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "authsrv" => authsrv::parse(&p).and_then(|c| c.run(&g)),
        "rpcd" => rpcd::parse_rpcd(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "auth")]
        "secstore" => secstore::parse(&p).and_then(|c| c.run(&g)),
        #[cfg(feature = "client")]
        "otp" => otp::run(otp_args),
        _ => Err(p.unknown()),
    };
    match result {
        Ok(()) => 0,
        // a usage error names the help of the subcommand it was made in
        Err(Fail::Usage(m)) => {
            eprintln!("warden: {m}; try '{}'", p.help_cmd());
            2
        }
        Err(f) => report(&f),
    }
}

/// Print a failure once, with its chain, and return its exit status.
pub fn report(f: &Fail) -> i32 {
    match f {
        Fail::Usage(m) => {
            eprintln!("warden: {m}; try 'warden help'");
            2
        }
        Fail::Config(e) => {
            eprintln!("warden: {e}");
            2
        }
        Fail::Runtime(e) => {
            let mut line = format!("warden: {e}");
            let mut src = e.source();
            while let Some(s) = src {
                line.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("{line}");
            1
        }
        Fail::Exit(code) => *code,
    }
}

/// The program's entry point.
pub fn main() -> i32 {
    // A command whose output is cut short (`warden help | head`) ends
    // quietly, as Unix tools do; the daemon ignores SIGPIPE itself.
    // SAFETY: setting a signal's disposition to the default has no
    // preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(a) => a,
        Err(bad) => {
            eprintln!(
                "warden: argument is not valid UTF-8: {}; try 'warden help'",
                bad.to_string_lossy()
            );
            return 2;
        }
    };
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}
