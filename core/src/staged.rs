//! Every file or folder Verdikt writes for the user (exports, the report, review packs, rejects
//! files, saved charts and tables) goes through here: it is written beside its target and
//! renamed into place, so a failed or killed run never leaves half of it, and it never replaces
//! what Verdikt did not write. A file target that exists is replaced only when the caller says
//! so (`--force`, or the window's save dialog confirmed it); a folder target only when it is
//! empty or carries the marker of a previous output of the same kind. A project in use (its
//! file, `-wal`, `-shm`, `-journal`, or a folder holding one) is never a target, whatever the
//! caller says (`open_project.rs`).

use std::path::{Path, PathBuf};

/// The file inside every folder Verdikt writes; its content names the kind of output.
pub const MARKER_FILE: &str = ".verdikt-output";

/// What a folder target holds, written into its marker: only the same kind replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderKind {
    HfExport,
    Report,
}

impl FolderKind {
    fn name(self) -> &'static str {
        match self {
            FolderKind::HfExport => "hf-export",
            FolderKind::Report => "report",
        }
    }

    fn label(self) -> &'static str {
        match self {
            FolderKind::HfExport => "HF export",
            FolderKind::Report => "report",
        }
    }

    fn marker(self) -> String {
        format!("verdikt {}\n", self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} exists already and was left untouched; pass --force (or pick it in the save dialog) to replace it",
        path.display()
    )]
    Exists { path: PathBuf },
    #[error(transparent)]
    Project(#[from] crate::open_project::IsProject),
    #[error("{} is a folder, not a file; it was left untouched", path.display())]
    IsFolder { path: PathBuf },
    #[error(
        "{} exists and is not a Verdikt {} folder; it was left untouched: choose a new or empty folder",
        path.display(), kind.label()
    )]
    NotOurs { path: PathBuf, kind: FolderKind },
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> StageError + '_ {
    move |source| StageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    File { force: bool },
    Folder(FolderKind),
}

/// A temporary path beside `target` (`.NAME.verdikt-tmp-PID`), renamed over it by `commit`;
/// dropped uncommitted, it is removed.
pub struct Staged {
    pub tmp: PathBuf,
    target: PathBuf,
    kind: Kind,
}

impl Staged {
    /// A file at `target`; an existing file (or symlink) there is replaced only with `force`.
    pub fn file(target: &Path, force: bool) -> Result<Staged, StageError> {
        let staged = Staged::new(target, Kind::File { force })?;
        staged.check()?;
        Ok(staged)
    }

    /// A folder at `target`, created empty with its marker inside; an existing folder is
    /// replaced only when it is empty or a previous output of `kind`.
    pub fn folder(target: &Path, kind: FolderKind) -> Result<Staged, StageError> {
        let staged = Staged::new(target, Kind::Folder(kind))?;
        staged.check()?;
        std::fs::create_dir(&staged.tmp).map_err(at(&staged.tmp))?;
        let marker = staged.tmp.join(MARKER_FILE);
        std::fs::write(&marker, kind.marker()).map_err(at(&marker))?;
        Ok(staged)
    }

