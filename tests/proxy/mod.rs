//! A small HTTP proxy on 127.0.0.1 in front of a real llama-server: check requests (completions
//! and chat completions) are answered from a script (an error status with its headers, a
//! recorded body, a cut connection) before they pass through; everything else passes through.
//! It counts what it saw and keeps the check requests' bodies.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the proxy does with one completions request.
#[derive(Clone, Debug)]
pub enum Act {
    /// Answers this status with these headers and a short JSON error body.
    Status(u16, Vec<(&'static str, &'static str)>),
    /// Answers this status with these headers and this body (a recorded real response).
    Reply(u16, Vec<(String, String)>, String),
    /// Reads the request, then closes the connection without answering.
    Cut,
}

#[derive(Default)]
pub struct Seen {
    /// Check requests received, scripted or passed.
    pub completions: usize,
    /// Check requests passed to the server.
    pub passed: usize,
    /// Each check request's path and JSON body, in arrival order.
    pub requests: Vec<(String, serde_json::Value)>,
}

pub struct Proxy {
    pub url: String,
    script: Arc<Mutex<VecDeque<Act>>>,
    seen: Arc<Mutex<Seen>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (s, n) = (script.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (s, n, up) = (s.clone(), n.clone(), upstream.clone());
                std::thread::spawn(move || serve(conn, &up, &s, &n));
            }
        });
        Proxy { url, script, seen }
    }

    /// The next completions requests get these, in order; later ones pass.
    pub fn script(&self, acts: impl IntoIterator<Item = Act>) {
        self.script.lock().unwrap().extend(acts);
    }

    pub fn seen(&self) -> (usize, usize) {
        let s = self.seen.lock().unwrap();
        (s.completions, s.passed)
    }

    /// The check requests so far: path and body.
    pub fn requests(&self) -> Vec<(String, serde_json::Value)> {
        self.seen.lock().unwrap().requests.clone()
    }
}

