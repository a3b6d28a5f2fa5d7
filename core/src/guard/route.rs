//! Checks spread over several guard servers. All checks of one triple go to one server,
//! chosen by rendezvous hashing on the triple, so the server's prompt cache computes the
//! triple's prompt once per role; an idle server takes whole triples that have not started
//! from the busiest queue. A server whose checks keep failing is taken out (circuit breaker)
//! and its unfinished work moves to the next server in the triple's ranking: a check that got
//! an answer is never sent again, one that did not is never dropped.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use serde::Serialize;

use super::retry::GaveUp;

/// Checks in a row a server fails (each after its retries) before it is taken out.
pub const BREAKER_FAILURES: u32 = 3;

/// What became of one check of a wave.
#[derive(Clone, Debug, PartialEq)]
pub enum Checked<T> {
    Done(T),
    /// Failed for good: stored as an `error` verdict with this reason.
    Failed(String),
    /// Not sent: cancelled, or every server was taken out.
    NotRun,
}

/// One server's share of a run so far.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerStatus {
    pub url: String,
    pub done: u64,
    pub texts_per_second: f64,
    /// Taken out by the circuit breaker, with the last reason.
    pub out: Option<String>,
}

struct State {
    out: bool,
    failures_in_a_row: u32,
    done: u64,
    last_error: Option<String>,
}

/// The servers of a run, their breakers and counts; lives as long as the run's engine.
pub struct Servers {
    names: Vec<String>,
    concurrency: Vec<usize>,
    state: Mutex<Vec<State>>,
    started: Instant,
}

/// Work for one server: the rest of one triple's checks, in order.
struct Item {
    key: u64,
    checks: VecDeque<usize>,
    /// Servers that gave up on it: it is not offered to them again.
    tried: Vec<usize>,
}

struct Queues {
    per_server: Vec<VecDeque<Item>>,
    /// Items being worked on: they may come back to a queue if their server fails.
    in_flight: usize,
}

fn score(name: &str, key: u64) -> u64 {
    // SipHash with fixed keys: the same triple ranks the servers alike on every wave and run.
    let mut h = std::hash::DefaultHasher::new();
    (name, key).hash(&mut h);
    h.finish()
}

impl Servers {
    pub fn new(servers: impl IntoIterator<Item = (String, usize)>) -> Servers {
        let (names, concurrency): (Vec<String>, Vec<usize>) = servers
            .into_iter()
            .map(|(name, c)| (name, c.max(1)))
            .unzip();
        Servers {
            state: Mutex::new(
                names
                    .iter()
                    .map(|_| State {
                        out: false,
                        failures_in_a_row: 0,
                        done: 0,
                        last_error: None,
                    })
                    .collect(),
            ),
            names,
            concurrency,
            started: Instant::now(),
        }
    }

