//! `warden status`: ask every running uplink how it is doing.
//!
//! An uplink is found where it keeps its sockets: the daemon's own in the
//! run directory, and one per `proto warden` interface that netifd runs in
//! `<run_dir>/<interface>/` (the proto handler's layout). Each is asked over
//! its status socket (`uplink/status_socket.rs`); one that died and left its
//! socket behind is shown as `gone`, one that accepts but does not answer in
//! time as `no-answer`, an interface directory without sockets (netifd
//! stopped it) as `not-running`; none of them stops the others from being
//! shown.
//!
//! Exit status: 0 when every uplink found answered (at least one did);
//! 3 when some answered and at least one is gone or did not answer; 1 when
//! none answered (nothing runs, or every instance found is gone); 2 for a
//! bad configuration or usage.

use super::args::{flag, opt, Cmd, Parsed};
use super::{Fail, Globals};
use crate::json::{Obj, Value};
use crate::uplink::ppp::hook::{self, Notice, SendError};
use crate::uplink::status_socket::{self, AskError};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// show every uplink's state, modem, signal and DNS health (the daemon's and
/// each netifd interface's); exit 0 all answered, 3 some gone, 1 none
#[derive(Debug)]
pub struct StatusCmd {
    /// one JSON object, {"uplinks":[...]}, instead of key: value lines
    json: bool,

    /// the daemon's run directory (default: the configuration's run_dir)
    run_dir: Option<PathBuf>,
}

/// How long one uplink may take to answer.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The file netifd's proto handler writes into each interface's directory.
const NETIFD_CONFIG: &str = "warden.conf";

impl StatusCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
        let (run_dir, own) = locate(g, self.run_dir)?;
        let report = collect(&run_dir, &own, self.json, ANSWER_TIMEOUT);
        print!("{}", report.render(self.json));
        match report.exit_code() {
            0 => Ok(()),
            code => {
                if report.answered() == 0 {
                    eprintln!("warden: {}", report.none_answered(&run_dir));
                }
                Err(Fail::Exit(code))
            }
        }
    }
}

/// Where to look for uplinks: `run_dir` as given (nothing known about the
/// daemon's own), or the configuration's.
pub(crate) fn locate(g: &Globals, run_dir: Option<PathBuf>) -> Result<(PathBuf, Own), Fail> {
    Ok(match run_dir {
        Some(d) => (d, Own::default()),
        None => {
            let cfg = g.load_config()?;
            let own = Own {
                interface: Some(cfg.uplink.interface.clone()),
                // The daemon runs the uplink for either.
                enabled: cfg.uplink.enabled || cfg.uplink.simulate,
            };
            (cfg.main.run_dir, own)
        }
    })
}

/// What the configuration says about the daemon's own uplink (nothing when
/// the run directory was named on the command line).
#[derive(Debug, Default)]
pub(crate) struct Own {
    pub interface: Option<String>,
    pub enabled: bool,
}

/// One uplink instance and what became of asking it.
#[derive(Debug)]
pub(crate) struct Instance {
    /// netifd's interface name, when known without asking.
    pub interface: Option<String>,
    pub run_dir: PathBuf,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    /// Its answer, as it gave it (text or one JSON object).
    Answer(String),
    /// Its socket is there, nobody listens on it.
    Gone(String),
    /// Something listens but gave no usable answer in time.
    NoAnswer(String),
    /// No socket: stopped, or not started yet.
    NotRunning,
}

pub(crate) struct Report {
    pub uplinks: Vec<Instance>,
    /// Why the run directory could not be listed (it does not exist: None).
    pub unreadable: Option<String>,
}

/// Find and ask every uplink under `run_dir`, for text or JSON.
pub(crate) fn collect(run_dir: &Path, own: &Own, json: bool, timeout: Duration) -> Report {
    let mut found = Vec::new();
    let has = |d: &Path, name: &str| std::fs::symlink_metadata(d.join(name)).is_ok();
    let sockets = |d: &Path| has(d, status_socket::SOCKET_NAME) || has(d, hook::SOCKET_NAME);
    if sockets(run_dir) || own.enabled {
        found.push((own.interface.clone(), run_dir.to_path_buf()));
    }
    let (entries, unreadable) = match std::fs::read_dir(run_dir) {
        Ok(d) => (Some(d), None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                " (the run directory is root's)"
            } else {
                ""
            };
            (
                None,
                Some(format!("cannot read {}: {e}{hint}", run_dir.display())),
            )
        }
    };
    let mut subdirs: Vec<(String, PathBuf)> = entries
        .into_iter()
        .flatten()
        .flatten()
        // Directories only, not links to them.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(_, d)| sockets(d) || has(d, NETIFD_CONFIG))
        .collect();
    subdirs.sort();
    found.extend(subdirs.into_iter().map(|(n, d)| (Some(n), d)));
    let uplinks = found
        .into_iter()
        .map(|(interface, run_dir)| {
            let outcome = ask(&run_dir, json, timeout);
            Instance {
                interface,
                run_dir,
                outcome,
            }
        })
        .collect();
    Report {
        uplinks,
        unreadable,
    }
}

