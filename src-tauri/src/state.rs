//! What the app holds between commands: the open project and the cancel flags of running jobs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use verdikt_core::store::Store;

use crate::error::{AppError, AppResult};
use crate::grants::{Grants, Target};

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
}

impl AppState {
    pub fn open(&self, path: &Path) -> AppResult<()> {
        let store = Store::open(path)?;
        *self.lock() = Some(store);
        Ok(())
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

    /// Registers a job under the window's id and returns its cancel flag.
    pub fn start_job(&self, id: &str) -> AppResult<Arc<AtomicBool>> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if jobs.contains_key(id) {
            return Err(AppError::new(format!("a job with id `{id}` is running")));
        }
        let flag = Arc::new(AtomicBool::new(false));
        jobs.insert(id.to_string(), flag.clone());
        Ok(flag)
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
