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
use argh::FromArgs;
use std::error::Error;
use std::path::{Path, PathBuf};

/// Self-healing 3G uplink and Plan 9 style key agent for OpenWRT routers.
#[derive(FromArgs, Debug)]
#[argh(help_triggers("-h", "--help", "help"))]
pub struct Warden {
    /// print the version and exit
    #[argh(switch)]
    version: bool,

    /// configuration file (default /etc/config/warden; a *.toml file is
    /// read as TOML)
    #[argh(option, short = 'c')]
    config: Option<PathBuf>,

    /// more log output: -v for debug, -vv for trace
    #[argh(switch, short = 'v')]
    verbose: u8,

    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Daemon(daemon_cmd::DaemonCmd),
    Config(config_cmd::ConfigCmd),
    Notify(notify::NotifyCmd),
    Status(status::StatusCmd),
    Uplink(uplink::UplinkCmd),
    Sms(uplink::SmsCmd),
    Ussd(uplink::UssdCmd),
    Modem(modem::ModemCmd),
    #[cfg(feature = "auth")]
    User(user::UserCmd),
    #[cfg(feature = "auth")]
    Unlock(keyfs::UnlockCmd),
    #[cfg(feature = "auth")]
    Lock(keyfs::LockCmd),
    #[cfg(feature = "auth")]
    Keyfs(keyfs::KeyfsCmd),
    #[cfg(feature = "auth")]
    Cert(cert::CertCmd),
    #[cfg(feature = "auth")]
    Signer(signer::SignerCmd),
    #[cfg(feature = "auth")]
    Factotum(factotum::FactotumCmd),
    #[cfg(feature = "auth")]
    Key(factotum::KeyCmd),
    #[cfg(feature = "auth")]
    Rpc(factotum::RpcCmd),
    #[cfg(feature = "auth")]
    Authsrv(authsrv::AuthsrvCmd),
    Rpcd(rpcd::RpcdCmd),
    #[cfg(feature = "auth")]
    #[cfg(feature = "auth")]
    Secstore(secstore::SecstoreCmd),
    #[cfg(feature = "client")]
    #[allow(dead_code)] // otp parses its own arguments; see run()
    Otp(OtpHelp),
}

/// generate and validate OATH codes (oathtool's options; 'warden otp -h')
#[cfg(feature = "client")]
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "otp")]
struct OtpHelp {
    /// oathtool-style options, KEY and OTP (parsed by 'otp' itself)
    #[argh(positional, greedy)]
    _args: Vec<String>,
}

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
    subs: &[dns::CMD],
};

/// Run the command `args` name through [`ROOT`]'s tables.
fn run_tables(args: &[&str], otp_args: Option<&[&str]>) -> i32 {
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
    let _ = otp_args;
    let result = match p.sub(1) {
        "" => Err(Fail::Usage("no command given".into())),
        "dns" => dns::parse(&p).and_then(|c| c.run(&g)),
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
    // `otp` takes oathtool's option syntax (e.g. `--totp[=MODE]`), which
    // argh cannot express: parse the globals before it with argh, the rest
    // in otp.rs.
    #[cfg(feature = "client")]
    let (args, otp_args) = match otp::is_otp_command(args) {
        Some(i) => (&args[..=i], Some(&args[i + 1..])),
        None => (args, None),
    };
    let tables = grammar::leading_words(args)
        .first()
        .is_some_and(|w| ROOT.subs.iter().any(|c| c.name == *w));
    if tables {
        #[cfg(not(feature = "client"))]
        let otp_args = None;
        return run_tables(args, otp_args);
    }
    let normal = grammar::normalize(args);
    let args: Vec<&str> = normal.iter().map(String::as_str).collect();
    let w = match Warden::from_args(&["warden"], &args) {
        Ok(w) => w,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    println!("{}", early.output.trim_end());
                    0
                }
                Err(()) => {
                    eprintln!(
                        "warden: {}; try '{}'",
                        grammar::one_line(&early.output),
                        help_for(&args)
                    );
                    2
                }
            };
        }
    };
    if w.version {
        println!("warden {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let g = Globals {
        config_path: w.config,
        verbose: w.verbose,
    };
    let result = match w.command {
        None => Err(Fail::Usage("no command given".into())),
        Some(Command::Daemon(c)) => c.run(&g),
        Some(Command::Config(c)) => c.run(&g),
        Some(Command::Notify(c)) => c.run(&g),
        Some(Command::Status(c)) => c.run(&g),
        Some(Command::Uplink(c)) => c.run(&g),
        Some(Command::Sms(c)) => c.run(&g),
        Some(Command::Ussd(c)) => c.run(&g),
        Some(Command::Modem(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::User(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Unlock(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Lock(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Keyfs(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Cert(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Signer(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Factotum(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Key(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Rpc(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        Some(Command::Authsrv(c)) => c.run(&g),
        Some(Command::Rpcd(c)) => c.run(&g),
        #[cfg(feature = "auth")]
        #[cfg(feature = "auth")]
        Some(Command::Secstore(c)) => c.run(&g),
        #[cfg(feature = "client")]
        Some(Command::Otp(_)) => otp::run(otp_args.unwrap_or(&[])),
    };
    match result {
        Ok(()) => 0,
        // a usage error names the help of the subcommand it was made in
        Err(Fail::Usage(m)) => {
            eprintln!("warden: {m}; try '{}'", help_for(&args));
            2
        }
        Err(f) => report(&f),
    }
}

/// The help command for the subcommand `args` name (`warden user add
/// --help`), found from argh's own usage line for their leading words.
fn help_for(args: &[&str]) -> String {
    let mut words = grammar::leading_words(args);
    words.push("--help");
    let path = match Warden::from_args(&["warden"], &words) {
        Err(e) if e.status.is_ok() => grammar::usage_path(&e.output).unwrap_or_default(),
        _ => String::new(),
    };
    if path.is_empty() {
        "warden --help".into()
    } else {
        format!("warden {path} --help")
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
