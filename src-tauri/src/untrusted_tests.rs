//! The window's commands called directly, as script in a compromised web view would call them,
//! with paths and URLs the user never chose: each is refused in Rust and nothing on disk
//! changes. What the user did choose (simulated by adding it to the grants, as the native
//! dialogs and drops do) is used.

use std::path::{Path, PathBuf};

use tauri::Manager;
use tauri::async_runtime::block_on;
use tauri::ipc::Channel;
use verdikt_core::export::ExportFormat;
use verdikt_core::import::InputFormat;

use crate::export::{ExportRequest, export_run};
use crate::guard::{GuardRequest, GuardServer, GuardServerAddress, guard_plan, guard_run};
use crate::import::{ImportRequest, import_preview, import_run};
use crate::project::project_open;
use crate::results::{Shown, results_save};
use crate::state::AppState;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/refuseu-sample.jsonl")
}

/// A mock app (no window) with a project in `dir/project/` holding the bundled sample.
fn app(dir: &Path) -> tauri::App<tauri::test::MockRuntime> {
    let app = tauri::test::mock_app();
    app.manage(AppState::default());
    let state = app.state::<AppState>();
    state.open(&dir.join("project/p.sqlite")).unwrap();
    state.grants().add_sources([sample()]);
    block_on(import_run(
        state,
        "import".into(),
        import_request(&sample()),
        Channel::new(|_| Ok(())),
    ))
    .unwrap();
    app
}

fn import_request(path: &Path) -> ImportRequest {
    ImportRequest {
        paths: vec![path.display().to_string()],
        format: InputFormat::Auto,
        dataset: Some("again".into()),
        replace: true,
        skip_invalid: false,
        mappings: Vec::new(),
    }
}

fn export_request(out: &Path) -> ExportRequest {
    ExportRequest {
        out: out.display().to_string(),
        format: ExportFormat::Trl,
        dataset: None,
        language: None,
        split: None,
        keep_rule: false,
        only_passed: false,
        q3_optional: false,
    }
}

/// The user's own folder, outside the project's: a file and another program's database.
fn user_files(dir: &Path) -> (PathBuf, PathBuf) {
    let home = dir.join("home");
    std::fs::create_dir(&home).unwrap();
    let notes = home.join("notes.txt");
    std::fs::write(&notes, "mine").unwrap();
    let db = home.join("other.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    (notes, db)
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn targets_the_user_never_chose_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let (notes, _) = user_files(dir.path());
    let home = dir.path().join("home");
    let before = snapshot(&home);
    for target in [notes.clone(), home.join("new.jsonl")] {
        let err =
            block_on(export_run(app.state(), "e".into(), export_request(&target))).unwrap_err();
        assert!(
            err.message.contains("was not chosen by you"),
            "{}",
            err.message
        );
        let err = block_on(results_save(
            app.state(),
            Shown::Csv {
                name: "results".into(),
                header: vec!["q".into()],
                rows: vec![vec!["=1+1".into()]],
            },
            target.display().to_string(),
        ))
        .unwrap_err();
        assert!(
            err.message.contains("was not chosen by you"),
            "{}",
            err.message
        );
    }
    let escaping = dir.path().join("project/../home/new.jsonl");
    assert!(
        block_on(export_run(
            app.state(),
            "e".into(),
            export_request(&escaping)
        ))
        .is_err()
    );
    assert_eq!(
        snapshot(&home),
        before,
        "nothing outside the project changed"
    );

    // Inside the project's folder a typed path is used, but never over a file there.
    let inside = dir.path().join("project/out.jsonl");
    block_on(export_run(app.state(), "e".into(), export_request(&inside))).unwrap();
    let first = std::fs::read(&inside).unwrap();
    let err = block_on(export_run(app.state(), "e".into(), export_request(&inside))).unwrap_err();
    assert!(err.message.contains("exists already"), "{}", err.message);
    assert_eq!(std::fs::read(&inside).unwrap(), first);

    // Chosen in the save dialog (which asked before replacing): written, staged.
    app.state::<AppState>()
        .grants()
        .add_targets([notes.clone()]);
    block_on(export_run(app.state(), "e".into(), export_request(&notes))).unwrap();
    assert!(
        std::fs::read_to_string(&notes)
            .unwrap()
            .contains("\"chosen\"")
    );
}

#[test]
fn sources_and_projects_the_user_never_picked_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let (notes, db) = user_files(dir.path());
    let home = dir.path().join("home");
    let before = snapshot(&home);
    let copy = dir.path().join("copy.jsonl");
    std::fs::copy(sample(), &copy).unwrap();
    for source in [&copy, &notes] {
        let err = block_on(import_preview(app.state(), import_request(source)))
            .err()
            .expect("refused");
        assert!(
            err.message.contains("was not chosen by you"),
            "{}",
            err.message
        );
        let err = block_on(import_run(
            app.state(),
            "i".into(),
            import_request(source),
            Channel::new(|_| Ok(())),
        ))
        .unwrap_err();
        assert!(
            err.message.contains("was not chosen by you"),
            "{}",
            err.message
        );
    }
    let err = block_on(project_open(app.state(), db.display().to_string()))
        .err()
        .expect("refused");
    assert!(
        err.message.contains("was not chosen by you"),
        "{}",
        err.message
    );
    // Picked, another program's database is still refused, untouched, by the core.
    app.state::<AppState>().grants().add_sources([db.clone()]);
    let err = block_on(project_open(app.state(), db.display().to_string()))
        .err()
        .expect("refused");
    assert!(
        err.message.contains("not a Verdikt project"),
        "{}",
        err.message
    );
    assert_eq!(snapshot(&home), before);
    let open = app.state::<AppState>().project_path().unwrap();
    assert!(
        open.ends_with("project/p.sqlite"),
        "the open project stays open"
    );

    app.state::<AppState>().grants().add_sources([copy.clone()]);
    block_on(import_preview(app.state(), import_request(&copy))).unwrap();
}

