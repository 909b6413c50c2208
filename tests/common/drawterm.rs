//! drawterm-9front, the real Plan 9 client of tests/p9sk1.rs and
//! tests/dp9ik.rs, run headless with a deadline; and the NUL-terminated
//! strings the cpu protocol sends around authentication.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub fn read_cstr(s: &mut TcpStream) -> Result<String, String> {
    let mut v = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b) {
            Ok(1) if b[0] == 0 => return Ok(String::from_utf8_lossy(&v).into_owned()),
            Ok(1) if v.len() < 1024 => v.push(b[0]),
            Ok(_) => return Err(format!("short string {v:?}")),
            Err(e) => return Err(format!("{e} after {v:?}")),
        }
    }
}

pub fn drawterm(auth: SocketAddr, cpu: SocketAddr, user: &str, pw: &str) -> (i32, String) {
    let Some(path) = which("drawterm") else {
        panic!("drawterm is missing: install Debian's drawterm-9front (.ci/apt-packages)");
    };
    // a port nothing listens on, for -s (otherwise drawterm probes the auth
    // port as a secstore and waits)
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(path)
        .env_remove("DISPLAY")
        .env("PASS", pw)
        .args(["-G", "-O", "-e", "clear"])
        .arg("-a")
        .arg(format!("tcp!127.0.0.1!{}", auth.port()))
        .arg("-s")
        .arg(format!("tcp!127.0.0.1!{}", closed.port()))
        .arg("-h")
        .arg(format!("tcp!127.0.0.1!{}", cpu.port()))
        .args(["-u", user])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut out);
    let _ = child.stderr.take().unwrap().read_to_string(&mut out);
    (status.code().unwrap_or(-1), out)
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
