//! The Verdikt desktop app: a thin Tauri shell over `verdikt-core`. Each module is one screen's
//! commands; they parse what the window sends, call the core, and turn errors into words.
//! Commands that touch the project are `async`, so none runs on the window's main thread (a write waiting for the
//! database must not freeze it); long jobs run on worker threads (`jobs`) and report progress
//! over `tauri::ipc::Channel`.
//!
//! The parts:
//! - one module per screen (`project`, `import`, `guard`, `curator`, `review`, `results`,
//!   `export`); each command parses the window's request, calls the core and turns errors into
//!   words (`error.rs`: core errors that name a CLI flag or command get the window's words;
//!   SQLite's busy/locked becomes `busy: true` with "the project is busy", so the window retries)
//! - `jobs.rs` runs long work on a worker thread with its own connection, progress over
//!   `tauri::ipc::Channel`, cancel by job id
//! - `state.rs` refuses a second job of an exclusive kind (guard, import, download, triage) and
//!   lists running jobs for the close-window question (`lib.rs`); the window's own connection waits
//!   500 ms for another writer before reporting busy
//! - `share.rs` the Curator screen's "Share with reviewers": the review server of `verdikt
//!   serve` started and stopped from the window (stopped on exit), invites, who is working
//! - `command_names.rs` is the one list of commands that `build.rs` turns into permissions
//! - `grants.rs` opens the native dialogs (`pick_paths`, `guard_server_confirm`) and remembers what
//!   the user chose, picked, dropped or passed on the command line: commands take sources only from
//!   there, targets only from the save dialog or the project's folder, a server URL only once
//!   confirmed (`untrusted_tests.rs` calls the commands with paths nobody chose, on Tauri's mock
//!   runtime)

mod command_names;
mod curator;
pub mod error;
mod export;
mod grants;
mod guard;
mod import;
mod jobs;
mod project;
mod results;
mod review;
mod share;
mod state;
#[cfg(test)]
mod untrusted_tests;

pub use command_names::COMMANDS;

use tauri::Manager;

use crate::state::AppState;

/// A text field the window left blank means "not given".
pub(crate) fn given(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// Every command, registered once: the invoke handler and the TypeScript bindings both come
/// from this builder, so they cannot drift apart.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new().commands(tauri_specta::collect_commands![
        project::app_info,
        grants::pick_paths,
        grants::guard_server_confirm,
        project::project_open,
        project::project_info_get,
        import::import_preview,
        import::import_run,
        guard::guard_profiles,
        guard::guard_catalog,
        guard::guard_download,
        guard::guard_runs,
        guard::guard_plan,
        guard::guard_run,
        guard::guard_devices,
        export::split_run,
        export::export_run,
        review::review_setup,
        curator::reviewer_add,
        curator::reviewer_languages_set,
        curator::reviewer_adjudicator_set,
        curator::audit_config_get,
        curator::audit_config_set,
        curator::care_config_set,
        curator::question_set,
        curator::project_guards_get,
        curator::project_guards_set,
        curator::project_judge_set,
        curator::project_keep_rule_set,
        curator::pack_export,
        curator::pack_merge,
        review::review_counts,
        review::review_next,
        review::review_sample_get,
        review::review_resolve,
        review::review_submit,
        review::review_adjudicate,
        review::review_undo,
        review::reviewer_reveals_get,
        review::reviewer_reveal_set,
        curator::triage_run,
        curator::audit_sample_draw,
        curator::audit_plan_get,
        curator::audit_plan_top_up,
        results::results_get,
        results::results_save,
        jobs::job_cancel,
        share::share_start,
        share::share_stop,
        share::share_status,
        share::share_invite,
        share::share_revoke,
        share::share_activity,
    ])
}

/// The TypeScript bindings as the builder renders them (`ui/src/bindings.ts` must equal this).
pub fn bindings() -> String {
    let ts = specta_typescript::Typescript::default()
        .bigint(specta_typescript::BigIntExportBehavior::Number)
        .header("// Generated from the Rust commands by `cargo run -p verdikt-app -- --write-bindings`. Do not edit.\n");
    specta_builder()
        .export_str(ts)
        .expect("the app's types export to TypeScript")
        // tauri-specta rc.21 also declares `Channel` as a placeholder type, clashing with the
        // real `Channel` it imports under the same name.
        .replace("export type TAURI_CHANNEL<TSend> = null\n", "")
}

/// `--open-sample ID` from the command line.
fn open_sample_arg(args: &[String]) -> Option<String> {
    args.iter()
        .position(|a| a == "--open-sample")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--open-sample=").map(String::from))
        })
}

/// Closing the window stops running jobs (a guard run can be resumed, an import is rolled
/// back), so while one runs the window asks first.
fn on_window_event(window: &tauri::Window, event: &tauri::WindowEvent) {
    // Dropped files are the user's choice, as picked ones are.
    if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
        window
            .state::<AppState>()
            .grants()
            .add_sources(paths.iter().cloned());
    }
    ask_before_closing_on_running_jobs(window, event);
}

fn ask_before_closing_on_running_jobs(window: &tauri::Window, event: &tauri::WindowEvent) {
    use tauri_plugin_dialog::{DialogExt, MessageDialogButtons};
    let tauri::WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let running = window.state::<AppState>().running_jobs();
    if running.is_empty() {
        return;
    }
    api.prevent_close();
    let window = window.clone();
    window
        .dialog()
        .message(format!(
            "{} {} still running. Closing the window stops it: a guard run can be resumed later, an unfinished import stores nothing. Close anyway?",
            capitalised(&running.join(" and ")),
            if running.len() == 1 { "is" } else { "are" }
        ))
        .title("Verdikt is still working")
        .buttons(MessageDialogButtons::OkCancelCustom(
            "Close and stop".into(),
            "Keep working".into(),
        ))
        .show(move |close| {
            if close {
                let _ = window.destroy();
            }
        });
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

pub fn run() {
    let args: Vec<String> = std::env::args().collect();
    let builder = specta_builder();
    let state = AppState::default();
    *state.open_sample.lock().expect("fresh mutex") = open_sample_arg(&args);
    state
        .grants()
        .add_sources(grants::command_line_sources(&args));
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(builder.invoke_handler())
        .on_window_event(on_window_event)
        .setup(|app| {
            if let Err(e) = project::open_at_start(app.handle()) {
                eprintln!("verdikt: {e}");
                let state = app.state::<AppState>();
                *state.startup_error.lock().expect("fresh mutex") = Some(e);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("error while building the Verdikt window")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                share::stop_on_exit(app);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_sample_is_read_in_both_spellings() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            open_sample_arg(&args(&["app", "--open-sample", "x-1"])),
            Some("x-1".into())
        );
        assert_eq!(
            open_sample_arg(&args(&["app", "--open-sample=x-2"])),
            Some("x-2".into())
        );
        assert_eq!(open_sample_arg(&args(&["app"])), None);
    }
}