/// One HTTP/1.1 message: head lines and body (Content-Length framed, as llama-server sends).
fn read_message(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    r.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn serve(conn: TcpStream, upstream: &str, script: &Mutex<VecDeque<Act>>, seen: &Mutex<Seen>) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    while let Some((head, body)) = read_message(&mut reader) {
        let path = head.split(' ').nth(1).unwrap_or("").to_string();
        let completions =
            head.starts_with("POST ") && path.ends_with("/completions") && path.starts_with("/v1/");
        let act = if completions {
            let mut seen = seen.lock().unwrap();
            seen.completions += 1;
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            seen.requests.push((path, body));
            script.lock().unwrap().pop_front()
        } else {
            None
        };
        match act {
            Some(Act::Cut) => return,
            Some(Act::Status(code, headers)) => {
                let body = format!(r#"{{"error":{{"code":{code},"message":"scripted"}}}}"#);
                let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string()));
                if !answer(&mut writer, code, headers, &body) {
                    return;
                }
            }
            Some(Act::Reply(code, headers, body)) => {
                if !answer(&mut writer, code, headers.into_iter(), &body) {
                    return;
                }
            }
            None => {
                if completions {
                    seen.lock().unwrap().passed += 1;
                }
                let Ok(up) = TcpStream::connect(upstream) else {
                    return;
                };
                let mut up_writer = up.try_clone().unwrap();
                let mut up_reader = BufReader::new(up);
                if up_writer.write_all(head.as_bytes()).is_err()
                    || up_writer.write_all(&body).is_err()
                {
                    return;
                }
                let Some((reply_head, reply_body)) = read_message(&mut up_reader) else {
                    return;
                };
                if writer.write_all(reply_head.as_bytes()).is_err()
                    || writer.write_all(&reply_body).is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Writes one scripted answer (JSON, Content-Length framed, the given headers besides); false if
/// the client is gone.
fn answer(
    writer: &mut TcpStream,
    code: u16,
    headers: impl Iterator<Item = (String, String)>,
    body: &str,
) -> bool {
    let mut reply = format!("HTTP/1.1 {code} Scripted\r\nContent-Type: application/json\r\n");
    for (k, v) in headers {
        reply.push_str(&format!("{k}: {v}\r\n"));
    }
    reply.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    writer.write_all(reply.as_bytes()).is_ok()
}

/// OpenAI's Batch API on 127.0.0.1, answering from recorded real bodies
/// (tests/fixtures/responses, sources in SOURCES.md): the file and batch objects as recorded,
/// and an output file holding, for each uploaded request, the recorded output line with that
/// request's `custom_id` and the recorded chat completion (with logprobs) as its body. The last
/// request of the first upload is answered in the error file with the recorded 429 body instead.
pub struct BatchReplay {
    pub url: String,
    state: Arc<Mutex<BatchState>>,
}

#[derive(Default)]
pub struct BatchState {
    /// Each uploaded file's requests.
    pub uploads: Vec<Vec<serde_json::Value>>,
    pub batches_created: usize,
    pub polls: usize,
    /// While set, the batch stays `in_progress`.
    pub hold: bool,
}

impl BatchReplay {
    pub fn start(fixtures: std::path::PathBuf) -> BatchReplay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(BatchState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (state, fixtures) = (shared.clone(), fixtures.clone());
                std::thread::spawn(move || replay(conn, &fixtures, &state));
            }
        });
        BatchReplay { url, state }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, BatchState> {
        self.state.lock().unwrap()
    }
}

fn replay(conn: TcpStream, fixtures: &std::path::Path, state: &Mutex<BatchState>) {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(fixtures.join(name)).unwrap()).unwrap()
    };
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    while let Some((head, body)) = read_message(&mut reader) {
        let line = head.lines().next().unwrap_or("").to_string();
        let (code, reply) = if line.starts_with("POST /v1/files ") {
            state.lock().unwrap().uploads.push(jsonl_part(&body));
            (200, read("openai-file-create.json"))
        } else if line.starts_with("POST /v1/batches ") {
            state.lock().unwrap().batches_created += 1;
            (200, read("openai-batch-create.json"))
        } else if line.starts_with("GET /v1/batches/batch_abc123 ") {
            let mut s = state.lock().unwrap();
            s.polls += 1;
            if s.hold {
                let mut running = read("openai-batch-create.json");
                running["status"] = "in_progress".into();
                (200, running)
            } else {
                (200, read("openai-batch-retrieve-completed.json"))
            }
        } else if let Some(file) = line
            .strip_prefix("GET /v1/files/")
            .and_then(|l| l.split_once("/content "))
            .map(|(f, _)| f.to_string())
        {
            let s = state.lock().unwrap();
            let text = output_file(&s, &file, &read);
            if !answer_text(&mut writer, &text) {
                return;
            }
            continue;
        } else {
            (
                404,
                serde_json::json!({"error": {"message": "not recorded"}}),
            )
        };
        if !answer(&mut writer, code, std::iter::empty(), &reply.to_string()) {
            return;
        }
    }
}

/// The requests of the uploaded file in a `multipart/form-data` body.
fn jsonl_part(body: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(body);
    let start = text.find("filename=").expect("a file part");
    let content = &text[start..];
    let content = &content[content.find("\r\n\r\n").unwrap() + 4..];
    let content = &content[..content.rfind("\r\n--").unwrap()];
    content
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON request line"))
        .collect()
}

/// The latest upload's answers: `file-cvaTdG` (output) or `file-HOWS94` (errors).
fn output_file(s: &BatchState, file: &str, read: &dyn Fn(&str) -> serde_json::Value) -> String {
    let Some(requests) = s.uploads.last() else {
        return String::new();
    };
    let first = s.uploads.len() == 1;
    let mut out = String::new();
    for (i, request) in requests.iter().enumerate() {
        let failed = first && i + 1 == requests.len();
        let mut line = read("openai-batch-output-line.json");
        line["custom_id"] = request["custom_id"].clone();
        match (file, failed) {
            ("file-cvaTdG", false) => line["response"]["body"] = read("openai-chat-logprobs.json"),
            ("file-HOWS94", true) => {
                line["response"]["status_code"] = 429.into();
                line["response"]["body"] = read("openai-error-429.json");
            }
            _ => continue,
        }
        out.push_str(&format!("{line}\n"));
    }
    out
}

fn answer_text(writer: &mut TcpStream, text: &str) -> bool {
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    );
    writer.write_all(reply.as_bytes()).is_ok()
}
