//! What pppd's exit status means for the next step (pppd(8) "EXIT STATUS").
//!
//! | code | pppd says                          | class     |
//! |------|------------------------------------|-----------|
//! | 0    | link ended normally                | transient |
//! | 1    | immediately fatal error            | transient |
//! | 2    | bad options                        | permanent |
//! | 3    | not setuid-root / not root         | permanent |
//! | 4    | no kernel PPP support              | permanent |
//! | 5    | SIGINT/SIGTERM/SIGHUP received     | stopped   |
//! | 6    | serial port lock failed            | transient |
//! | 7    | serial port open failed            | modem     |
//! | 8    | connect script failed              | modem     |
//! | 9    | pty command failed                 | permanent |
//! | 10   | PPP negotiation failed             | transient |
//! | 11   | peer failed to authenticate        | auth      |
//! | 12   | idle timeout                       | transient |
//! | 13   | connect time limit                 | transient |
//! | 14   | callback negotiated                | transient |
//! | 15   | LCP echo timeout (peer dead)       | transient |
//! | 16   | modem hangup                       | modem     |
//! | 17   | loopback detected                  | modem     |
//! | 18   | init script failed                 | modem     |
//! | 19   | we failed to authenticate          | auth      |
//!
//! Where warden differs from netifd: code 1 is retried with backoff (it is
//! usually memory or a system call, which recovers); 9 is permanent because
//! warden never uses `pty`, so it can only come from a bad `pppd_options`;
//! 7, 8, 16, 17 and 18 point at the modem or its port (vanished tty, no
//! answer to the chat, a modem echoing our own frames), so the next dial
//! re-discovers the ports and the failure counts toward a modem reset.

use std::fmt;

/// How a pppd run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by this signal (pppd itself did not exit).
    Signal(i32),
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// What to do after this exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Redial after the backoff delay.
    Transient,
    /// Re-discover the ports, redial after backoff; counts toward a modem reset.
    Modem,
    /// Authentication failed: stop and report (redialing will not help and
    /// may get the SIM barred).
    Auth,
    /// Configuration or installation problem: stop and report.
    Permanent,
    /// pppd was told to stop (by warden, normally): nothing to recover.
    Stopped,
}

/// The class and pppd's meaning of an exit.
pub fn classify(e: Exit) -> (Class, &'static str) {
    match e {
        Exit::Signal(_) => (Class::Transient, "pppd was killed"),
        Exit::Code(c) => match c {
            0 => (Class::Transient, "link ended normally"),
            1 => (Class::Transient, "fatal error in pppd"),
            2 => (Class::Permanent, "bad options"),
            3 => (Class::Permanent, "pppd is not running as root"),
            4 => (Class::Permanent, "no PPP support in the kernel"),
            5 => (Class::Stopped, "terminated by SIGINT, SIGTERM or SIGHUP"),
            6 => (Class::Transient, "could not lock the serial port"),
            7 => (Class::Modem, "could not open the serial port"),
            8 => (Class::Modem, "the connect script (chat) failed"),
            9 => (Class::Permanent, "the pty command failed"),
            10 => (Class::Transient, "PPP negotiation failed"),
            11 => (Class::Auth, "the peer failed to authenticate"),
            12 => (Class::Transient, "idle timeout"),
            13 => (Class::Transient, "connect time limit reached"),
            14 => (Class::Transient, "callback negotiated"),
            15 => (Class::Transient, "peer stopped answering LCP echo"),
            16 => (Class::Modem, "modem hung up"),
            17 => (Class::Modem, "loopback detected (modem echoing)"),
            18 => (Class::Modem, "the init script failed"),
            19 => (Class::Auth, "authentication to the peer failed"),
            _ => (Class::Transient, "unknown exit status"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let class = |c| classify(Exit::Code(c)).0;
        assert_eq!(class(2), Class::Permanent);
        assert_eq!(class(4), Class::Permanent);
        assert_eq!(class(11), Class::Auth);
        assert_eq!(class(19), Class::Auth);
        assert_eq!(class(5), Class::Stopped);
        for c in [7, 8, 16, 17, 18] {
            assert_eq!(class(c), Class::Modem, "{c}");
        }
        for c in [0, 1, 6, 10, 12, 13, 14, 15, 99, -1] {
            assert_eq!(class(c), Class::Transient, "{c}");
        }
        assert_eq!(classify(Exit::Signal(9)).0, Class::Transient);
        assert_eq!(
            classify(Exit::Code(15)).1,
            "peer stopped answering LCP echo"
        );
        assert_eq!(Exit::Code(8).to_string(), "exit 8");
    }
}
