//! The project is never an output. Every project this process opens (or names, like the CLI's
//! `--db`) is registered here for as long as it is in use, and every project open in any
//! Verdikt process holds a shared lease beside it (`.PROJECT.verdikt-open.lock`). Before a writer
//! creates or replaces a file or folder (`staged.rs`, model downloads), `check_target` refuses
//! a target that is such a project file or its `-wal`, `-shm` or `-journal` — however it is
//! spelled: through `..`, a symlink (followed even when dangling), or a hard link of this
//! process's project (same device and inode) — and a folder target that holds one. `--force`
//! never changes this: it replaces the file the user named, never the project they work in.
//!
//! What cannot be known: a hard link to a project that only another process has open (the
//! lease is found by the project's own name), and a process that opened the project between a
//! lease's last holder dropping it and the lock file being removed (the lock is then on a file
//! no longer in the folder).

use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::lease::{self, Lease};

/// The lease name of an open project.
const OPEN_LEASE: &str = "open";
/// What SQLite keeps beside a database file while it works on it.
const SIDECARS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// This process's projects: canonical path and how many registrations hold it.
static OPEN: Mutex<Vec<(PathBuf, usize)>> = Mutex::new(Vec::new());

#[derive(Debug, thiserror::Error)]
#[error(
    "{} is {what} of the project {} and was left untouched, with or without --force: choose another path",
    target.display(), project.display()
)]
pub struct IsProject {
    pub target: PathBuf,
    pub project: PathBuf,
    what: &'static str,
}

/// Keeps a project registered (and its open lease shared, when `open` took one) until dropped.
pub struct Registration {
    path: PathBuf,
    _lease: Option<Lease>,
}

/// Registers `project` as in use by this process; `lease` also tells other Verdikt processes.
/// A path that cannot be resolved yet (no folder) is registered as spelled.
fn register(project: &Path, lease: bool) -> Registration {
    let path = resolve(project);
    let lease = lease
        .then(|| Lease::share(&path, OPEN_LEASE).ok())
        .flatten();
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    match open.iter_mut().find(|(p, _)| *p == path) {
        Some((_, count)) => *count += 1,
        None => open.push((path.clone(), 1)),
    }
    Registration {
        path,
        _lease: lease,
    }
}

/// An open project file (`Store::open`): registered here and leased for other processes.
pub(crate) fn opened(project: &Path) -> Registration {
    register(project, true)
}

/// A project this process was told to use but does not open (the CLI's `--db` for commands
/// that need no project): protected from this process's writers all the same.
pub fn named(project: &Path) -> Registration {
    register(project, false)
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = open.iter().position(|(p, _)| *p == self.path) {
            open[i].1 -= 1;
            if open[i].1 == 0 {
                open.swap_remove(i);
            }
        }
    }
}

/// Refuses `target` if writing it could touch a project in use: see the module doc.
pub fn check_target(target: &Path) -> Result<(), IsProject> {
    let resolved = resolve(target);
    let open: Vec<PathBuf> = OPEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    let refuse = |project: &Path, what| {
        Err(IsProject {
            target: target.to_path_buf(),
            project: project.to_path_buf(),
            what,
        })
    };
    for project in &open {
        for file in files_of(project) {
            if resolved == file || same_file(&resolved, &file) {
                return refuse(project, "a file");
            }
        }
        if project.starts_with(&resolved) {
            return refuse(project, "a folder holding the file");
        }
    }
    let mut candidates = vec![resolved.clone()];
    if let Some(name) = resolved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        && let Some(stem) = SIDECARS.iter().find_map(|s| name.strip_suffix(s))
    {
        candidates.push(resolved.with_file_name(stem));
    }
    for project in candidates {
        if lease::held(&project, OPEN_LEASE) {
            return refuse(&project, "a file, open in another Verdikt process,");
        }
    }
    if let Some(project) = leased_inside(&resolved) {
        return refuse(
            &project,
            "a folder holding the file, open in another Verdikt process,",
        );
    }
    Ok(())
}

/// The project file and the files SQLite keeps beside it.
fn files_of(project: &Path) -> Vec<PathBuf> {
    let mut files = vec![project.to_path_buf()];
    for suffix in SIDECARS {
        let mut name = project.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

/// Whether two existing paths are one file (hard links, or spellings `resolve` missed).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// A project open in another process somewhere inside the folder `dir` (a folder output about
/// to be swapped out), found by its lease file.
fn leased_inside(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if let Some(found) = leased_inside(&path) {
                return Some(found);
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let project = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(&format!(".verdikt-{OPEN_LEASE}.lock")));
        if let Some(project) = project.map(|p| dir.join(p))
            && lease::held(&project, OPEN_LEASE)
        {
            return Some(project);
        }
    }
    None
}

/// The path `path` stands for: symlinks followed (dangling ones too, by reading the links), `.`
/// and `..` resolved, as absolute; what does not exist yet keeps its spelling below the
/// deepest folder that does.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let mut path = absolute(path);
    for _ in 0..40 {
        match std::fs::read_link(&path) {
            Ok(link) => path = absolute(&path.parent().unwrap_or(Path::new("/")).join(link)),
            Err(_) => break,
        }
    }
    if let Ok(real) = std::fs::canonicalize(&path) {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => resolve(parent).join(name),
        _ => path,
    }
}

/// `path` made absolute with `.` and `..` taken lexically (only for paths that do not exist;
/// `canonicalize` settles the rest).
fn absolute(path: &Path) -> PathBuf {
    let joined = std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_open_project_and_its_sidecars_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p.sqlite");
        std::fs::write(&project, "").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let registered = opened(&project);
        let link = dir.path().join("link.sqlite");
        std::os::unix::fs::symlink(&project, &link).unwrap();
        let dangling = dir.path().join("journal-link");
        std::os::unix::fs::symlink("p.sqlite-journal", &dangling).unwrap();
        let hard = dir.path().join("hard.sqlite");
        std::fs::hard_link(&project, &hard).unwrap();
        for target in [
            project.clone(),
            sub.join("../p.sqlite"),
            dir.path().join("./p.sqlite-wal"),
            dir.path().join("p.sqlite-shm"),
            link,
            dangling,
            hard,
            dir.path().to_path_buf(),
        ] {
            let refused = check_target(&target).unwrap_err();
            assert!(refused.to_string().contains("p.sqlite"), "{refused}");
        }
        assert!(check_target(&dir.path().join("p.sqlite.jsonl")).is_ok());
        assert!(check_target(&sub).is_ok());
        drop(registered);
        assert!(check_target(&project).is_ok());
        // The lease's lock file went with the last registration.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 5);
    }

    #[test]
    fn a_named_project_is_protected_without_a_lease() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("named.sqlite");
        let named = named(&project);
        assert!(check_target(&project).is_err());
        assert!(!lease::held(&project, OPEN_LEASE));
        drop(named);
        assert!(check_target(&project).is_ok());
    }
}
