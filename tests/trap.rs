//! The trap suite: every command that writes, aimed at things Verdikt did not write (a folder
//! with a file in it, an existing file, another program's SQLite database, a symlink to a file
//! outside). Each is refused, or with `--force` replaced as the command says, and every foreign
//! byte is unchanged afterwards (SHA-256 of every file, names included). Kill -9 during each
//! export leaves the target as the old one or the new one, whole.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{Project, datasets, kill_after, s};
use sha2::{Digest, Sha256};

/// The user's things, in a folder of their own outside the project's.
struct Traps {
    dir: tempfile::TempDir,
}

impl Traps {
    fn new() -> Traps {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("thesis")).unwrap();
        std::fs::write(root.join("thesis/thesis.txt"), "four years of work").unwrap();
        std::fs::write(root.join("notes.txt"), "my notes").unwrap();
        let db = rusqlite::Connection::open(root.join("contacts.db")).unwrap();
        db.execute_batch(
            "CREATE TABLE contacts (name TEXT, phone TEXT);
             INSERT INTO contacts VALUES ('Ana', '+48 600'), ('Ola', '+48 601');",
        )
        .unwrap();
        drop(db);
        std::fs::write(root.join("secret.txt"), "outside the target").unwrap();
        std::os::unix::fs::symlink(root.join("secret.txt"), root.join("link")).unwrap();
        Traps { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// (what, target) for each trap.
    fn all(&self) -> [(&'static str, PathBuf); 4] {
        [
            ("a folder with a file in it", self.path("thesis")),
            ("an existing file", self.path("notes.txt")),
            ("a foreign SQLite database", self.path("contacts.db")),
            ("a symlink to a file outside", self.path("link")),
        ]
    }

    /// Every name under the folder with the SHA-256 of its bytes (a link: where it points).
    fn fingerprint(&self) -> BTreeMap<String, String> {
        fingerprint(self.dir.path())
    }
}

fn fingerprint(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let print = if meta.is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path);
                "folder".into()
            } else {
                format!("{:x}", Sha256::digest(std::fs::read(&path).unwrap()))
            };
            out.insert(name, print);
        }
    }
    out
}

/// The bundled sample, with a reviewer and triaged Polish samples so a pack can be made.
fn project() -> Project {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("refuseu-sample.jsonl"))]);
    p.ok(&["reviewer", "add", "ana", "--languages", "pl"]);
    rusqlite::Connection::open(p.db())
        .unwrap()
        .execute_batch(
            "INSERT INTO triage_reasons (sample_id, reason)
             SELECT id, 'audit_sample' FROM samples WHERE language = 'pl' ORDER BY id LIMIT 4",
        )
        .unwrap();
    p
}