/// Ask the uplink in `dir`, in the form wanted.
fn ask(dir: &Path, json: bool, timeout: Duration) -> Outcome {
    let status = dir.join(status_socket::SOCKET_NAME);
    let hook_sock = dir.join(hook::SOCKET_NAME);
    let hook_there = std::fs::symlink_metadata(&hook_sock).is_ok();
    let stale = match status_socket::ask(&status, json, timeout) {
        Ok(a) => return checked(a, json),
        Err(AskError::Missing(_)) => None,
        Err(e @ AskError::Gone(_)) => Some(e.to_string()),
        Err(e) => return Outcome::NoAnswer(e.to_string()),
    };
    // No status socket (a warden from before it had one, or one that is
    // starting), or a stale one: the hook socket may still answer.
    if hook_there {
        match hook::ask(&hook_sock, &Notice::Status { json }, timeout) {
            Ok(a) => return checked(a, json),
            Err(SendError::NotRunning(p)) => {
                return Outcome::Gone(stale.unwrap_or_else(|| {
                    format!(
                        "stale socket {}: nothing listens on it (the instance is gone)",
                        p.display()
                    )
                }))
            }
            Err(e) => return Outcome::NoAnswer(e.to_string()),
        }
    }
    match stale {
        Some(e) => Outcome::Gone(e),
        None => Outcome::NotRunning,
    }
}

/// An answer in the form asked for, or why it is not one.
fn checked(a: String, json: bool) -> Outcome {
    let t = a.trim();
    if let Some(e) = t.strip_prefix("error: ") {
        return Outcome::NoAnswer(format!("the uplink refused the request: {e}"));
    }
    if json && !(t.starts_with('{') && t.ends_with('}')) {
        return Outcome::NoAnswer("the answer is not a JSON object".into());
    }
    Outcome::Answer(t.to_string())
}

impl Report {
    pub fn answered(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Answer(_)))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.uplinks.iter().filter(|i| f(&i.outcome)).count()
    }

    /// 0 all answered, 3 some gone or silent, 1 none answered.
    pub fn exit_code(&self) -> i32 {
        let bad = self.count(|o| matches!(o, Outcome::Gone(_) | Outcome::NoAnswer(_)));
        match (self.answered(), bad) {
            (0, _) => 1,
            (_, 0) => 0,
            _ => 3,
        }
    }

    /// The one-line reason for exit status 1.
    pub fn none_answered(&self, run_dir: &Path) -> String {
        if let Some(e) = &self.unreadable {
            e.clone()
        } else if self.uplinks.is_empty() {
            format!(
                "no warden uplink is running in {}: neither the daemon's own \
                 nor a netifd interface's",
                run_dir.display()
            )
        } else {
            format!("no warden uplink in {} answered", run_dir.display())
        }
    }

    pub fn render(&self, json: bool) -> String {
        if json {
            let mut out = String::from("{\"uplinks\":[");
            for (n, i) in self.uplinks.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&i.json());
            }
            out.push_str("]}\n");
            out
        } else {
            let blocks: Vec<String> = self.uplinks.iter().map(Instance::text).collect();
            blocks.join("\n")
        }
    }
}

