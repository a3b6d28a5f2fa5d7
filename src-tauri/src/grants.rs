//! What the user chose outside the web view, so that a path or URL arriving from it is used only
//! when the user meant it: files and folders picked in a native dialog (opened from Rust, here),
//! dropped on the window or given on the command line; save targets chosen in the native save
//! dialog (which asked before replacing); guard servers confirmed in a native dialog. Hostile
//! text in the web view therefore cannot make the app read, write or send anything else.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Default)]
pub struct Grants {
    sources: HashSet<PathBuf>,
    targets: HashSet<PathBuf>,
    servers: HashSet<String>,
}

/// A target the window may write, and whether replacing what is there was confirmed.
#[derive(Debug, PartialEq)]
pub struct Target {
    pub path: PathBuf,
    pub force: bool,
}

impl Grants {
    pub fn add_sources(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        self.sources.extend(paths);
    }

    pub fn add_targets(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        self.targets.extend(paths);
    }

    pub fn confirm_server(&mut self, url: &str) {
        self.servers.insert(url.to_string());
    }

    /// A source the window names: one the user picked or dropped.
    pub fn source(&self, path: &str) -> AppResult<PathBuf> {
        let path = PathBuf::from(path);
        if self.sources.contains(&path) {
            Ok(path)
        } else {
            Err(AppError::new(format!(
                "{} was not chosen by you: pick it with Browse… or drop it on the window",
                path.display()
            )))
        }
    }

    /// A target the window names: one chosen in the save dialog (which confirmed replacing
    /// it), or a path inside the open project's folder (never replacing a file there).
    pub fn target(&self, path: &str, project: Option<&Path>) -> AppResult<Target> {
        let path = PathBuf::from(path);
        if self.targets.contains(&path) {
            return Ok(Target { path, force: true });
        }
        if project.is_some_and(|p| inside_folder_of(&path, p)) {
            return Ok(Target { path, force: false });
        }
        Err(AppError::new(format!(
            "{} was not chosen by you: choose it with Browse… (a typed path is used only inside the project's folder)",
            path.display()
        )))
    }

    /// A project file to open: one chosen in any dialog, or a recent project (the list only
    /// ever holds such files, and the start-up project).
    pub fn project_file(&self, path: &str, recent: &[PathBuf]) -> AppResult<PathBuf> {
        let chosen = PathBuf::from(path);
        if recent.contains(&chosen) || self.targets.contains(&chosen) {
            return Ok(chosen);
        }
        self.source(path)
    }

    /// A guard server URL: one the user confirmed on the Guards screen.
    pub fn server(&self, url: &str) -> AppResult<()> {
        if self.servers.contains(url) {
            Ok(())
        } else {
            Err(AppError::new(format!(
                "the guard server {url} was not confirmed: press Use server… and confirm it"
            )))
        }
    }
}

/// Whether `path` names an entry directly or deeper inside the folder holding `project`
/// (links and `..` resolved, so neither leads out of it).
fn inside_folder_of(path: &Path, project: &Path) -> bool {
    let folder = project.parent().and_then(|d| d.canonicalize().ok());
    let (Some(folder), Some(parent), Some(_)) = (folder, path.parent(), path.file_name()) else {
        return false;
    };
    path.is_absolute() && parent.canonicalize().is_ok_and(|p| p.starts_with(folder))
}

/// What `pick_paths` shows.
#[derive(Clone, Copy, Debug, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum PickMode {
    /// Files to read (several at once).
    OpenFiles,
    /// One file to read.
    OpenFile,
    /// A folder to read.
    OpenFolder,
    /// A file to write (the dialog asks before replacing one).
    Save,
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct PickRequest {
    pub mode: PickMode,
    /// `(name, extensions)` filters.
    pub filters: Vec<(String, Vec<String>)>,
    pub file_name: Option<String>,
}

/// Shows the native dialog and returns what the user chose (nothing when cancelled); the
/// choice is remembered as the user's, for the commands that use it.
#[tauri::command]
#[specta::specta]
pub async fn pick_paths(app: AppHandle, request: PickRequest) -> AppResult<Vec<String>> {
    let dialog_app = app.clone();
    let picked = tauri::async_runtime::spawn_blocking(move || {
        let mut dialog = dialog_app.dialog().file();
        for (name, extensions) in &request.filters {
            let extensions: Vec<&str> = extensions.iter().map(String::as_str).collect();
            dialog = dialog.add_filter(name, &extensions);
        }
        if let Some(name) = &request.file_name {
            dialog = dialog.set_file_name(name);
        }
        let chosen = match request.mode {
            PickMode::OpenFiles => dialog.blocking_pick_files(),
            PickMode::OpenFile => dialog.blocking_pick_file().map(|p| vec![p]),
            PickMode::OpenFolder => dialog.blocking_pick_folder().map(|p| vec![p]),
            PickMode::Save => dialog.blocking_save_file().map(|p| vec![p]),
        };
        let paths: Vec<PathBuf> = chosen
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.into_path().ok())
            .collect();
        (request.mode, paths)
    })
    .await?;
    let (mode, paths) = picked;
    let state = app.state::<AppState>();
    let mut grants = state.grants();
    match mode {
        PickMode::Save => grants.add_targets(paths.iter().cloned()),
        _ => grants.add_sources(paths.iter().cloned()),
    }
    Ok(paths.iter().map(|p| p.display().to_string()).collect())
}

/// Asks a question in a native dialog, which script in the web view cannot answer; true for
/// `yes`, false for Cancel.
pub async fn ask(app: &AppHandle, title: &str, message: String, yes: &str) -> AppResult<bool> {
    let dialog_app = app.clone();
    let (title, yes) = (title.to_string(), yes.to_string());
    Ok(tauri::async_runtime::spawn_blocking(move || {
        dialog_app
            .dialog()
            .message(message)
            .title(title)
            .buttons(MessageDialogButtons::OkCancelCustom(yes, "Cancel".into()))
            .blocking_show()
    })
    .await?)
}

/// Asks in a native dialog whether the project's texts may be sent to the guard server at
/// `url`; true (and remembered) when the user agrees, or agreed before.
#[tauri::command]
#[specta::specta]
pub async fn guard_server_confirm(app: AppHandle, url: String) -> AppResult<bool> {
    if app.state::<AppState>().grants().server(&url).is_ok() {
        return Ok(true);
    }
    let confirmed = ask(
        &app,
        "Use this guard server?",
        format!("Send the project's texts to the guard server at\n\n{url}\n\nfor checking?"),
        "Send texts",
    )
    .await?;
    if confirmed {
        app.state::<AppState>().grants().confirm_server(&url);
    }
    Ok(confirmed)
}

/// Paths given on the command line (e.g. "Open with Verdikt"): chosen by the user.
pub fn command_line_sources(args: &[String]) -> Vec<PathBuf> {
    args.iter()
        .skip(1)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.exists())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_targets_are_used_only_inside_the_project_folder() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p.sqlite");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let grants = Grants::default();
        let inside = dir.path().join("sub/out.jsonl");
        assert_eq!(
            grants
                .target(inside.to_str().unwrap(), Some(&project))
                .unwrap(),
            Target {
                path: inside,
                force: false
            }
        );
        let escaping = dir.path().join("sub/../../out.jsonl");
        assert!(
            grants
                .target(escaping.to_str().unwrap(), Some(&project))
                .is_err()
        );
        assert!(grants.target("out.jsonl", Some(&project)).is_err());
        assert!(grants.target("/tmp/x.jsonl", None).is_err());
    }
}
