//! Retrying a guard server's request that failed for a reason that may pass (408, 429, 5xx, a
//! cut or refused connection): exponential backoff with jitter, at least as long as the server's
//! `Retry-After` / `retry-after-ms` asks, within a bound on tries and on the total wait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long and how often a request is tried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Tries of one request, the first included.
    pub max_tries: u32,
    /// The most one request waits between its tries, all waits together.
    pub max_wait: Duration,
    /// The wait before the second try; doubled for each later one, up to `cap`.
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_tries: 5,
            max_wait: Duration::from_secs(120),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

/// Why one try failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The server or the connection may recover: try again, not before `after` if it said so.
    Transient {
        reason: String,
        after: Option<Duration>,
    },
    /// The server refused this request for what it is (a 400, an answer without choices):
    /// trying again gives the same.
    Permanent(String),
    /// The server refuses us, whatever we send (401, 403, 404: a key, a gateway or a model
    /// name wrong): no request to it can succeed.
    Refused(String),
}

/// A request that failed for good.
#[derive(Clone, Debug, PartialEq)]
pub struct GaveUp {
    pub reason: String,
    pub tries: u32,
    /// The server was at fault (transient failures to the end), not the request.
    pub server_fault: bool,
    /// The server refuses every request: take it out at once.
    pub refused: bool,
}

/// What a failed status says: worth another try (timeout, rate limit, the server's own
/// errors), a refusal of us (authentication, permission, no such endpoint or model), or a
/// refusal of this request.
pub fn status_failure(status: u16, reason: String, after: Option<Duration>) -> Failure {
    match status {
        408 | 429 | 500..=599 => Failure::Transient { reason, after },
        401 | 403 | 404 => Failure::Refused(reason),
        _ => Failure::Permanent(reason),
    }
}

/// The wait a server asks for: `retry-after-ms` (milliseconds, OpenAI and Azure), else
/// `Retry-After` in seconds. An HTTP-date `Retry-After` is not read; the backoff applies.
pub fn retry_after(header: impl Fn(&str) -> Option<String>) -> Option<Duration> {
    let secs = |v: String, scale: f64| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s / scale))
    };
    header("retry-after-ms")
        .and_then(|v| secs(v, 1000.0))
        .or_else(|| header("retry-after").and_then(|v| secs(v, 1.0)))
}

impl RetryPolicy {
    /// The backoff before try `tries + 1`: a random point in the upper half of
    /// `base · 2^(tries-1)` (capped), so clients that failed together do not return together.
    fn backoff(&self, tries: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1 << (tries - 1).min(20))
            .min(self.cap);
        exp.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }

    /// Runs `attempt` until it succeeds, fails permanently, or the tries or the wait run out.
    /// Waits are cut short (as a permanent failure) when `cancel` is set.
    pub fn run<T>(
        &self,
        cancel: &AtomicBool,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, GaveUp> {
        let mut waited = Duration::ZERO;
        let mut tries = 0;
        loop {
            tries += 1;
            let (reason, after) = match attempt() {
                Ok(v) => return Ok(v),
                Err(Failure::Permanent(reason)) => {
                    return Err(GaveUp {
                        reason,
                        tries,
                        server_fault: false,
                        refused: false,
                    });
                }
                Err(Failure::Refused(reason)) => {
                    return Err(GaveUp {
                        reason,
                        tries,
                        server_fault: true,
                        refused: true,
                    });
                }
                Err(Failure::Transient { reason, after }) => (reason, after),
            };
            let gave_up = |why: String| GaveUp {
                reason: format!("{reason} ({why})"),
                tries,
                server_fault: true,
                refused: false,
            };
            if tries >= self.max_tries {
                return Err(gave_up(format!("{tries} tries")));
            }
            let wait = self.backoff(tries).max(after.unwrap_or_default());
            if waited + wait > self.max_wait {
                return Err(gave_up(format!(
                    "{tries} tries; waiting {:.1} s more would pass the {:.0} s allowed",
                    wait.as_secs_f64(),
                    self.max_wait.as_secs_f64()
                )));
            }
            if !sleep(wait, cancel) {
                return Err(GaveUp {
                    reason: "cancelled".into(),
                    tries,
                    server_fault: false,
                    refused: false,
                });
            }
            waited += wait;
        }
    }
}

