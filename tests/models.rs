//! `verdikt models`: the catalog listing and the downloader, run as the real binary against a
//! small HTTP/1.1 server on 127.0.0.1 (no internet needed). The server serves a generated 3 MiB
//! file, answers `Range: bytes=N-` with 206, can cut the connection once after K bytes, can
//! ignore ranges, and redirects `/redirect/model.gguf` to the file as Hugging Face does.

mod common;

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::Project;
use verdikt_core::guard::catalog::sha256_hex;

const SIZE: usize = 3 * 1024 * 1024;
/// The server stops after this many connections or this long, whichever comes first.
const MAX_REQUESTS: usize = 16;
const LIFETIME: Duration = Duration::from_secs(60);
/// Where the cut connection stops.
const CUT: usize = 1_000_000;

fn payload() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
struct Seen {
    path: String,
    range: Option<String>,
}

#[derive(Default)]
struct Behaviour {
    /// Send only this many body bytes of the next file response, then close.
    cut_once: Option<usize>,
    ignore_range: bool,
}

struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(data: Arc<Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, behaviour, stop) = (seen.clone(), behaviour.clone(), stop.clone());
            thread::spawn(move || {
                let deadline = Instant::now() + LIFETIME;
                let mut served = 0;
                while served < MAX_REQUESTS && Instant::now() < deadline {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match listener.accept() {
                        Ok((stream, _)) => {
                            served += 1;
                            let _ = serve(stream, &data, &seen, &behaviour);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        Server {
            port,
            seen,
            behaviour,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn cut_once(&self, after: usize) {
        self.behaviour.lock().unwrap().cut_once = Some(after);
    }

    fn ignore_range(&self) {
        self.behaviour.lock().unwrap().ignore_range = true;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    data: &[u8],
    seen: &Mutex<Vec<Seen>>,
    behaviour: &Mutex<Behaviour>,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_string());
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
    });

    if path == "/redirect/model.gguf" {
        let head = "HTTP/1.1 302 Found\r\nLocation: /model.gguf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return stream.write_all(head.as_bytes());
    }
    if path != "/model.gguf" {
        let head = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return stream.write_all(head.as_bytes());
    }
    let (ignore_range, cut) = {
        let mut b = behaviour.lock().unwrap();
        (b.ignore_range, b.cut_once.take())
    };
    let len = data.len();
    let start = range.filter(|_| !ignore_range).and_then(|r| {
        r.strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse::<usize>()
            .ok()
    });
    let (head, body) = match start {
        Some(n) if n >= len => (
            format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
            &data[..0],
        ),
        Some(n) => (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {n}-{}/{len}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                len - 1,
                len - n
            ),
            &data[n..],
        ),
        None => (
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            ),
            data,
        ),
    };
    stream.write_all(head.as_bytes())?;
    match cut {
        Some(k) => {
            stream.write_all(&body[..k.min(body.len())])?;
            stream.flush()?;
            stream.shutdown(Shutdown::Write)
        }
        None => {
            stream.write_all(body)?;
            stream.flush()
        }
    }
}

/// A project folder with a data folder (`VERDIKT_HOME`) whose models.toml lists `tiny-guard`.
fn setup(url: &str, sha256: &str) -> (Project, PathBuf) {
    let p = Project::new();
    let home = p.path("home");
    fs::create_dir_all(&home).unwrap();
    fs::write(
        home.join("models.toml"),
        format!(
            "[[model]]\nname = \"tiny-guard\"\nprofile = \"llama-guard-3-1b\"\nurl = \"{url}\"\nsize = {SIZE}\nsha256 = \"{sha256}\"\n"
        ),
    )
    .unwrap();
    (p, home)
}

/// Runs verdikt with `VERDIKT_HOME` set and no proxy in the way of 127.0.0.1.
fn verdikt(p: &Project, home: &Path, args: &[&str]) -> (bool, String, String) {
    let mut cmd = p.cmd();
    cmd.env("VERDIKT_HOME", home);
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn model_file(home: &Path) -> PathBuf {
    home.join("models").join("model.gguf")
}

fn part_file(home: &Path) -> PathBuf {
    home.join("models").join("tiny-guard.gguf.part")
}

fn assert_same(path: &Path, data: &[u8]) {
    let got = fs::read(path).unwrap();
    assert_eq!(got.len(), data.len(), "{}", path.display());
    assert!(
        got == data,
        "{} differs from the served file",
        path.display()
    );
}

#[test]
fn fresh_download_succeeds_and_is_not_repeated() {
    let data = Arc::new(payload());
    let server = Server::start(data.clone());
    let (p, home) = setup(&server.url("/model.gguf"), &sha256_hex(&data));

    let (ok, stdout, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(ok, "download failed:\n{stderr}");
    assert_eq!(stdout.trim(), model_file(&home).display().to_string());
    assert_same(&model_file(&home), &data);
    assert!(!part_file(&home).exists());
    assert_eq!(
        server.seen(),
        vec![Seen {
            path: "/model.gguf".into(),
            range: None
        }]
    );

    // Present and checked: no request at all.
    let (ok, stdout, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("already downloaded"), "{stderr}");
    assert_eq!(stdout.trim(), model_file(&home).display().to_string());
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn interrupted_download_resumes_with_a_range_request() {
    let data = Arc::new(payload());
    let server = Server::start(data.clone());
    let (p, home) = setup(&server.url("/model.gguf"), &sha256_hex(&data));
    server.cut_once(CUT);

    let (ok, _, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(!ok, "a cut connection must fail");
    assert!(stderr.contains("resume"), "{stderr}");
    assert!(!model_file(&home).exists());
    assert_eq!(fs::metadata(part_file(&home)).unwrap().len(), CUT as u64);

    // The listing shows the partial download.
    let (ok, stdout, stderr) = verdikt(&p, &home, &["models"]);
    assert!(ok, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("tiny-guard"))
        .unwrap();
    assert!(line.contains("partial 31%"), "{line}");

    let (ok, stdout, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(ok, "resume failed:\n{stderr}");
    assert!(stderr.contains("resumed"), "{stderr}");
    assert_eq!(stdout.trim(), model_file(&home).display().to_string());
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(
        seen[1].range.as_deref(),
        Some(format!("bytes={CUT}-").as_str())
    );
    assert_same(&model_file(&home), &data);
    assert!(!part_file(&home).exists());
}

#[test]
fn resume_through_a_redirect_keeps_the_range() {
    let data = Arc::new(payload());
    let server = Server::start(data.clone());
    let (p, home) = setup(&server.url("/redirect/model.gguf"), &sha256_hex(&data));
    server.cut_once(CUT);

    let (ok, _, _) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(!ok);
    let (ok, _, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(ok, "{stderr}");
    let seen = server.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/redirect/model.gguf",
            "/model.gguf",
            "/redirect/model.gguf",
            "/model.gguf"
        ]
    );
    assert_eq!(
        seen[3].range.as_deref(),
        Some(format!("bytes={CUT}-").as_str())
    );
    assert_same(&model_file(&home), &data);
}

#[test]
fn a_server_ignoring_the_range_means_starting_over() {
    let data = Arc::new(payload());
    let server = Server::start(data.clone());
    let (p, home) = setup(&server.url("/model.gguf"), &sha256_hex(&data));
    server.ignore_range();
    // A partial file that is not even a prefix of the real one.
    fs::create_dir_all(home.join("models")).unwrap();
    fs::write(part_file(&home), vec![0xAA; 500_000]).unwrap();

    let (ok, _, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(ok, "{stderr}");
    assert_eq!(server.seen()[0].range.as_deref(), Some("bytes=500000-"));
    assert_same(&model_file(&home), &data);
    assert!(!part_file(&home).exists());
}

#[test]
fn a_wrong_sha256_fails_naming_both_hashes_and_keeps_nothing() {
    let data = Arc::new(payload());
    let server = Server::start(data.clone());
    let wrong = sha256_hex(b"not the served file");
    let (p, home) = setup(&server.url("/model.gguf"), &wrong);

    let (ok, stdout, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(!ok, "a wrong sha256 must fail");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("sha256"), "{stderr}");
    assert!(stderr.contains(&wrong), "expected hash missing:\n{stderr}");
    assert!(
        stderr.contains(&sha256_hex(&data)),
        "actual hash missing:\n{stderr}"
    );
    assert!(!model_file(&home).exists());
    assert!(!part_file(&home).exists());
}

#[test]
fn listing_shows_the_user_entry_and_whether_it_is_downloaded() {
    let data = Arc::new(payload());
    let server = Server::start(data.clone());
    let sha = sha256_hex(&data);
    let (p, home) = setup(&server.url("/model.gguf"), &sha);

    let row = |stdout: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with("tiny-guard "))
            .unwrap_or_else(|| panic!("no tiny-guard row in:\n{stdout}"))
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let (ok, stdout, stderr) = verdikt(&p, &home, &["models"]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("NAME"), "{stdout}");
    // name, profile, size (2 words), sha256 known, downloaded, url
    assert_eq!(
        row(&stdout),
        [
            "tiny-guard",
            "llama-guard-3-1b",
            "3.0",
            "MiB",
            "known",
            "no",
            &server.url("/model.gguf")
        ]
    );
    assert!(stdout.contains("llama-guard-3-8b-q4_k_m"), "{stdout}");

    let (ok, _, stderr) = verdikt(&p, &home, &["models", "download", "tiny-guard"]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = verdikt(&p, &home, &["models", "list"]);
    assert!(ok, "{stderr}");
    assert_eq!(row(&stdout)[5], "yes");

    let (ok, stdout, stderr) = verdikt(&p, &home, &["models", "list", "--json"]);
    assert!(ok, "{stderr}");
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let tiny = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tiny-guard")
        .unwrap();
    assert_eq!(tiny["downloaded"], true);
    assert_eq!(tiny["size"], SIZE);
    assert_eq!(tiny["sha256"], sha.as_str());
    assert_eq!(tiny["path"], model_file(&home).display().to_string());
    let builtin = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "llama-guard-3-8b-q4_k_m")
        .unwrap();
    assert_eq!(builtin["downloaded"], false);
    // Listing makes no request.
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn catalog_errors_name_the_file_and_field() {
    let p = Project::new();
    let home = p.path("home");
    fs::create_dir_all(&home).unwrap();
    let user = home.join("models.toml");
    fs::write(
        &user,
        "[[model]]\nname = \"bad\"\nprofile = \"polyguard\"\nurl = \"http://127.0.0.1:9/x.gguf\"\nsha256 = \"abc\"\n",
    )
    .unwrap();
    let (ok, _, stderr) = verdikt(&p, &home, &["models"]);
    assert!(!ok);
    assert!(stderr.contains(&user.display().to_string()), "{stderr}");
    assert!(stderr.contains("field `sha256`"), "{stderr}");

    fs::remove_file(&user).unwrap();
    let (ok, _, stderr) = verdikt(&p, &home, &["models", "download", "no-such-model"]);
    assert!(!ok);
    assert!(
        stderr.contains("no model named `no-such-model`")
            && stderr.contains("llama-guard-3-8b-q4_k_m"),
        "{stderr}"
    );
}