/// Each command that writes one file, with its target as the last argument.
fn file_writers(p: &Project) -> Vec<(&'static str, Vec<String>)> {
    let bad = p.write(
        "bad.jsonl",
        "{\"id\": \"x\", \"prompt\": \"p\"}\n{\"id\": \"y\"}\n",
    );
    let args = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut writers: Vec<(&'static str, Vec<String>)> = ["trl", "trl-chat", "parquet", "csv"]
        .into_iter()
        .map(|f| ("export", args(&["export", "--format", f, "--out"])))
        .collect();
    writers.push((
        "pack export",
        args(&[
            "pack",
            "export",
            "--reviewer",
            "ana",
            "--language",
            "pl",
            "--out",
        ]),
    ));
    writers.push((
        "rejects file",
        args(&[
            "import",
            s(&bad),
            "--dataset",
            "bad",
            "--replace",
            "--language",
            "en",
            "--skip-invalid",
            "--rejects",
        ]),
    ));
    writers
}

fn with_target(args: &[String], target: &Path, force: bool) -> Vec<String> {
    let mut all = args.to_vec();
    all.push(s(target).to_string());
    if force {
        all.push("--force".into());
    }
    all
}

fn run(p: &Project, args: &[String]) -> (bool, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    p.run(&args)
}

fn ok(p: &Project, args: &[String]) {
    let (ok, _, err) = run(p, args);
    assert!(ok, "verdikt {args:?}: {err}");
}

#[test]
fn file_writers_refuse_every_trap_without_force_and_a_folder_even_with_it() {
    let p = project();
    let traps = Traps::new();
    let before = traps.fingerprint();
    for (writer, args) in file_writers(&p) {
        for (what, target) in traps.all() {
            let (ok, _, err) = run(&p, &with_target(&args, &target, false));
            assert!(!ok, "{writer} wrote over {what}");
            assert!(
                err.contains(s(&target)) && err.contains("left untouched"),
                "{writer} on {what}: {err}"
            );
            assert_eq!(traps.fingerprint(), before, "{writer} changed {what}");
        }
        let (ok, _, err) = run(&p, &with_target(&args, &traps.path("thesis"), true));
        assert!(
            !ok && err.contains("is a folder"),
            "{writer} --force: {err}"
        );
        assert_eq!(
            traps.fingerprint(),
            before,
            "{writer} --force changed the folder"
        );
    }
    assert_eq!(
        p.sql::<i64>("SELECT count(*) FROM datasets WHERE name = 'bad'"),
        [0]
    );
}

#[test]
fn force_replaces_the_file_or_the_link_itself_never_what_the_link_points_to() {
    let p = project();
    for (writer, args) in file_writers(&p) {
        let traps = Traps::new();
        let before = traps.fingerprint();
        for name in ["notes.txt", "contacts.db", "link"] {
            let (ok, _, err) = run(&p, &with_target(&args, &traps.path(name), true));
            assert!(ok, "{writer} --force on {name}: {err}");
            let meta = std::fs::symlink_metadata(traps.path(name)).unwrap();
            assert!(meta.is_file(), "{writer}: {name} is now Verdikt's file");
        }
        let after = traps.fingerprint();
        for (name, print) in &before {
            let replaced = ["notes.txt", "contacts.db", "link"].contains(&name.as_str());
            assert!(
                replaced || after.get(name) == Some(print),
                "{writer} --force changed {name}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(traps.path("secret.txt")).unwrap(),
            "outside the target"
        );
        assert_eq!(
            after.len(),
            before.len(),
            "{writer} left files beside: {after:?}"
        );
    }
}

#[test]
fn folder_writers_refuse_every_trap_and_replace_only_their_own_kind() {
    let p = project();
    let traps = Traps::new();
    let before = traps.fingerprint();
    let hf = |out: &Path| p.run(&["export", "--format", "hf", "--out", s(out)]);
    let report = |out: &Path| p.run(&["report", "--out", s(out)]);
    type Write<'a> = &'a dyn Fn(&Path) -> (bool, String, String);
    for (writer, write) in [("hf export", &hf as Write), ("report", &report as Write)] {
        for (what, target) in traps.all() {
            let (ok, _, err) = write(&target);
            assert!(!ok, "{writer} wrote over {what}");
            assert!(err.contains("left untouched"), "{writer} on {what}: {err}");
            assert_eq!(traps.fingerprint(), before, "{writer} changed {what}");
        }
        let empty = p.path(&format!("empty-{}", writer.replace(' ', "-")));
        std::fs::create_dir(&empty).unwrap();
        let (ok, _, err) = write(&empty);
        assert!(ok, "{writer} into an empty folder: {err}");
        let (ok, _, err) = write(&empty);
        assert!(ok, "{writer} over its own previous output: {err}");
    }
    let (ok, _, err) = hf(&p.path("empty-report"));
    assert!(!ok && err.contains("not a Verdikt HF export"), "{err}");
    let (ok, _, err) = report(&p.path("empty-hf-export"));
    assert!(!ok && err.contains("not a Verdikt report"), "{err}");
}

/// Whether SQLite left a `-wal`/`-shm` beside `db` (a sign it was opened for writing).
fn journal_beside(db: &Path) -> bool {
    ["-wal", "-shm", "-journal"].iter().any(|ext| {
        let mut p = db.as_os_str().to_owned();
        p.push(ext);
        Path::new(&p).exists()
    })
}

#[test]
fn another_programs_files_are_refused_as_project_before_anything_is_written() {
    let p = Project::new();
    let traps = Traps::new();
    let before = traps.fingerprint();
    for (what, target) in traps.all() {
        let (ok, _, err) = p.run(&["--db", s(&target), "stats"]);
        assert!(!ok, "{what} was opened as a project");
        assert!(
            err.contains("is not a Verdikt project file") && err.contains("left untouched"),
            "{what}: {err}"
        );
        assert_eq!(traps.fingerprint(), before, "opening {what} changed it");
    }
    assert!(!journal_beside(&traps.path("contacts.db")));
    let (_, _, err) = p.run(&["--db", s(&traps.path("contacts.db")), "stats"]);
    assert!(err.contains("tables of its own: contacts"), "{err}");
    // Another program's file of its own kind (an application id), and a review pack check.
    let tagged = traps.path("tagged.db");
    let db = rusqlite::Connection::open(&tagged).unwrap();
    db.execute_batch("PRAGMA application_id = 1234;").unwrap();
    drop(db);
    let (ok, _, err) = p.run(&["--db", s(&tagged), "stats"]);
    assert!(!ok && err.contains("application id 0x4d2"), "{err}");
    let before = traps.fingerprint();
    p.ok(&["stats"]);
    let (ok, _, err) = p.run(&["pack", "import", s(&traps.path("contacts.db"))]);
    assert!(!ok && err.contains("is not a review pack"), "{err}");
    assert_eq!(
        traps.fingerprint(),
        before,
        "pack import changed the database"
    );
    assert!(!journal_beside(&traps.path("contacts.db")));
}

#[test]
fn new_and_empty_files_become_marked_projects_and_newer_ones_are_refused() {
    let p = Project::new();
    let empty = p.write("empty.sqlite", "");
    p.ok(&["--db", s(&empty), "stats"]);
    let no_tables = p.path("no-tables.sqlite");
    rusqlite::Connection::open(&no_tables)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0; VACUUM;")
        .unwrap();
    p.ok(&["--db", s(&no_tables), "stats"]);
    for db in [&empty, &no_tables, &p.db()] {
        p.ok(&["--db", s(db), "stats"]);
        let id: i64 = rusqlite::Connection::open(db)
            .unwrap()
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(id, 0x5652_444B, "{} is marked", db.display());
    }
    // A project of a Verdikt from before the mark: recognised by its tables, then marked.
    let conn = rusqlite::Connection::open(p.db()).unwrap();
    conn.execute_batch("PRAGMA application_id = 0;").unwrap();
    drop(conn);
    p.ok(&["stats"]);
    assert_eq!(p.sql::<i64>("PRAGMA application_id"), [0x5652_444B]);
    // A newer Verdikt's project: never migrated downwards.
    let conn = rusqlite::Connection::open(p.db()).unwrap();
    conn.execute_batch("PRAGMA user_version = 999;").unwrap();
    drop(conn);
    let before = fingerprint(p.dir.path());
    let (ok, _, err) = p.run(&["stats"]);
    assert!(
        !ok && err.contains("newer Verdikt") && err.contains("999"),
        "{err}"
    );
    assert_eq!(fingerprint(p.dir.path()), before);
}

#[test]
fn rejects_go_beside_the_project_never_the_working_folder_and_never_where_the_name_says() {
    let p = Project::new();
    let bad = p.write(
        "bad.jsonl",
        "{\"id\": \"x\", \"prompt\": \"p\", \"language\": \"en\"}\n{\"id\": \"y\"}\n",
    );
    let cwd = tempfile::tempdir().unwrap();
    let import = |dataset: &str| {
        let out = p
            .cmd()
            .current_dir(cwd.path())
            .args([
                "import",
                s(&bad),
                "--skip-invalid",
                "--replace",
                "--dataset",
                dataset,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = import("../../escape/me");
    let expected = p.path("project.______escape_me.rejects.jsonl");
    assert!(
        out.contains("rejected 1 rows") && out.contains(s(&expected)),
        "{out}"
    );
    let rejects = std::fs::read_to_string(&expected).unwrap();
    assert_eq!(rejects.lines().count(), 1, "{rejects}");
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing in the working folder"
    );
    assert!(!p.dir.path().parent().unwrap().join("escape").exists());
    // A second import never writes over the first one's rejects.
    let out = import("../../escape/me");
    assert!(
        out.contains("project.______escape_me.rejects-2.jsonl"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), rejects);
}

/// A project of `n` triples in two languages (the texts long enough that an export takes a while).
fn big_project(n: usize) -> Project {
    let p = Project::new();
    let mut jsonl = String::new();
    let text = "a long answer that a trainer will read, ".repeat(40);
    for i in 0..n {
        let lang = ["pl", "cs"][i % 2];
        jsonl.push_str(&format!(
            "{{\"id\": \"{i}\", \"lang\": \"{lang}\", \"category\": \"S{}\", \"prompt\": \"prompt {i}\", \"chosen\": \"no {text}\", \"rejected\": \"yes {text}\"}}\n",
            i % 5 + 1
        ));
    }
    let file = p.write("big.jsonl", jsonl);
    p.ok(&["import", s(&file)]);
    p
}

/// Every file under `path` (or the file itself) with its bytes' hash.
fn tree(path: &Path) -> BTreeMap<String, String> {
    if path.is_file() {
        let hash = format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()));
        return BTreeMap::from([(String::new(), hash)]);
    }
    fingerprint(path)
}

#[test]
fn kill_9_during_each_export_leaves_the_old_target_or_the_new_one_whole() {
    let p = big_project(5_000);
    let exports: Vec<(&str, Vec<&str>)> = ["trl", "trl-chat", "parquet", "csv", "hf"]
        .into_iter()
        .map(|f| (f, vec!["export", "--format", f]))
        .chain([("report", vec!["report"])])
        .collect();
    for (name, command) in exports {
        let file = !matches!(name, "hf" | "report");
        let out = p.path(&format!("out-{name}"));
        // The old target holds only Polish; the new one both languages.
        let args = |target: &Path, old: bool| {
            let mut a: Vec<String> = command.iter().map(|x| x.to_string()).collect();
            a.extend(["--out".into(), s(target).to_string()]);
            if old {
                a.extend(["--language".into(), "pl".into()]);
            }
            if file {
                a.push("--force".into());
            }
            a
        };
        let fresh = p.path(&format!("new-{name}"));
        let started = Instant::now();
        ok(&p, &args(&fresh, false));
        let full = started.elapsed();
        let new = tree(&fresh);
        ok(&p, &args(&out, true));
        let old = tree(&out);
        assert_ne!(old, new);
        let (mut killed, mut finished) = (0, 0);
        // Kills spread over the reference run's time, then two runs given far longer: on a busy
        // machine a run can take past 1.4 times the reference, and one must finish.
        for step in 0..12u32 {
            let delay = if step < 10 {
                full * step / 8
            } else {
                full * 8 * (step - 9)
            };
            let all = args(&out, false);
            let done = kill_after(
                &p,
                &all.iter().map(String::as_str).collect::<Vec<_>>(),
                delay,
            );
            let now = tree(&out);
            assert!(
                now == old || now == new,
                "{name}: after a kill at {delay:?}, half a target"
            );
            if done {
                finished += 1;
                assert_eq!(now, new);
                ok(&p, &args(&out, true));
            } else if now == old {
                killed += 1;
            }
        }
        assert!(
            killed > 0 && finished > 0,
            "{name}: {killed} kills landed, {finished} finished"
        );
    }
}

/// The project's file, each of SQLite's files beside it, and other names of it: a path through
/// `..`, a symlink, a hard link, and a symlink to the (absent) rollback journal.
fn project_spellings(p: &Project) -> Vec<(&'static str, PathBuf)> {
    let db = p.db();
    let beside = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    std::fs::create_dir_all(p.path("sub")).unwrap();
    let link = p.path("link-to-project");
    let hard = p.path("hard-link-to-project");
    let journal = p.path("link-to-journal");
    if !link.exists() {
        std::os::unix::fs::symlink(&db, &link).unwrap();
        std::fs::hard_link(&db, &hard).unwrap();
        std::os::unix::fs::symlink(beside("-journal"), &journal).unwrap();
    }
    vec![
        ("the project", db.clone()),
        ("its WAL", beside("-wal")),
        ("its shared memory", beside("-shm")),
        ("its journal", beside("-journal")),
        ("a path through ..", p.path("sub/../project.sqlite")),
        ("a symlink to it", link),
        ("a hard link to it", hard),
        ("a symlink to its journal", journal),
    ]
}

fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn no_writer_touches_the_open_project_with_or_without_force() {
    let p = project();
    let gguf = common::model();
    let spellings = project_spellings(&p);
    let samples = p.samples();
    let before = sha256(&p.db());
    let mut writers = file_writers(&p);
    writers.push((
        "models tokenizer",
        ["models", "tokenizer", s(&gguf), "--output"]
            .map(String::from)
            .to_vec(),
    ));
    for (writer, args) in &writers {
        for (what, target) in &spellings {
            for force in [false, true] {
                let (ok, _, err) = run(&p, &with_target(args, target, force));
                assert!(!ok, "{writer} (force {force}) wrote to {what}");
                assert!(
                    err.contains("of the project") && err.contains("project.sqlite"),
                    "{writer} (force {force}) on {what}: {err}"
                );
                assert_eq!(
                    sha256(&p.db()),
                    before,
                    "{writer} on {what} changed the project"
                );
            }
        }
    }
    for folder_writer in [
        &["export", "--format", "hf", "--out"][..],
        &["report", "--out"],
    ] {
        let mut args = folder_writer.to_vec();
        args.push(s(p.dir.path()));
        let (ok, _, err) = p.run(&args);
        assert!(
            !ok && err.contains("a folder holding the file"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(sha256(&p.db()), before);
    assert_eq!(p.samples(), samples, "the project still opens, whole");
}

#[test]
fn a_project_open_in_another_process_is_no_target_either() {
    let p = project();
    let other = project();
    // This test process holds the project open, as the window would.
    let open = verdikt_core::store::Store::open(&p.db()).unwrap();
    let before = sha256(&p.db());
    let mut wal = p.db().into_os_string();
    wal.push("-wal");
    for target in [p.db(), PathBuf::from(wal)] {
        let (ok, _, err) =
            other.run(&["export", "--format", "trl", "--force", "--out", s(&target)]);
        assert!(
            !ok && err.contains("open in another Verdikt process"),
            "{err}"
        );
    }
    drop(open);
    assert_eq!(sha256(&p.db()), before);
    // Once nobody has it open, it is a file like any other for another project's export.
    let (ok, _, err) = other.run(&["export", "--format", "trl", "--out", s(&p.db())]);
    assert!(!ok && err.contains("exists already"), "{err}");
}

#[test]
fn a_project_file_carrying_sql_of_its_own_is_refused_before_anything_is_written() {
    let p = project();
    let conn = rusqlite::Connection::open(p.db()).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER wipe AFTER INSERT ON annotations BEGIN DELETE FROM samples; END",
    )
    .unwrap();
    drop(conn);
    let before = fingerprint(p.dir.path());
    let (ok, _, err) = p.run(&["stats"]);
    assert!(
        !ok && err.contains("a trigger `wipe` that Verdikt did not make")
            && err.contains("left untouched"),
        "{err}"
    );
    assert_eq!(fingerprint(p.dir.path()), before);
}