    pub fn name(&self, server: usize) -> &str {
        &self.names[server]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn is_out(&self, server: usize) -> bool {
        self.state.lock().expect("server state")[server].out
    }

    /// The server a triple goes to: the highest-scoring one still in that has not given up on it.
    fn pick(&self, key: u64, tried: &[usize]) -> Option<usize> {
        let state = self.state.lock().expect("server state");
        (0..self.names.len())
            .filter(|s| !state[*s].out && !tried.contains(s))
            .max_by_key(|&s| score(&self.names[s], key))
    }

    pub fn status(&self) -> Vec<ServerStatus> {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        let state = self.state.lock().expect("server state");
        self.names
            .iter()
            .zip(state.iter())
            .map(|(url, s)| ServerStatus {
                url: url.clone(),
                done: s.done,
                texts_per_second: s.done as f64 / elapsed,
                out: s.out.then(|| s.last_error.clone().unwrap_or_default()),
            })
            .collect()
    }

    /// Why no server is left, naming each with its last failure.
    pub fn all_out_reason(&self) -> String {
        let state = self.state.lock().expect("server state");
        let each: Vec<String> = self
            .names
            .iter()
            .zip(state.iter())
            .map(|(n, s)| format!("{n}: {}", s.last_error.as_deref().unwrap_or("taken out")))
            .collect();
        each.join("; ")
    }

    /// Records a check's end on `server`; true if that took the server out.
    fn record(&self, server: usize, outcome: Result<(), &GaveUp>) -> bool {
        let mut state = self.state.lock().expect("server state");
        let s = &mut state[server];
        match outcome {
            Ok(()) => {
                s.done += 1;
                s.failures_in_a_row = 0;
                false
            }
            Err(g) if g.server_fault => {
                s.failures_in_a_row += 1;
                s.last_error = Some(g.reason.clone());
                if (g.refused || s.failures_in_a_row >= BREAKER_FAILURES) && !s.out {
                    s.out = true;
                    log::warn!(
                        "guard server {} taken out ({} failed checks in a row): {}",
                        self.names[server],
                        s.failures_in_a_row,
                        g.reason
                    );
                    return true;
                }
                false
            }
            // The request's own fault says nothing about the server.
            Err(_) => false,
        }
    }

    /// Runs the checks of a wave; `triples` lists each triple's routing key and its check
    /// indices (`0..n`), `check(server, index)` sends one. Each server gets as many workers as
    /// its concurrency.
    pub fn run_wave<T: Send>(
        &self,
        n: usize,
        triples: Vec<(u64, Vec<usize>)>,
        cancel: &AtomicBool,
        check: impl Fn(usize, usize) -> Result<T, GaveUp> + Sync,
    ) -> Vec<Checked<T>> {
        let results: Mutex<Vec<Checked<T>>> = Mutex::new((0..n).map(|_| Checked::NotRun).collect());
        let mut per_server: Vec<VecDeque<Item>> =
            (0..self.names.len()).map(|_| VecDeque::new()).collect();
        for (key, checks) in triples {
            if let Some(s) = self.pick(key, &[]) {
                per_server[s].push_back(Item {
                    key,
                    checks: checks.into(),
                    tried: Vec::new(),
                });
            }
        }
        let queues = Mutex::new(Queues {
            per_server,
            in_flight: 0,
        });
        let wake = Condvar::new();
        let set = |i: usize, c: Checked<T>| results.lock().expect("results")[i] = c;

        let worker = |server: usize| {
            loop {
                let Some(mut item) = self.next_item(server, &queues, &wake, cancel) else {
                    return;
                };
                let mut moved = false;
                while let Some(&i) = item.checks.front() {
                    if cancel.load(Ordering::Relaxed) || self.is_out(server) {
                        break;
                    }
                    match check(server, i) {
                        Ok(v) => {
                            self.record(server, Ok(()));
                            set(i, Checked::Done(v));
                            item.checks.pop_front();
                        }
                        Err(_) if cancel.load(Ordering::Relaxed) => break,
                        Err(g) => {
                            self.record(server, Err(&g));
                            if g.server_fault {
                                let mut tried = item.tried.clone();
                                tried.push(server);
                                if let Some(next) = self.pick(item.key, &tried) {
                                    // Another server takes the rest of the triple from here.
                                    let rest = Item {
                                        key: item.key,
                                        checks: std::mem::take(&mut item.checks),
                                        tried,
                                    };
                                    let mut q = queues.lock().expect("queues");
                                    q.per_server[next].push_front(rest);
                                    moved = true;
                                    break;
                                }
                                if self.is_out(server) {
                                    // No server left to take it: it stays unsent.
                                    break;
                                }
                            }
                            set(
                                i,
                                Checked::Failed(format!("{}: {}", self.names[server], g.reason)),
                            );
                            item.checks.pop_front();
                        }
                    }
                }
                // Locks are taken queues first, then server state, everywhere.
                let mut q = queues.lock().expect("queues");
                if !moved && !item.checks.is_empty() && !cancel.load(Ordering::Relaxed) {
                    // This server was taken out mid-triple: the rest goes on elsewhere.
                    item.tried.push(server);
                    if let Some(next) = self.pick(item.key, &item.tried) {
                        q.per_server[next].push_front(item);
                    }
                }
                if self.is_out(server) {
                    // Everything still queued for this server moves to each triple's next one.
                    let waiting: Vec<Item> = q.per_server[server].drain(..).collect();
                    for it in waiting {
                        if let Some(t) = self.pick(it.key, &it.tried) {
                            q.per_server[t].push_back(it);
                        }
                    }
                }
                q.in_flight -= 1;
                wake.notify_all();
            }
        };
        std::thread::scope(|scope| {
            for server in 0..self.names.len() {
                for _ in 0..self.concurrency[server] {
                    let worker = &worker;
                    scope.spawn(move || worker(server));
                }
            }
        });
        results.into_inner().expect("results")
    }

    /// The next triple for a worker of `server`: its own queue first, else a whole triple from
    /// the back of the longest other queue; None when nothing is left that could come to it.
    fn next_item(
        &self,
        server: usize,
        queues: &Mutex<Queues>,
        wake: &Condvar,
        cancel: &AtomicBool,
    ) -> Option<Item> {
        let mut q = queues.lock().expect("queues");
        loop {
            if cancel.load(Ordering::Relaxed) || self.is_out(server) {
                return None;
            }
            let own = q.per_server[server].pop_front();
            let item = own.or_else(|| {
                let busiest = (0..q.per_server.len())
                    .filter(|&t| t != server)
                    .max_by_key(|&t| q.per_server[t].len())?;
                let at = q.per_server[busiest]
                    .iter()
                    .rposition(|it| !it.tried.contains(&server))?;
                q.per_server[busiest].remove(at)
            });
            if let Some(item) = item {
                q.in_flight += 1;
                return Some(item);
            }
            if q.in_flight == 0 {
                return None;
            }
            q = wake.wait(q).expect("queues");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn fault(server_fault: bool) -> GaveUp {
        GaveUp {
            reason: "connection refused".into(),
            tries: 2,
            server_fault,
            refused: false,
        }
    }

    fn triples(n: usize) -> Vec<(u64, Vec<usize>)> {
        (0..n)
            .map(|t| (t as u64, vec![3 * t, 3 * t + 1, 3 * t + 2]))
            .collect()
    }

    #[test]
    fn a_triples_checks_go_to_one_server_and_every_server_gets_some() {
        let servers = Servers::new([("a".into(), 2), ("b".into(), 2), ("c".into(), 2)]);
        // Each triple's first choice: every server is some triple's.
        let first: Vec<usize> = (0..30).map(|t| servers.pick(t, &[]).unwrap()).collect();
        for s in 0..3 {
            assert!(
                first.contains(&s),
                "server {s} is no triple's first choice: {first:?}"
            );
        }
        let by = Mutex::new(vec![usize::MAX; 90]);
        let out = servers.run_wave(90, triples(30), &AtomicBool::new(false), |s, i| {
            // Checks take time, as on a server, so every worker gets to work.
            std::thread::sleep(std::time::Duration::from_millis(2));
            by.lock().unwrap()[i] = s;
            Ok(i)
        });
        assert!(out.iter().enumerate().all(|(i, c)| *c == Checked::Done(i)));
        let by = by.into_inner().unwrap();
        for t in by.chunks(3) {
            assert!(t[0] == t[1] && t[1] == t[2], "{t:?}");
        }
        for s in 0..3 {
            assert!(by.contains(&s), "server {s} got nothing: {by:?}");
        }
        assert_eq!(servers.status().iter().map(|s| s.done).sum::<u64>(), 90);
    }

    #[test]
    fn a_failing_server_is_taken_out_and_its_work_moves_with_nothing_lost_or_repeated() {
        let servers = Servers::new([("up".into(), 2), ("down".into(), 2)]);
        let sent_ok = Mutex::new(vec![0; 60]);
        let down_tries = AtomicUsize::new(0);
        let out = servers.run_wave(60, triples(20), &AtomicBool::new(false), |s, i| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            if s == 1 {
                down_tries.fetch_add(1, Ordering::Relaxed);
                return Err(fault(true));
            }
            sent_ok.lock().unwrap()[i] += 1;
            Ok(i)
        });
        assert!(
            out.iter().enumerate().all(|(i, c)| *c == Checked::Done(i)),
            "{out:?}"
        );
        assert!(sent_ok.into_inner().unwrap().iter().all(|&n| n == 1));
        // Taken out after the breaker's count (its workers may have had one more in flight).
        assert!(down_tries.load(Ordering::Relaxed) <= BREAKER_FAILURES as usize + 1);
        let status = servers.status();
        assert!(status[1].out.as_deref().unwrap().contains("refused"));
        assert_eq!(status[0].done, 60);
        // Later waves avoid it from the start.
        let again = servers.run_wave(3, triples(1), &AtomicBool::new(false), |s, i| {
            assert_eq!(s, 0);
            Ok(i)
        });
        assert_eq!(again.len(), 3);
    }

    #[test]
    fn a_server_that_refuses_us_is_taken_out_at_once() {
        let servers = Servers::new([("a".into(), 1), ("b".into(), 1)]);
        let refused = AtomicUsize::new(0);
        let out = servers.run_wave(30, triples(10), &AtomicBool::new(false), |s, i| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            if s == 0 {
                refused.fetch_add(1, Ordering::Relaxed);
                return Err(GaveUp {
                    reason: "HTTP 401: no key".into(),
                    tries: 1,
                    server_fault: true,
                    refused: true,
                });
            }
            Ok(i)
        });
        assert!(out.iter().all(|c| matches!(c, Checked::Done(_))));
        assert_eq!(refused.load(Ordering::Relaxed), 1);
        assert!(servers.status()[0].out.as_deref().unwrap().contains("401"));
    }

    #[test]
    fn with_no_server_left_the_rest_stays_unsent_and_request_faults_are_errors() {
        let servers = Servers::new([("only".into(), 1)]);
        let out = servers.run_wave(9, triples(3), &AtomicBool::new(false), |_, i| match i {
            0 => Ok(i),
            1 => Err(fault(false)),
            _ => Err(fault(true)),
        });
        assert_eq!(out[0], Checked::Done(0));
        assert_eq!(out[1], Checked::Failed("only: connection refused".into()));
        // Two server faults are stored as errors (nowhere else to go), the third takes it out.
        assert!(matches!(out[2], Checked::Failed(_)) && matches!(out[3], Checked::Failed(_)));
        assert!(out[4..].iter().all(|c| *c == Checked::NotRun), "{out:?}");
        assert!(
            servers
                .all_out_reason()
                .starts_with("only: connection refused")
        );
    }
}
