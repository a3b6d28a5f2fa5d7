//! Helpers for the integration tests: run the real `verdikt` binary against a fresh project file.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn datasets() -> PathBuf {
    repo().join("datasets")
}

/// A temporary folder with a project file in it.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("project.sqlite")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_verdikt"));
        c.env("VERDIKT_DB", self.db()).current_dir(self.dir.path());
        c
    }

    /// Runs verdikt with `args`; returns (success, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out: Output = self.cmd().args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    /// Runs verdikt and panics with its stderr unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args);
        assert!(ok, "verdikt {args:?} failed:\n{stderr}");
        stdout
    }

    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["stats", "--json"])).unwrap()
    }

    pub fn samples(&self) -> u64 {
        self.stats()["samples"].as_u64().unwrap()
    }

    pub fn sql<T: rusqlite::types::FromSql>(&self, query: &str) -> Vec<T> {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let mut stmt = conn.prepare(query).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

/// Runs `cmd` to its end: whether it succeeded, and its stdout then stderr as one text (what a
/// user sees in the terminal, for asserting on and for showing when an assertion fails).
pub fn outcome(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `id` of each line of an exported JSONL file.
pub fn jsonl_ids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `COMMAND SAMPLE --reviewer REVIEWER --q1 Q1 --q2 Q2 --q3 Q3` (`annotate` or `adjudicate`),
/// then `extra`.
pub fn answer_args<'a>(
    command: &'a str,
    sample: &'a str,
    reviewer: &'a str,
    [q1, q2, q3]: [&'a str; 3],
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        command,
        sample,
        "--reviewer",
        reviewer,
        "--q1",
        q1,
        "--q2",
        q2,
        "--q3",
        q3,
    ];
    args.extend_from_slice(extra);
    args
}

/// Starts verdikt with `args`, kills it with SIGKILL after `delay`; true if it finished first
/// and succeeded (then it returns as soon as the process has ended).
pub fn kill_after(p: &Project, args: &[&str], delay: Duration) -> bool {
    let mut child: Child = p
        .cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + delay;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    false
}

/// The small real model the tests run (`VERDIKT_TEST_MODEL`, or where `scripts/setup` puts it).
pub fn model() -> PathBuf {
    let path = std::env::var_os("VERDIKT_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("verdikt/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(
        path.is_file(),
        "the test model is missing at {}: run scripts/setup --deps",
        path.display()
    );
    path
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"))
}

/// The arguments of `verdikt guard run`: the test model, Llama Guard 3's profile, 2 threads.
/// SmolLM2 stands in for the guard: its vocabulary lacks Llama Guard's header tokens.
pub fn guard_run_args(extra: &[&str]) -> Vec<String> {
    let model = model();
    let mut args: Vec<String> = ["guard", "run", "--profile", "llama-guard-3-8b", "--model"]
        .map(String::from)
        .into();
    args.extend([s(&model).to_string(), "--threads".into(), "2".into()]);
    args.push("--allow-profile-mismatch".into());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// Runs `verdikt guard run` with [`guard_run_args`]; returns (success, stdout, stderr).
pub fn guard_run(p: &Project, extra: &[&str]) -> (bool, String, String) {
    let args = guard_run_args(extra);
    p.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}
