//! Bounds on what one client can ask of the server: requests per session (a token bucket:
//! a burst, then a steady rate), and failed invite codes per client address (a few per window,
//! then `429` with `Retry-After` until the window ends). Codes are 160 random bits, so this is
//! not what keeps them secret; it keeps a scanner from filling the log and the CPU.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Requests a session may make at once before the steady rate applies.
    pub burst: f64,
    /// Requests per second a session may make in the long run.
    pub per_second: f64,
    /// Failed invite codes an address may send per `code_window`.
    pub failed_codes: u32,
    pub code_window: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            burst: 120.0,
            per_second: 20.0,
            failed_codes: 5,
            code_window: Duration::from_secs(600),
        }
    }
}

pub struct Limiter {
    limits: Limits,
    sessions: Mutex<HashMap<i64, (f64, Instant)>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// Over a limit: try again after this long.
#[derive(Debug)]
pub struct Slowed(pub Duration);

impl Limiter {
    pub fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from session `id`'s bucket.
    pub fn request(&self, id: i64) -> Result<(), Slowed> {
        let now = Instant::now();
        let mut all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, at) = all.entry(id).or_insert((self.limits.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.limits.per_second)
            .min(self.limits.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        Err(Slowed(Duration::from_secs_f64(
            (1.0 - *tokens) / self.limits.per_second,
        )))
    }

    /// Refuses an address that sent too many bad codes in the current window.
    pub fn may_try_code(&self, from: IpAddr) -> Result<(), Slowed> {
        let all = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match all.get(&from) {
            Some((n, since))
                if *n >= self.limits.failed_codes && since.elapsed() < self.limits.code_window =>
            {
                Err(Slowed(self.limits.code_window - since.elapsed()))
            }
            _ => Ok(()),
        }
    }

    pub fn code_failed(&self, from: IpAddr) {
        let mut all = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() > 10_000 {
            // Many addresses: forget those whose window has passed.
            let window = self.limits.code_window;
            all.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = all.entry(from).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.limits.code_window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let limiter = Limiter::new(Limits {
            burst: 3.0,
            per_second: 1.0,
            ..Limits::default()
        });
        for _ in 0..3 {
            limiter.request(1).unwrap();
        }
        assert!(limiter.request(1).is_err());
        assert!(
            limiter.request(2).is_ok(),
            "another session has its own bucket"
        );
    }

    #[test]
    fn bad_codes_slow_an_address_down() {
        let limiter = Limiter::new(Limits::default());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            limiter.may_try_code(ip).unwrap();
            limiter.code_failed(ip);
        }
        assert!(limiter.may_try_code(ip).is_err());
        assert!(limiter.may_try_code("10.0.0.1".parse().unwrap()).is_ok());
    }
}
