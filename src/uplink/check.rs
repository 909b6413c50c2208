//! The uplink section's one validation (sans-IO): every value of `config
//! uplink` that the daemon would refuse, refused when the section is read.
//!
//! The configuration model calls [`check`] as it builds the section
//! (handed to it as [`RULES`]: config sits below the uplink and imports
//! nothing from it), so
//! `warden config check`, the daemon's start and its reload (SIGHUP) all
//! refuse the same values with the same words, and the daemon never finds
//! out at run time (after the modem is set up) that an option was
//! unusable. Each rule is the function the run-time path itself uses
//! (pppd's command line in `ppp/args.rs`, the network mode and the PIN in
//! `modem/`), so the two cannot drift apart.

use super::modem::commands::Service;
use super::modem::pin::Pin;
use super::ppp::args;
use crate::config::{Refusal, Rules, Uplink};
use std::fmt;

/// The simulator is a build feature; a router build refuses it.
pub const NO_SIMULATOR: &str = "this warden was built without the simulator (cargo feature 'sim')";

fn refuse(option: &'static str, e: impl fmt::Display) -> Refusal {
    Refusal {
        option,
        msg: e.to_string(),
    }
}

/// The rules every loader of the configuration hands to
/// [`crate::config::load`] (the daemon's start and reload, the CLI's
/// commands and `config check` among them).
pub const RULES: Rules = Rules { uplink: check };

/// Every rule, in the order the options appear in `uci/warden`.
pub fn check(u: &Uplink) -> Result<(), Refusal> {
    if u.simulate && !cfg!(feature = "sim") {
        return Err(refuse("simulate", NO_SIMULATOR));
    }
    args::check_apn(&u.apn).map_err(|e| refuse("apn", e))?;
    args::check_dialnumber(&u.dialnumber).map_err(|e| refuse("dialnumber", e))?;
    if let Some(code) = u.pincode.expose_nonempty() {
        Pin::new(code).map_err(|e| refuse("pincode", e))?;
    }
    Service::parse(&u.service).map_err(|e| refuse("service", e))?;
    args::check_interface(&u.interface).map_err(|e| refuse("interface", e))?;
    args::check_text("username", &u.username).map_err(|e| refuse("username", e))?;
    args::check_text("password", u.password.expose()).map_err(|e| refuse("password", e))?;
    if let Some(m) = u.mtu {
        args::check_mtu(m).map_err(|e| refuse("mtu", e))?;
    }
    if let Some(n) = &u.pppname {
        args::check_pppname(n).map_err(|e| refuse("pppname", e))?;
    }
    if let Some(a) = u.localip {
        args::check_localip(a).map_err(|e| refuse("localip", e))?;
    }
    if let Some(p) = &u.connect {
        args::check_script("connect", p).map_err(|e| refuse("connect", e))?;
    }
    if let Some(p) = &u.disconnect {
        args::check_script("disconnect", p).map_err(|e| refuse("disconnect", e))?;
    }
    if let Some(r) = &u.reqprefix {
        args::check_reqprefix(r).map_err(|e| refuse("reqprefix", e))?;
    }
    if !(1..=28).contains(&u.quota.start_day) {
        return Err(refuse(
            "quota_start_day",
            format!(
                "{} is not a day every month has: 1 to 28",
                u.quota.start_day
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn quota_start_day_is_one_every_month_has() {
        let mut u = Uplink::default();
        for d in [0, 29, 31] {
            u.quota.start_day = d;
            let e = check(&u).unwrap_err();
            assert_eq!(e.option, "quota_start_day");
            assert!(e.msg.contains("1 to 28"), "{e}");
        }
        u.quota.start_day = 28;
        assert!(check(&u).is_ok());
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(check(&Uplink::default()), Ok(()));
    }

    type Set = Box<dyn Fn(&mut Uplink)>;

    #[test]
    fn each_rule_names_its_option() {
        let cases: Vec<(&str, Set)> = vec![
            ("service", Box::new(|u| u.service = "evdo".into())),
            ("service", Box::new(|u| u.service = "lte_only".into())),
            (
                "pincode",
                Box::new(|u| u.pincode = Secret("12a4".to_string().into())),
            ),
            ("apn", Box::new(|u| u.apn = "a;b".into())),
            ("dialnumber", Box::new(|u| u.dialnumber = "*99#;x".into())),
            (
                "interface",
                Box::new(|u| u.interface = "much-too-long-name".into()),
            ),
            ("username", Box::new(|u| u.username = "a\nb".into())),
            (
                "password",
                Box::new(|u| u.password = Secret("a\nfile /x".to_string().into())),
            ),
            ("mtu", Box::new(|u| u.mtu = Some(70_000))),
            ("pppname", Box::new(|u| u.pppname = Some("a/b".into()))),
            (
                "pppname",
                Box::new(|u| u.pppname = Some("sixteen-bytes-xx".into())),
            ),
            (
                "localip",
                Box::new(|u| u.localip = Some([0, 0, 0, 0].into())),
            ),
            (
                "connect",
                Box::new(|u| u.connect = Some("chat -f x".into())),
            ),
            (
                "disconnect",
                Box::new(|u| u.disconnect = Some("rel/x".into())),
            ),
        ];
        for (option, set) in cases {
            let mut u = Uplink::default();
            set(&mut u);
            let r = check(&u).unwrap_err();
            assert_eq!(r.option, option, "{r}");
            assert!(!r.msg.contains("file /x"), "a secret in {r}");
        }
    }

    /// The run-time paths (pppd's command line, the modem's APN and network
    /// mode) refuse with the words the configuration gives.
    #[test]
    fn the_run_time_paths_say_the_same() {
        use crate::uplink::modem::commands::cgdcont_command;
        use crate::uplink::ppp::args::{build, PppdConfig};
        let config_error = |opt: &str, v: &str| {
            crate::config::parse(
                std::path::Path::new("w"),
                &format!("config uplink\n option {opt} '{v}'\n"),
                &crate::uplink::check::RULES,
            )
            .unwrap_err()
            .to_string()
        };
        let pppd = |set: &dyn Fn(&mut Uplink)| {
            let mut u = Uplink::default();
            set(&mut u);
            let c = PppdConfig::from_config(&u, "/run/w".as_ref(), "/dev/ttyUSB0", "/w");
            build(&c).unwrap_err().0
        };
        let e = pppd(&|u| u.dialnumber = "*99#;x".into());
        assert!(config_error("dialnumber", "*99#;x").ends_with(&e), "{e}");
        let e = pppd(&|u| u.interface = "much-too-long-name".into());
        assert!(
            config_error("interface", "much-too-long-name").ends_with(&e),
            "{e}"
        );
        let e = pppd(&|u| u.mtu = Some(64));
        assert!(config_error("mtu", "64").ends_with(&e), "{e}");
        let e = pppd(&|u| u.apn = ".web".into());
        assert!(config_error("apn", ".web").ends_with(&e), "{e}");
        let e = cgdcont_command(1, ".web").unwrap_err().to_string();
        assert!(config_error("apn", ".web").ends_with(&e), "{e}");
        let e = Service::parse("evdo").unwrap_err();
        assert!(config_error("service", "evdo").ends_with(&e), "{e}");
        let e = Pin::new("12a4").err().unwrap().to_string();
        assert!(config_error("pincode", "12a4").ends_with(&e), "{e}");
    }
}