/// Sleeps in short steps; false if `cancel` was set meanwhile.
fn sleep(total: Duration, cancel: &AtomicBool) -> bool {
    let step = Duration::from_millis(50);
    let until = std::time::Instant::now() + total;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep(step.min(until - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn quick(max_tries: u32) -> RetryPolicy {
        RetryPolicy {
            max_tries,
            max_wait: Duration::from_secs(5),
            base: Duration::from_millis(10),
            cap: Duration::from_millis(40),
        }
    }

    fn transient(after: Option<Duration>) -> Failure {
        Failure::Transient {
            reason: "HTTP 503".into(),
            after,
        }
    }

    #[test]
    fn transient_failures_are_tried_again_until_one_succeeds() {
        let mut n = 0;
        let got = quick(5).run(&AtomicBool::new(false), || {
            n += 1;
            if n < 3 { Err(transient(None)) } else { Ok(n) }
        });
        assert_eq!(got, Ok(3));
    }

    #[test]
    fn a_permanent_failure_is_not_repeated() {
        let mut n = 0;
        let got: Result<(), _> = quick(5).run(&AtomicBool::new(false), || {
            n += 1;
            Err(Failure::Permanent("HTTP 400: too long".into()))
        });
        let e = got.unwrap_err();
        assert_eq!((n, e.tries, e.server_fault), (1, 1, false));
        assert_eq!(e.reason, "HTTP 400: too long");
    }

    #[test]
    fn tries_are_bounded_and_the_reason_says_so() {
        let mut n = 0;
        let e = quick(3)
            .run(&AtomicBool::new(false), || -> Result<(), _> {
                n += 1;
                Err(transient(None))
            })
            .unwrap_err();
        assert_eq!((n, e.tries, e.server_fault), (3, 3, true));
        assert!(e.reason.starts_with("HTTP 503 (3 tries"), "{}", e.reason);
    }

    #[test]
    fn the_servers_retry_after_is_honoured_within_the_total_wait() {
        let started = Instant::now();
        let mut n = 0;
        let got = quick(5).run(&AtomicBool::new(false), || {
            n += 1;
            if n == 1 {
                Err(transient(Some(Duration::from_millis(300))))
            } else {
                Ok(())
            }
        });
        assert!(got.is_ok());
        assert!(started.elapsed() >= Duration::from_millis(300));
        // A wait beyond what is allowed is not waited for.
        let started = Instant::now();
        let e = quick(5)
            .run(&AtomicBool::new(false), || -> Result<(), _> {
                Err(transient(Some(Duration::from_secs(60))))
            })
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(e.reason.contains("5 s allowed"), "{}", e.reason);
    }

    #[test]
    fn backoff_grows_with_jitter_up_to_the_cap() {
        let p = quick(10);
        for tries in 1..8 {
            let full = p.base.saturating_mul(1 << (tries - 1)).min(p.cap);
            let d = p.backoff(tries);
            assert!(d >= full / 2 && d <= full, "{tries}: {d:?} vs {full:?}");
        }
    }

    #[test]
    fn retry_after_headers_are_read_in_milliseconds_or_seconds() {
        let headers = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            retry_after(headers(&[("retry-after-ms", "250"), ("retry-after", "9")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])),
            None
        );
        let kind = |status| match status_failure(status, String::new(), None) {
            Failure::Transient { .. } => "again",
            Failure::Refused(_) => "refused",
            Failure::Permanent(_) => "request",
        };
        for (status, expected) in [
            (408, "again"),
            (429, "again"),
            (500, "again"),
            (503, "again"),
            (401, "refused"),
            (403, "refused"),
            (404, "refused"),
            (400, "request"),
            (413, "request"),
        ] {
            assert_eq!(kind(status), expected, "{status}");
        }
    }
}