impl Instance {
    fn state(&self) -> (&'static str, Option<&str>) {
        match &self.outcome {
            Outcome::Answer(_) => ("", None),
            Outcome::Gone(e) => ("gone", Some(e)),
            Outcome::NoAnswer(e) => ("no-answer", Some(e)),
            Outcome::NotRunning => ("not-running", None),
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let answer = match &self.outcome {
            Outcome::Answer(a) => Some(a.as_str()),
            _ => None,
        };
        // An answer names its interface and run directory; an older
        // warden's does not.
        if !answer.is_some_and(|a| a.starts_with("interface: ") || a.starts_with("run_dir: ")) {
            if let Some(i) = &self.interface {
                let _ = writeln!(out, "interface: {i}");
            }
            let _ = writeln!(out, "run_dir: {}", self.run_dir.display());
        }
        match answer {
            Some(a) => {
                out.push_str(a);
                out.push('\n');
            }
            None => {
                let (state, error) = self.state();
                let _ = writeln!(out, "state: {state}");
                let _ = writeln!(out, "link: down");
                if let Some(e) = error {
                    let _ = writeln!(out, "error: {e}");
                }
            }
        }
        out
    }

    fn json(&self) -> String {
        let head = |o: Obj| {
            let o = match &self.interface {
                Some(i) => o.field("interface", i.as_str()),
                None => o,
            };
            o.field("run_dir", self.run_dir.display().to_string())
        };
        if let Outcome::Answer(a) = &self.outcome {
            if a.starts_with("{\"interface\":") || a.starts_with("{\"run_dir\":") {
                return a.clone();
            }
            // An older warden's answer: add where it was found.
            let v: Value = head(Obj::new()).into();
            let h = v.to_string();
            let fields = h.get(1..h.len().saturating_sub(1)).unwrap_or("");
            let rest = a.get(1..).unwrap_or("}");
            return if rest.trim_start().starts_with('}') {
                format!("{{{fields}}}")
            } else {
                format!("{{{fields},{rest}")
            };
        }
        let (state, error) = self.state();
        let v: Value = head(Obj::new())
            .field("state", state)
            .field("link", "down")
            .field("error", error.map(str::to_string))
            .into();
        v.to_string()
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::leaf(
    "status",
    "show every uplink's state, modem, signal and DNS health (the daemon's and each netifd \
     interface's); exit 0 all answered, 3 some gone, 1 none",
    &[
        flag(
            "json",
            "one JSON object, {\"uplinks\":[...]}, instead of key: value lines",
        ),
        opt(
            "run-dir",
            "the daemon's run directory (default: the configuration's run_dir)",
        ),
    ],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<StatusCmd, Fail> {
    let a = p.leaf();
    Ok(StatusCmd {
        json: a.flag("json"),
        run_dir: a.opt_path("run-dir"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplink::status_socket::{Shared, StatusServer};
    use crate::uplink::supervisor::Status;
    use std::os::unix::net::{UnixDatagram, UnixListener};
    use std::sync::{Arc, Mutex};

    const T: Duration = Duration::from_secs(5);

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("warden-status-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn serve(dir: &Path, iface: &str, state: &'static str) -> StatusServer {
        std::fs::create_dir_all(dir).unwrap();
        let shared: Shared = Arc::new(Mutex::new(Status {
            state,
            ..Status::default()
        }));
        StatusServer::start(
            &dir.join(status_socket::SOCKET_NAME),
            (iface.into(), dir.to_path_buf()),
            shared,
        )
        .unwrap()
    }

    /// The shipped layout: the daemon (uplink off) in the run directory,
    /// netifd's interfaces below it, one of them crashed.
    #[test]
    fn every_interface_is_shown_and_a_gone_one_fails_nothing() {
        let run = scratch("layout");
        // The daemon's own sockets, none of them an uplink's.
        drop(UnixListener::bind(run.join("factotum")).unwrap());
        std::fs::create_dir_all(run.join("sim")).unwrap();
        let _wan = serve(&run.join("wan"), "wan", "up");
        let _wwan = serve(&run.join("wwan"), "wwan", "dialing");
        // lte crashed: both its sockets stayed behind.
        let lte = run.join("lte");
        std::fs::create_dir_all(&lte).unwrap();
        std::fs::write(lte.join(NETIFD_CONFIG), "").unwrap();
        drop(UnixListener::bind(lte.join(status_socket::SOCKET_NAME)).unwrap());
        drop(UnixDatagram::bind(lte.join(hook::SOCKET_NAME)).unwrap());
        // old was stopped by netifd (ifdown): its configuration only.
        std::fs::create_dir_all(run.join("old")).unwrap();
        std::fs::write(run.join("old").join(NETIFD_CONFIG), "").unwrap();
        // A link to a directory is not followed.
        std::os::unix::fs::symlink(run.join("wan"), run.join("link")).unwrap();

        let own = Own {
            interface: Some("wan".into()),
            enabled: false,
        };
        let r = collect(&run, &own, false, T);
        let names: Vec<_> = r
            .uplinks
            .iter()
            .map(|i| i.interface.clone().unwrap())
            .collect();
        assert_eq!(names, ["lte", "old", "wan", "wwan"]);
        assert_eq!(r.answered(), 2);
        assert_eq!(r.exit_code(), 3);
        let text = r.render(false);
        let lte_block = format!(
            "interface: lte\nrun_dir: {}\nstate: gone\nlink: down\nerror: stale socket {}: \
             nothing listens on it (the instance is gone)\n",
            lte.display(),
            lte.join(status_socket::SOCKET_NAME).display()
        );
        assert!(text.starts_with(&lte_block), "{text}");
        assert!(
            text.contains(&format!(
                "\ninterface: old\nrun_dir: {}\nstate: not-running\nlink: down\n\ninterface: wan\n",
                run.join("old").display()
            )),
            "{text}"
        );
        assert!(text.contains("interface: wwan\n"), "{text}");
        assert!(text.contains("state: dialing\n"), "{text}");

        let j = collect(&run, &own, true, T).render(true);
        assert!(
            j.starts_with(&format!(
                r#"{{"uplinks":[{{"interface":"lte","run_dir":"{}","state":"gone","link":"down","error":"stale socket "#,
                lte.display()
            )),
            "{j}"
        );
        assert!(
            j.contains(&format!(
                r#"{{"interface":"old","run_dir":"{}","state":"not-running","link":"down","error":null}},{{"interface":"wan","run_dir":"{}","state":"up""#,
                run.join("old").display(),
                run.join("wan").display()
            )),
            "{j}"
        );
        assert!(j.ends_with("}]}\n"), "{j}");
        std::fs::remove_dir_all(&run).unwrap();
    }

    #[test]
    fn exit_status_says_all_some_or_none() {
        let run = scratch("exit");
        let none = Own::default();
        // Nothing at all.
        let r = collect(&run, &none, false, T);
        assert!(r.uplinks.is_empty());
        assert_eq!(r.exit_code(), 1);
        assert_eq!(r.render(false), "");
        assert_eq!(r.render(true), "{\"uplinks\":[]}\n");
        assert!(r
            .none_answered(&run)
            .contains("no warden uplink is running"));
        // The daemon's own uplink is enabled but not running.
        let own = Own {
            interface: Some("wan".into()),
            enabled: true,
        };
        let r = collect(&run, &own, false, T);
        assert_eq!(r.uplinks.len(), 1);
        assert!(matches!(r.uplinks[0].outcome, Outcome::NotRunning));
        assert_eq!(r.exit_code(), 1);
        // It runs: all answered.
        let srv = serve(&run, "wan", "scanning");
        let r = collect(&run, &none, false, T);
        assert_eq!(r.exit_code(), 0);
        assert!(r.render(false).starts_with("interface: wan\n"));
        drop(srv);
        // Only a gone one: none answered.
        drop(UnixListener::bind(run.join(status_socket::SOCKET_NAME)).unwrap());
        let r = collect(&run, &none, false, T);
        assert!(matches!(r.uplinks[0].outcome, Outcome::Gone(_)));
        assert_eq!(r.exit_code(), 1);
        assert!(r.none_answered(&run).contains("answered"));
        // A run directory that cannot be listed says so.
        let file = run.join("file");
        std::fs::write(&file, "").unwrap();
        let r = collect(&file, &none, false, T);
        assert_eq!(r.exit_code(), 1);
        assert!(
            r.none_answered(&file)
                .starts_with(&format!("cannot read {}: ", file.display())),
            "{}",
            r.none_answered(&file)
        );
        std::fs::remove_dir_all(&run).unwrap();
    }

    /// A warden from before the status socket answers over its hook
    /// socket; its answer gets the interface and run directory added.
    #[test]
    fn an_older_warden_answers_over_the_hook_socket() {
        let run = scratch("legacy");
        let dir = run.join("wan");
        std::fs::create_dir_all(&dir).unwrap();
        let l = hook::Listener::bind(&dir.join(hook::SOCKET_NAME)).unwrap();
        let answerer = std::thread::spawn(move || {
            let mut answered = 0;
            let end = std::time::Instant::now() + T;
            while answered < 2 && std::time::Instant::now() < end {
                let _ = crate::sys::poll::wait(l.fd(), libc::POLLIN, Some(T));
                while let Ok(Some((Ok(Notice::Status { json }), from))) = l.recv_from() {
                    let body: &[u8] = if json {
                        br#"{"state":"up"}"#
                    } else {
                        b"state: up\n"
                    };
                    l.reply(&from, body).unwrap();
                    answered += 1;
                }
            }
        });
        let r = collect(&run, &Own::default(), false, T);
        assert_eq!(
            r.render(false),
            format!("interface: wan\nrun_dir: {}\nstate: up\n", dir.display())
        );
        let r = collect(&run, &Own::default(), true, T);
        assert_eq!(
            r.render(true),
            format!(
                "{{\"uplinks\":[{{\"interface\":\"wan\",\"run_dir\":\"{}\",\"state\":\"up\"}}]}}\n",
                dir.display()
            )
        );
        answerer.join().unwrap();
        std::fs::remove_dir_all(&run).unwrap();
    }

    #[test]
    fn answers_that_are_not_answers() {
        assert!(matches!(
            checked("error: bad notice".into(), false),
            Outcome::NoAnswer(_)
        ));
        assert!(matches!(
            checked("state: up".into(), true),
            Outcome::NoAnswer(_)
        ));
        assert!(matches!(checked("{}\n".into(), true), Outcome::Answer(_)));
        let i = Instance {
            interface: None,
            run_dir: "/r".into(),
            outcome: Outcome::Answer("{}".into()),
        };
        assert_eq!(i.json(), r#"{"run_dir":"/r"}"#);
    }
}
