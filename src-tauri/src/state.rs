//! What the app holds between commands: the open project, the cancel flags of running jobs,
//! and the review server while the project is shared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use verdikt_core::store::Store;

use crate::error::{AppError, AppResult};
use crate::grants::{Grants, Target};
use crate::share::Sharing;

/// How long a write from the window waits for another writer before it reports "busy".
const WINDOW_WRITE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

#[derive(Default)]
pub struct AppState {
    /// The open project. Short reads and writes go through it; long jobs open their own
    /// connection on a worker thread so the window never waits for them.
    project: Mutex<Option<Store>>,
    jobs: Mutex<HashMap<String, Arc<AtomicBool>>>,
    /// `--open-sample ID` from the command line, handed to the window once.
    pub open_sample: Mutex<Option<String>>,
    /// Why the start-up project could not be opened, shown once on the Start screen.
    pub startup_error: Mutex<Option<String>>,
    /// What the user chose outside the web view; checked for every path and URL it sends.
    grants: Mutex<Grants>,
    /// The review served to browsers (`share.rs`), while it is.
    sharing: Mutex<Option<Sharing>>,
}

impl AppState {
    pub fn open(&self, path: &Path) -> AppResult<()> {
        let store = Store::open(path)?;
        // The window's own writes (an answer, a reviewer) wait briefly for another writer and
        // then report "busy", so the window can say so and retry instead of freezing.
        store.conn().busy_timeout(WINDOW_WRITE_WAIT)?;
        // Sharing serves the open project: another one ends it (dropping stops the server).
        if self.project_path().as_deref() != Some(store.path()) {
            let stopped = self.sharing().take();
            drop(stopped);
        }
        *self.lock() = Some(store);
        Ok(())
    }

    pub fn sharing(&self) -> MutexGuard<'_, Option<Sharing>> {
        self.sharing.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn grants(&self) -> MutexGuard<'_, Grants> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A target the window names, checked (see `Grants::target`).
    pub fn target(&self, path: &str) -> AppResult<Target> {
        self.grants().target(path, self.project_path().as_deref())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Store>> {
        self.project.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the open project.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> AppResult<T>) -> AppResult<T> {
        match self.lock().as_mut() {
            Some(store) => f(store),
            None => Err(AppError::new("no project is open")),
        }
    }

    pub fn project_path(&self) -> Option<PathBuf> {
        self.lock().as_ref().map(|s| s.path().to_path_buf())
    }

    /// Registers a job under the window's id and returns its cancel flag. A second job of an
    /// exclusive kind (two guard runs or imports writing the same project) is refused.
    pub fn start_job(&self, id: &str) -> AppResult<Arc<AtomicBool>> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if jobs.contains_key(id) {
            return Err(AppError::new(format!("a job with id `{id}` is running")));
        }
        let kind = job_kind(id);
        if let Some(what) = exclusive_job_name(kind)
            && jobs.keys().any(|running| job_kind(running) == kind)
        {
            return Err(AppError::new(format!(
                "{what} is already running; wait for it to finish or cancel it in the job list"
            )));
        }
        let flag = Arc::new(AtomicBool::new(false));
        jobs.insert(id.to_string(), flag.clone());
        Ok(flag)
    }

    /// What runs now, in words (for the question asked when the window closes), sharing with
    /// reviewers included.
    pub fn running_jobs(&self) -> Vec<&'static str> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&'static str> = jobs.keys().map(|id| job_name(job_kind(id))).collect();
        // Reviewers working from their browsers are cut off as the window closes.
        if self.sharing().is_some() {
            names.push("sharing with reviewers");
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn end_job(&self, id: &str) {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Asks a job to stop; false when no such job runs (it may have just finished).
    pub fn cancel_job(&self, id: &str) -> bool {
        match self.jobs.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

/// A job id is `<kind>-<unique part>` (the window's `jobId(kind)`).
fn job_kind(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// Kinds of job that write much of the project: only one of each runs at a time.
fn exclusive_job_name(kind: &str) -> Option<&'static str> {
    match kind {
        "guard" => Some("a guard run"),
        "import" => Some("an import"),
        "triage" => Some("triage"),
        "download" => Some("a model download"),
        _ => None,
    }
}

fn job_name(kind: &str) -> &'static str {
    exclusive_job_name(kind).unwrap_or(match kind {
        "export" => "an export",
        "split" => "a split",
        "audit" => "an audit sample draw",
        "pack" => "a review pack",
        _ => "a job",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_guard_run_is_refused_while_one_runs_but_other_kinds_start() {
        let state = AppState::default();
        state.start_job("guard-1-1").unwrap();
        let refused = state.start_job("guard-2-2").unwrap_err();
        assert!(
            refused.message.contains("a guard run is already running"),
            "{}",
            refused.message
        );
        state.start_job("import-3-3").unwrap();
        state.start_job("export-4-4").unwrap();
        state.start_job("export-5-5").unwrap();
        assert_eq!(
            state.running_jobs(),
            ["a guard run", "an export", "an import"]
        );
        state.end_job("guard-1-1");
        state.start_job("guard-6-6").unwrap();
    }
}