    /// Creates the target's parent folder and clears what a killed run of this process id left.
    fn new(target: &Path, kind: Kind) -> Result<Staged, StageError> {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(at(parent))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staged = Staged {
            tmp: parent.join(format!(".{name}.verdikt-tmp-{}", std::process::id())),
            target: target.to_path_buf(),
            kind,
        };
        staged.remove_tmp().map_err(at(&staged.tmp))?;
        Ok(staged)
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Whether the target may be replaced; run when staging starts and again just before the
    /// rename, so what appeared in between is not lost either.
    fn check(&self) -> Result<(), StageError> {
        let target = &self.target;
        crate::open_project::check_target(target)?;
        let meta = match std::fs::symlink_metadata(target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other.map_err(at(target))?,
        };
        match self.kind {
            Kind::File { .. } if meta.is_dir() => Err(StageError::IsFolder {
                path: target.clone(),
            }),
            Kind::File { force: true } => Ok(()),
            Kind::File { force: false } => Err(StageError::Exists {
                path: target.clone(),
            }),
            Kind::Folder(kind) => {
                let ours = meta.is_dir() && is_output_of(target, kind).map_err(at(target))?;
                if ours {
                    Ok(())
                } else {
                    Err(StageError::NotOurs {
                        path: target.clone(),
                        kind,
                    })
                }
            }
        }
    }

    fn remove_tmp(&self) -> std::io::Result<()> {
        let removed = match std::fs::symlink_metadata(&self.tmp) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&self.tmp),
            _ => std::fs::remove_file(&self.tmp),
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Moves the finished output into place. A folder is swapped with the old one in one step
    /// where the OS allows it (Linux), so the target is always the old or the new one, whole;
    /// the old one is then removed.
    pub fn commit(mut self) -> Result<(), StageError> {
        self.check()?;
        let replaces_folder = matches!(self.kind, Kind::Folder(_)) && self.target.is_dir();
        if replaces_folder {
            exchange(&self.tmp, &self.target).map_err(at(&self.target))?;
            // `tmp` now holds the old folder, which `check` found empty or ours.
            self.remove_tmp().map_err(at(&self.tmp))?;
        } else {
            std::fs::rename(&self.tmp, &self.target).map_err(at(&self.target))?;
        }
        self.tmp = PathBuf::new();
        Ok(())
    }
}

/// Writes `bytes` to the file `target`, staged; an existing file is replaced only with `force`.
pub fn write_file(target: &Path, force: bool, bytes: &[u8]) -> Result<(), StageError> {
    let staged = Staged::file(target, force)?;
    std::fs::write(&staged.tmp, bytes).map_err(at(&staged.tmp))?;
    staged.commit()
}

/// Whether `dir` is empty or holds the marker of a previous output of `kind`.
fn is_output_of(dir: &Path, kind: FolderKind) -> std::io::Result<bool> {
    if std::fs::read_dir(dir)?.next().is_none() {
        return Ok(true);
    }
    Ok(std::fs::read(dir.join(MARKER_FILE)).is_ok_and(|b| b == kind.marker().as_bytes()))
}

/// Swaps two paths atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a_c, b_c) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a_c.as_ptr(),
            libc::AT_FDCWD,
            b_c.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    match rc {
        0 => Ok(()),
        _ => {
            let e = std::io::Error::last_os_error();
            // Filesystems without RENAME_EXCHANGE: the two-step swap.
            if e.raw_os_error() == Some(libc::EINVAL) {
                exchange_in_two_steps(a, b)
            } else {
                Err(e)
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    exchange_in_two_steps(a, b)
}

/// `b` moves aside, `a` into its place, the old `b` to `a`'s name; a crash in between leaves
/// the old `b` beside the target under a `.verdikt-tmp` name.
fn exchange_in_two_steps(a: &Path, b: &Path) -> std::io::Result<()> {
    let mut aside = a.as_os_str().to_owned();
    aside.push(".old");
    let aside = PathBuf::from(aside);
    std::fs::rename(b, &aside)?;
    if let Err(e) = std::fs::rename(a, b) {
        let _ = std::fs::rename(&aside, b);
        return Err(e);
    }
    std::fs::rename(&aside, a)
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = self.remove_tmp();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_project_is_never_a_target_even_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p.sqlite");
        let store = crate::store::Store::open(&project).unwrap();
        let before = std::fs::read(&project).unwrap();
        for force in [false, true] {
            let refused = write_file(&project, force, b"{}").unwrap_err();
            assert!(matches!(refused, StageError::Project(_)), "{refused}");
        }
        assert_eq!(std::fs::read(&project).unwrap(), before);
        drop(store);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_folder_replaces_a_previous_output_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let first = Staged::folder(&target, FolderKind::Report).unwrap();
        std::fs::write(first.tmp.join("old.txt"), "old").unwrap();
        first.commit().unwrap();
        let second = Staged::folder(&target, FolderKind::Report).unwrap();
        std::fs::write(second.tmp.join("new.txt"), "new").unwrap();
        second.commit().unwrap();
        assert_eq!(names(dir.path()), ["out"]);
        assert_eq!(names(&target), [MARKER_FILE, "new.txt"]);
    }

    #[test]
    fn an_empty_folder_is_used_and_a_foreign_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        Staged::folder(&empty, FolderKind::HfExport)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(names(&empty), [MARKER_FILE]);
        let err = Staged::folder(&empty, FolderKind::Report).err().unwrap();
        assert!(matches!(
            err,
            StageError::NotOurs {
                kind: FolderKind::Report,
                ..
            }
        ));
        let thesis = dir.path().join("thesis");
        std::fs::create_dir(&thesis).unwrap();
        std::fs::write(thesis.join("thesis.txt"), "mine").unwrap();
        let err = Staged::folder(&thesis, FolderKind::HfExport).err().unwrap();
        assert!(err.to_string().contains("left untouched"), "{err}");
        assert_eq!(names(&thesis), ["thesis.txt"]);
    }

    #[test]
    fn an_existing_file_is_replaced_only_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        std::fs::write(&target, "mine").unwrap();
        assert!(matches!(
            Staged::file(&target, false),
            Err(StageError::Exists { .. })
        ));
        let staged = Staged::file(&target, true).unwrap();
        std::fs::write(&staged.tmp, "new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(matches!(
            Staged::file(dir.path(), true),
            Err(StageError::IsFolder { .. })
        ));
    }

    #[test]
    fn a_file_appearing_while_staged_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let staged = Staged::file(&target, false).unwrap();
        std::fs::write(&staged.tmp, "new").unwrap();
        std::fs::write(&target, "mine").unwrap();
        assert!(matches!(staged.commit(), Err(StageError::Exists { .. })));
        assert_eq!(names(dir.path()), ["out.csv"]);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
    }

    #[test]
    fn dropped_uncommitted_it_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let staged = Staged::folder(&dir.path().join("out"), FolderKind::HfExport).unwrap();
        std::fs::write(staged.tmp.join("half.txt"), "").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
