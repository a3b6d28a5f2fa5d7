//! A real llama-server on 127.0.0.1 serving the test model, for the Guards screen's server
//! runs: the binary `scripts/llama-tools` builds (the one the command line's tests use).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::webdriver::Proc;

/// `llama-server` from `scripts/llama-tools` (built on first use, then cached), or
/// `VERDIKT_LLAMA_SERVER`.
fn llama_server(repo: &Path) -> PathBuf {
    if let Some(bin) = std::env::var_os("VERDIKT_LLAMA_SERVER") {
        return PathBuf::from(bin);
    }
    let out = Command::new(repo.join("scripts/llama-tools"))
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/llama-tools runs");
    assert!(out.status.success(), "scripts/llama-tools failed");
    let dir = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(dir.lines().last().unwrap().trim()).join("llama-server")
}

pub struct Server {
    _proc: Proc,
    pub url: String,
}

/// A server of `model` that answers only requests carrying `Authorization: Bearer <key>`,
/// once it is ready. One thread and one slot: a few texts, on a machine shared with the window.
pub fn start(repo: &Path, model: &Path, key: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(llama_server(repo))
        .arg("-m")
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["-c", "4096", "-np", "1", "-t", "1", "--no-webui"])
        .args(["--api-key", key])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("llama-server starts");
    let mut proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    // /health answers without the key, so readiness says nothing about authentication.
    while !healthy(port) {
        assert!(proc.0.try_wait().unwrap().is_none(), "llama-server exited");
        assert!(Instant::now() < deadline, "llama-server never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        _proc: proc,
        url: format!("http://127.0.0.1:{port}"),
    }
}

fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut c| {
        let _ = c.write_all(b"GET /health HTTP/1.0\r\n\r\n");
        let mut reply = String::new();
        let _ = c.read_to_string(&mut reply);
        reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200")
    })
}
