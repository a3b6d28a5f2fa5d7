//! Which long runs are alive. A run holds an OS file lock (`flock`/`LockFileEx`) on a lock file
//! beside the project for as long as its process works on it; the OS releases the lock when the
//! process dies, however it dies (kill -9 included), so a run recorded as `running` whose lock
//! is free was stopped. No process ids to be reused, no clocks to compare.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file of work `name` (e.g. `guard-run-3`) on the project at `project`:
/// `.PROJECT.verdikt-NAME.lock` in the project's folder.
fn lock_path(project: &Path, name: &str) -> PathBuf {
    let file = project
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    project.with_file_name(format!(".{file}.verdikt-{name}.lock"))
}

/// Held while the work runs; dropping it releases the lock and removes the file (a shared
/// lease only when no other process shares it any more).
pub(crate) struct Lease {
    file: File,
    path: PathBuf,
    shared: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("{name} is running in another Verdikt process")]
    Busy { name: String },
    #[error("cannot take the lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Lease {
    /// Takes the lease on `name`, or says that another process holds it.
    pub fn take(project: &Path, name: &str) -> Result<Lease, LeaseError> {
        Lease::lock(project, name, false)
    }

    /// Takes a share of the lease on `name`, which any number of processes may hold at once
    /// (an open project); `held` sees it as long as one of them does.
    pub fn share(project: &Path, name: &str) -> Result<Lease, LeaseError> {
        Lease::lock(project, name, true)
    }

    fn lock(project: &Path, name: &str, shared: bool) -> Result<Lease, LeaseError> {
        let path = lock_path(project, name);
        let io = |source| LeaseError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let locked = if shared {
            shared_lock(&file)
        } else {
            file.try_lock()
        };
        match locked {
            Ok(()) => Ok(Lease { file, path, shared }),
            Err(TryLockError::WouldBlock) => Err(LeaseError::Busy {
                name: name.to_string(),
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// A shared lock, waiting out the moments another process holds the file exclusively (`held`
/// checking, a last holder leaving).
fn shared_lock(file: &File) -> Result<(), TryLockError> {
    for _ in 0..50 {
        match file.try_lock_shared() {
            Err(TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(2))
            }
            other => return other,
        }
    }
    file.try_lock_shared()
}

impl Drop for Lease {
    fn drop(&mut self) {
        // A shared lease leaves the file to the processes that still share it.
        if self.shared && (self.file.unlock().is_err() || self.file.try_lock().is_err()) {
            return;
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether some process (this one included) holds the lease on `name` now.
pub(crate) fn held(project: &Path, name: &str) -> bool {
    let Ok(file) = File::open(lock_path(project, name)) else {
        return false;
    };
    // Exclusive, so that shared holders (an open project's) count too; released on return.
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_held_until_dropped_and_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p.sqlite");
        assert!(!held(&project, "guard-run-1"));
        let lease = Lease::take(&project, "guard-run-1").unwrap();
        assert!(held(&project, "guard-run-1"));
        assert!(!held(&project, "guard-run-2"));
        assert!(matches!(
            Lease::take(&project, "guard-run-1"),
            Err(LeaseError::Busy { .. })
        ));
        drop(lease);
        assert!(!held(&project, "guard-run-1"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_shared_lease_is_held_while_any_holder_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p.sqlite");
        let first = Lease::share(&project, "open").unwrap();
        let second = Lease::share(&project, "open").unwrap();
        assert!(held(&project, "open"));
        assert!(matches!(
            Lease::take(&project, "open"),
            Err(LeaseError::Busy { .. })
        ));
        drop(first);
        assert!(held(&project, "open"));
        drop(second);
        assert!(!held(&project, "open"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
