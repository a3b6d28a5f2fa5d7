//! A small HTTP proxy on 127.0.0.1 in front of a real llama-server: completions requests are
//! answered from a script (an error status with its headers, a cut connection) before they pass
//! through; everything else passes through. It counts what it saw.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the proxy does with one completions request.
#[derive(Clone, Debug)]
pub enum Act {
    /// Answers this status with these headers and a short JSON error body.
    Status(u16, Vec<(&'static str, &'static str)>),
    /// Reads the request, then closes the connection without answering.
    Cut,
}

#[derive(Default)]
pub struct Seen {
    /// Completions requests received, scripted or passed.
    pub completions: usize,
    /// Completions requests passed to the server.
    pub passed: usize,
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
        let completions = head.starts_with("POST /v1/completions");
        let act = if completions {
            seen.lock().unwrap().completions += 1;
            script.lock().unwrap().pop_front()
        } else {
            None
        };
        match act {
            Some(Act::Cut) => return,
            Some(Act::Status(code, headers)) => {
                let body = format!(r#"{{"error":{{"code":{code},"message":"scripted"}}}}"#);
                let mut reply =
                    format!("HTTP/1.1 {code} Scripted\r\nContent-Type: application/json\r\n");
                for (k, v) in headers {
                    reply.push_str(&format!("{k}: {v}\r\n"));
                }
                reply.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
                if writer.write_all(reply.as_bytes()).is_err() {
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