#[test]
fn guard_servers_are_used_only_once_confirmed_and_models_only_once_picked() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let tokenizer = dir.path().join("tokenizer.json");
    std::fs::write(&tokenizer, "{}").unwrap();
    let request = |model: &str, server: Option<GuardServer>| GuardRequest {
        profile: "llama-guard-3-1b".into(),
        model: model.into(),
        server,
        fields: vec!["prompt".into()],
        dataset: None,
        language: None,
        limit: Some(1),
        resume: false,
        allow_profile_mismatch: false,
        gpu_layers: None,
        only_disputed: false,
    };
    let address = |url: &str| GuardServerAddress {
        url: url.into(),
        concurrency: None,
    };
    let server = |urls: &[&str]| GuardServer {
        servers: urls.iter().map(|u| address(u)).collect(),
        model: "m".into(),
        tokenizer: tokenizer.display().to_string(),
        chat: false,
        openai_batch: false,
        api_key_env: None,
        api_key: None,
        headers: Vec::new(),
    };
    let (first, second) = ("http://127.0.0.1:9/", "http://127.0.0.1:10");
    let run = |r: GuardRequest| {
        block_on(guard_run(
            app.state(),
            "g".into(),
            r,
            Channel::new(|_| Ok(())),
        ))
        .unwrap_err()
    };
    let plan = |r: GuardRequest| block_on(guard_plan(app.state(), r)).unwrap_err();
    let err = run(request("", Some(server(&[first]))));
    assert!(err.message.contains("was not confirmed"), "{}", err.message);
    let err = run(request("/etc/hostname", None));
    assert!(
        err.message.contains("was not chosen by you"),
        "{}",
        err.message
    );
    let err = plan(request("/etc/hostname", None));
    assert!(
        err.message.contains("was not chosen by you"),
        "the plan opens no file the user did not pick either: {}",
        err.message
    );
    app.state::<AppState>().grants().confirm_server(first);
    let err = run(request("", Some(server(&[first, second]))));
    assert!(
        err.message.contains(&format!("{second} was not confirmed")),
        "every server of the run is confirmed, not only the first: {}",
        err.message
    );
    app.state::<AppState>().grants().confirm_server(second);
    let not_picked = format!("{} was not chosen by you", tokenizer.display());
    let err = run(request("", Some(server(&[first, second]))));
    assert!(
        err.message.contains(&not_picked),
        "the confirmed servers pass, the unpicked tokenizer not: {}",
        err.message
    );
    // Counting sends nothing, so it needs no confirmed server, but the tokenizer is still read
    // only once picked.
    let err = plan(request("", Some(server(&["http://127.0.0.1:11"]))));
    assert!(err.message.contains(&not_picked), "{}", err.message);
    let err = run(request("", Some(server(&[first, "http://127.0.0.1:9"]))));
    assert!(err.message.contains("listed twice"), "{}", err.message);
    let runs: i64 = app
        .state::<AppState>()
        .with_store(|s| {
            Ok(s.conn()
                .query_row("SELECT count(*) FROM guard_runs", [], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(runs, 0, "no run was started");
}
