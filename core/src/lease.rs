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

/// Held while the work runs; dropping it releases the lock and removes the file.
pub(crate) struct Lease {
    _file: File,
    path: PathBuf,
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
        match file.try_lock() {
            Ok(()) => Ok(Lease { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(LeaseError::Busy {
                name: name.to_string(),
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether some process (this one included) holds the lease on `name` now.
pub(crate) fn held(project: &Path, name: &str) -> bool {
    let Ok(file) = File::open(lock_path(project, name)) else {
        return false;
    };
    matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
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
}
