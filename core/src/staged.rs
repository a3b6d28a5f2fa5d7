//! Output written beside its target and renamed into place, so a failed or killed run never
//! leaves half a file or folder behind (exports, the measurement report).

use std::path::{Path, PathBuf};

/// An I/O error at a path.
#[derive(Debug)]
pub(crate) struct StageError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> StageError + '_ {
    move |source| StageError {
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary path beside `target` (`.NAME.verdikt-tmp-PID`), renamed over it by `commit`;
/// dropped uncommitted, it is removed.
pub(crate) struct Staged {
    pub tmp: PathBuf,
    target: PathBuf,
}

impl Staged {
    /// Creates the target's parent folder and clears what a killed run of this process id left.
    pub fn new(target: &Path) -> Result<Staged, StageError> {
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
        };
        staged.remove_tmp().map_err(at(&staged.tmp))?;
        Ok(staged)
    }

    fn remove_tmp(&self) -> std::io::Result<()> {
        let removed = if self.tmp.is_dir() {
            std::fs::remove_dir_all(&self.tmp)
        } else {
            std::fs::remove_file(&self.tmp)
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Moves the finished output into place. A folder replaces the old folder: the old one is
    /// renamed away, the new one in, then the old one is removed.
    pub fn commit(mut self) -> Result<(), StageError> {
        if self.tmp.is_dir() && self.target.is_dir() {
            let mut old = self.tmp.clone().into_os_string();
            old.push(".old");
            let old = PathBuf::from(old);
            std::fs::rename(&self.target, &old).map_err(at(&self.target))?;
            if let Err(e) = std::fs::rename(&self.tmp, &self.target) {
                let _ = std::fs::rename(&old, &self.target);
                return Err(at(&self.target)(e));
            }
            std::fs::remove_dir_all(&old).map_err(at(&old))?;
        } else {
            std::fs::rename(&self.tmp, &self.target).map_err(at(&self.target))?;
        }
        self.tmp = PathBuf::new();
        Ok(())
    }
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
    fn a_folder_replaces_the_old_one_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old.txt"), "old").unwrap();
        let staged = Staged::new(&target).unwrap();
        std::fs::create_dir(&staged.tmp).unwrap();
        std::fs::write(staged.tmp.join("new.txt"), "new").unwrap();
        staged.commit().unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out"]);
        assert!(target.join("new.txt").is_file() && !target.join("old.txt").exists());
    }

    #[test]
    fn dropped_uncommitted_it_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let staged = Staged::new(&dir.path().join("out")).unwrap();
        std::fs::create_dir(&staged.tmp).unwrap();
        std::fs::write(staged.tmp.join("half.txt"), "").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
