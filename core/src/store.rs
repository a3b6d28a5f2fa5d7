//! The project file: one SQLite database holding every stage's data.
//!
//! WAL keeps readers (the app's screens) unblocked while an import or guard run writes, and makes
//! every write transaction atomic on disk, so a killed process never leaves half a change behind.
//!
//! A project file may come from anywhere (`--db`, the window's Open, a review pack), so every
//! connection to one is hardened as SQLite advises for untrusted files: defensive mode (no
//! writable schema or other ways for SQL to corrupt the file) and `trusted_schema` off (views,
//! triggers and index expressions cannot call functions with side effects). Before anything is
//! written, the file's schema must be exactly the one Verdikt's migrations make at its version:
//! a view, trigger, index or table of its own (or one of ours redefined) is refused, so no SQL
//! the file carries ever runs in a project.

use std::path::{Path, PathBuf};

use std::collections::HashMap;
use std::ffi::c_int;
use std::sync::Mutex;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};

const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `PRAGMA application_id` of every Verdikt project file ("VRDK"): what tells a project from
/// another program's SQLite file before anything is written to it.
pub const APPLICATION_ID: i32 = 0x5652_444B;

/// Schema history; append new migrations, never edit a released one.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../migrations/0001_initial.sql")),
    M::up(include_str!("../migrations/0002_audit.sql")),
    M::up(include_str!("../migrations/0003_triage.sql")),
    M::up(include_str!("../migrations/0004_guard_fidelity.sql")),
    M::up(include_str!("../migrations/0006_team_audit.sql")),
    M::up(include_str!("../migrations/0008_devices.sql")),
    M::up(include_str!("../migrations/0009_truncated_reason.sql")),
    M::up(include_str!("../migrations/0010_guard_errors.sql")),
    M::up(include_str!("../migrations/0011_guard_batches.sql")),
    M::up(include_str!("../migrations/0012_conversations.sql")),
    M::up(include_str!("../migrations/0013_reviewer_care.sql")),
    M::up(include_str!("../migrations/0014_serve.sql")),
    M::up(include_str!("../migrations/0015_session_last_seen.sql")),
    M::up(include_str!("../migrations/0016_queue_answers.sql")),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the folder for the project file {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the project file {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot bring the project file {path} to the current schema: {source}")]
    Migrate {
        path: PathBuf,
        source: rusqlite_migration::Error,
    },
    #[error("{} is not a Verdikt project file ({why}); it was left untouched", path.display())]
    NotAProject { path: PathBuf, why: String },
    #[error(
        "{} was written by a newer Verdikt (schema version {version}; this one knows up to {known}); it was left untouched: open it with that version or newer",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        version: u32,
        known: usize,
    },
    #[error(
        "{} {what}; it was left untouched (a project file from elsewhere may hold SQL of its own, which Verdikt never runs)",
        path.display()
    )]
    ForeignSchema { path: PathBuf, what: String },
    #[error("no data directory is known for this user; pass --db PATH or set VERDIKT_DB")]
    NoDataDir,
    #[error("no sample `{ext_id}`{}", in_dataset(dataset))]
    UnknownSample {
        ext_id: String,
        dataset: Option<String>,
    },
    #[error("sample `{ext_id}` is in several datasets ({}); name one with --dataset", datasets.join(", "))]
    AmbiguousSample {
        ext_id: String,
        datasets: Vec<String>,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

fn in_dataset(dataset: &Option<String>) -> String {
    dataset
        .as_ref()
        .map(|d| format!(" in dataset `{d}`"))
        .unwrap_or_default()
}

/// SQLite keeps memory statistics under one process-wide mutex taken on every allocation, so
/// connections working at once on several threads (`verdikt serve`'s requests) queue on it:
/// profiled under 50 reviewers, a fifth of the server's time went to waking threads blocked
/// there. Verdikt reads no memory statistics. This can only be set before SQLite initializes,
/// that is before the process's first connection; later it is refused and changes nothing.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a configuration call with an int argument, made once, before any connection
        // of this process (the first `Store::open`); SQLite refuses it harmlessly otherwise.
        unsafe {
            rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        }
    });
}

/// What a file at a project path is, as read without writing to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectFile {
    /// Missing, empty, or an SQLite database without tables: it becomes a project.
    New,
    /// A Verdikt project; `version` is its schema version (migrations applied).
    Marked { version: u32 },
    /// A project of a Verdikt that did not mark its files yet; marked when opened.
    Unmarked { version: u32 },
}

/// Offsets in the SQLite file header (https://sqlite.org/fileformat.html).
const HEADER_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const USER_VERSION_AT: usize = 60;
const APPLICATION_ID_AT: usize = 68;

/// Tells a project from another program's file by its header and, for a file without a mark,
/// its tables, read through an immutable connection (no locks, no `-wal`/`-shm` created).
pub fn inspect(path: &Path) -> Result<ProjectFile, StoreError> {
    let not_a_project = |why: &str| StoreError::NotAProject {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let io_err = |e: std::io::Error| not_a_project(&format!("cannot read it: {e}"));
    if path.is_dir() {
        return Err(not_a_project("it is a folder"));
    }
    let mut header = Vec::with_capacity(100);
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ProjectFile::New),
        Err(e) => return Err(io_err(e)),
        Ok(file) => {
            use std::io::Read;
            file.take(100).read_to_end(&mut header).map_err(io_err)?;
        }
    }
    if header.is_empty() {
        return Ok(ProjectFile::New);
    }
    if header.len() < 100 || !header.starts_with(HEADER_MAGIC) {
        return Err(not_a_project("it is not an SQLite database"));
    }
    let word = |at: usize| u32::from_be_bytes(header[at..at + 4].try_into().expect("4 bytes"));
    let version = word(USER_VERSION_AT);
    match word(APPLICATION_ID_AT) as i32 {
        APPLICATION_ID => return Ok(ProjectFile::Marked { version }),
        0 => {}
        other => {
            return Err(not_a_project(&format!(
                "it is another program's SQLite database, application id {other:#x}"
            )));
        }
    }
    let tables = tables_of(path).map_err(|e| not_a_project(&e.to_string()))?;
    let ours = ["project", "samples"]
        .iter()
        .all(|t| tables.contains(&t.to_string()));
    if ours && version > 0 {
        return Ok(ProjectFile::Unmarked { version });
    }
    if !tables.is_empty() {
        return Err(not_a_project(&format!(
            "it is an SQLite database with tables of its own: {}",
            tables.join(", ")
        )));
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(not_a_project(
            "it is an SQLite database with changes of another program not yet saved into it",
        ));
    }
    Ok(ProjectFile::New)
}

/// The table names of the SQLite file at `path`, read without writing anything.
fn tables_of(path: &Path) -> rusqlite::Result<Vec<String>> {
    let escaped: String = path
        .to_string_lossy()
        .chars()
        .map(|c| match c {
            '%' => "%25".into(),
            '?' => "%3f".into(),
            '#' => "%23".into(),
            c => c.to_string(),
        })
        .collect();
    let conn = Connection::open_with_flags(
        format!("file:{escaped}?immutable=1"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )?;
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

/// SQLite's settings for a database file that may come from anywhere
/// (<https://sqlite.org/security.html>): set on every connection before it reads anything.
pub(crate) fn harden(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    Ok(())
}

/// One schema object as compared: type, name, and its SQL with identifier quotes and runs of
/// white space taken out (SQLite's `RENAME TO` rewrites a table's SQL with quotes).
type SchemaObject = (String, String, Option<String>);

fn schema_of(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    // SQLite's own automatic indexes and statistics tables are not SQL anyone wrote.
    let mut stmt = conn.prepare(
        r"SELECT type, name, sql FROM main.sqlite_schema
         WHERE NOT (type = 'index' AND name LIKE 'sqlite\_autoindex\_%' ESCAPE '\' AND sql IS NULL)
           AND NOT (type = 'table' AND name IN ('sqlite_stat1', 'sqlite_stat4'))
         ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| {
        let sql: Option<String> = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            sql.map(|s| {
                s.replace(['"', '`'], "")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        ))
    })?;
    rows.collect()
}

/// The schema Verdikt's migrations make at `version`, computed once per version.
fn reference_schema(version: u32) -> Result<Vec<SchemaObject>, StoreError> {
    static KNOWN: Mutex<Option<HashMap<u32, Vec<SchemaObject>>>> = Mutex::new(None);
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    let known = known.get_or_insert_default();
    if let Some(schema) = known.get(&version) {
        return Ok(schema.clone());
    }
    let mut conn = Connection::open_in_memory()?;
    Migrations::from_slice(MIGRATIONS)
        .to_version(&mut conn, version as usize)
        .map_err(|source| StoreError::Migrate {
            path: PathBuf::from(":memory:"),
            source,
        })?;
    let schema = schema_of(&conn)?;
    known.insert(version, schema.clone());
    Ok(schema)
}

/// Refuses a file whose schema is not exactly Verdikt's at its version, naming the first object
/// that differs. The version is read through the connection: the header on disk is stale while
/// another connection's changes are still in the WAL.
pub(crate) fn check_schema(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            version,
            known: MIGRATIONS.len(),
        });
    }
    let found = schema_of(conn)?;
    let expected = reference_schema(version)?;
    let foreign = |what: String| StoreError::ForeignSchema {
        path: path.to_path_buf(),
        what,
    };
    if let Some((kind, name, _)) = found.iter().find(|o| !expected.contains(o)) {
        let ours = expected.iter().any(|e| &e.0 == kind && &e.1 == name);
        return Err(foreign(if ours {
            format!("carries Verdikt's {kind} `{name}` redefined")
        } else {
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!("carries {article} {kind} `{name}` that Verdikt did not make")
        }));
    }
    if let Some((kind, name, _)) = expected.iter().find(|o| !found.contains(o)) {
        return Err(foreign(format!("lacks Verdikt's {kind} `{name}`")));
    }
    Ok(())
}

/// Whether `e` (or an error it wraps) is SQLite's busy or locked: another connection holds the
/// write lock and nothing was stored, so the same request may be sent again.
pub fn is_busy(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = err.downcast_ref::<rusqlite::Error>()
            && matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        {
            return true;
        }
        next = err.source();
    }
    false
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Keeps every writer off this file while it is open (`open_project.rs`).
    _registration: crate::open_project::Registration,
}

impl Store {
    /// The project file used when neither `--db` nor `VERDIKT_DB` names one.
    pub fn default_path() -> Result<PathBuf, StoreError> {
        let dir = crate::paths::data_dir().ok_or(StoreError::NoDataDir)?;
        Ok(dir.join("verdikt.sqlite"))
    }

    /// Opens (creating if needed) the project file and migrates it to the current schema.
    /// Another program's SQLite file, or a project of a newer Verdikt, is refused before
    /// anything is written to it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        without_memory_statistics();
        let found = inspect(path)?;
        if let ProjectFile::Marked { version } | ProjectFile::Unmarked { version } = found
            && version as usize > MIGRATIONS.len()
        {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                version,
                known: MIGRATIONS.len(),
            });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        harden(&conn).map_err(open_err)?;
        if matches!(
            found,
            ProjectFile::Marked { .. } | ProjectFile::Unmarked { .. }
        ) {
            check_schema(&conn, path)?;
        }
        // 8 KiB pages (new files only; must precede WAL): samples are long texts, and at 4 KiB
        // a page holds two rows with a quarter of it wasted. Measured 15% faster imports.
        // The mark goes in before WAL, so it is in the file itself even if this run is killed.
        if !matches!(found, ProjectFile::Marked { .. }) {
            conn.execute_batch(&format!(
                "PRAGMA page_size = 8192; PRAGMA application_id = {APPLICATION_ID};"
            ))
            .map_err(open_err)?;
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;",
        )
        .map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Room for every statement of one review step (session, queue walk, view, answer,
        // triggers' follow-ups) so a served reviewer's next step prepares nothing.
        conn.set_prepared_statement_cache_capacity(64);
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            _registration: crate::open_project::opened(path),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Runs `f` with the project set up for a large write transaction (an import).
    ///
    /// WAL writes every page twice, to the log and again at checkpoint. When no other
    /// connection has the project open, the rollback journal takes over for the duration: new
    /// pages need no journal, so they are written once. Atomicity is unchanged: a killed
    /// import leaves a hot journal that SQLite rolls back on the next open, and `open` puts
    /// the project back in WAL mode. With readers present (the app), it stays in WAL.
    pub fn with_bulk_writes<T>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> T,
    ) -> Result<T, StoreError> {
        // Never wait for readers here: WAL is the fallback, not an error.
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap_or_else(|_| "wal".into());
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // FULL: in rollback-journal mode NORMAL could lose the commit on power failure.
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA cache_size = -131072;")?;
        let out = f(&mut self.conn);
        let restored = self.conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -2000;",
        );
        log::debug!("bulk write ran in journal mode {mode}");
        restored?;
        Ok(out)
    }

    /// The random id minted when the project file was created; review packs carry it.
    pub fn project_id(&self) -> Result<String, StoreError> {
        Ok(self.conn.query_row(
            "SELECT value FROM project WHERE key = 'project_id'",
            [],
            |r| r.get(0),
        )?)
    }

    /// The stored id of the sample imported as `ext_id`; `dataset` tells apart two datasets
    /// that share the id (ids are only unique within a dataset).
    pub fn resolve_sample(&self, ext_id: &str, dataset: Option<&str>) -> Result<i64, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.id, d.name FROM samples AS s JOIN datasets AS d ON d.id = s.dataset_id
             WHERE s.ext_id = ?1 AND (?2 IS NULL OR d.name = ?2) ORDER BY d.name",
        )?;
        let found: Vec<(i64, String)> = stmt
            .query_map(rusqlite::params![ext_id, dataset], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        match found.as_slice() {
            [(id, _)] => Ok(*id),
            [] => Err(StoreError::UnknownSample {
                ext_id: ext_id.to_string(),
                dataset: dataset.map(String::from),
            }),
            many => Err(StoreError::AmbiguousSample {
                ext_id: ext_id.to_string(),
                datasets: many.iter().map(|(_, d)| d.clone()).collect(),
            }),
        }
    }
}

/// One setting of the project table (`guards`, `judge`, audit settings, question wording).
pub(crate) fn project_setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM project WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Stores a project setting; `None` removes it (back to the default).
pub(crate) fn set_project_setting(
    conn: &Connection,
    key: &str,
    value: Option<&str>,
) -> rusqlite::Result<()> {
    match value {
        None => conn.execute("DELETE FROM project WHERE key = ?1", [key])?,
        Some(value) => conn.execute(
            "INSERT INTO project (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(MIGRATIONS).validate().unwrap();
    }

    #[test]
    fn team_audit_migration_keeps_reasons_and_the_queue_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        let mut old = Connection::open(&path).unwrap();
        Migrations::from_slice(&MIGRATIONS[..3])
            .to_latest(&mut old)
            .unwrap();
        old.execute_batch(
            "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt) VALUES (1, 1, 'a', 'pl', 'p');
             INSERT INTO triage_reasons (sample_id, reason, detail) VALUES (1, 'uncertain', 'run 1');",
        )
        .unwrap();
        drop(old);
        let store = Store::open(&path).unwrap();
        let c = store.conn();
        let detail: String = c
            .query_row("SELECT detail FROM triage_reasons", [], |r| r.get(0))
            .unwrap();
        assert_eq!(detail, "run 1");
        c.execute_batch(
            "INSERT INTO triage_reasons (sample_id, reason) VALUES (1, 'reviewers_disagree');
             DELETE FROM triage_reasons WHERE reason = 'uncertain';",
        )
        .unwrap();
        let priority: i64 = c
            .query_row(
                "SELECT priority FROM triage_queue WHERE sample_id = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(priority, 8, "the queue triggers came back");
        assert!(
            c.execute(
                "INSERT INTO triage_reasons (sample_id, reason) VALUES (1, 'bogus')",
                []
            )
            .is_err(),
            "reasons are those of triage_priority"
        );
    }

    /// A project answered before migration 0016 keeps its queue: each queued sample's answers
    /// and needed answers are computed from what is stored, and the triggers take over.
    #[test]
    fn queue_answers_migration_counts_what_was_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        let mut old = Connection::open(&path).unwrap();
        let before = MIGRATIONS.len() - 1;
        Migrations::from_slice(&MIGRATIONS[..before])
            .to_latest(&mut old)
            .unwrap();
        old.execute_batch(
            "INSERT INTO project (key, value) VALUES ('config.answers-per-sample', '2');
             INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt) VALUES
               (1, 1, 'a', 'pl', 'p'), (2, 1, 'b', 'pl', 'p'), (3, 1, 'c', 'pl', 'p');
             INSERT INTO triage_reasons (sample_id, reason) SELECT id, 'uncertain' FROM samples;
             INSERT INTO reviewers (id, name, languages) VALUES (1, 'ana', '[\"pl\"]'), (2, 'ola', '[\"pl\"]');
             INSERT INTO annotations (sample_id, reviewer_id, version, q1) VALUES
               (1, 1, 1, 'yes'), (1, 1, 2, 'no'), (1, 2, 1, 'yes'), (2, 1, 1, 'yes');",
        )
        .unwrap();
        drop(old);
        let store = Store::open(&path).unwrap();
        let queue = |c: &Connection| -> Vec<(i64, i64, i64)> {
            c.prepare("SELECT sample_id, answers, needed FROM triage_queue ORDER BY sample_id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(queue(store.conn()), [(1, 2, 2), (2, 1, 2), (3, 0, 2)]);
        store
            .conn()
            .execute(
                "INSERT INTO annotations (sample_id, reviewer_id, version, q1) VALUES (2, 2, 1, 'no')",
                [],
            )
            .unwrap();
        assert_eq!(queue(store.conn())[1], (2, 2, 2), "the trigger counts on");
    }

    #[test]
    fn a_second_connection_opens_while_the_first_holds_the_schema_in_its_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        // The first connection's migrations are still in the WAL: the header on disk says
        // version 0 while the schema is whole (the app's window and a job's worker).
        let first = Store::open(&path).unwrap();
        let second = Store::open(&path).unwrap();
        assert_eq!(first.project_id().unwrap(), second.project_id().unwrap());
    }

    #[test]
    fn opens_twice_with_foreign_keys_and_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/p.sqlite");
        let id = Store::open(&path).unwrap().project_id().unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.project_id().unwrap(),
            id,
            "reopening keeps the project"
        );
        let fk: i64 = store
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!((fk, mode.as_str()), (1, "wal"));
        let page: i64 = store
            .conn()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(page, 8192);
    }

    #[test]
    fn bulk_writes_return_to_wal_and_stay_in_wal_with_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        let mut store = Store::open(&path).unwrap();
        let mode = |c: &Connection| {
            c.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
                .unwrap()
        };
        let inside = store.with_bulk_writes(|c| mode(c)).unwrap();
        assert_eq!(
            (inside.as_str(), mode(store.conn()).as_str()),
            ("delete", "wal")
        );
        let reader = Connection::open(&path).unwrap();
        reader
            .query_row("SELECT count(*) FROM samples", [], |r| r.get::<_, i64>(0))
            .unwrap();
        let inside = store.with_bulk_writes(|c| mode(c)).unwrap();
        assert_eq!(inside, "wal", "another connection keeps the project in WAL");
    }

    #[test]
    fn samples_resolve_by_imported_id_and_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'a', 'jsonl', '[]'), (2, 'b', 'jsonl', '[]');
                 INSERT INTO samples (id, dataset_id, ext_id, language, prompt)
                 VALUES (10, 1, 'x', 'en', 'p'), (20, 2, 'x', 'en', 'p'), (30, 2, 'y', 'en', 'p');",
            )
            .unwrap();
        assert_eq!(store.resolve_sample("y", None).unwrap(), 30);
        assert_eq!(store.resolve_sample("x", Some("b")).unwrap(), 20);
        let err = store.resolve_sample("x", None).unwrap_err();
        assert!(
            matches!(&err, StoreError::AmbiguousSample { datasets, .. } if datasets == &["a", "b"])
        );
        assert!(err.to_string().contains("`x`") && err.to_string().contains("a, b"));
        let err = store.resolve_sample("y", Some("a")).unwrap_err();
        assert_eq!(err.to_string(), "no sample `y` in dataset `a`");
        assert!(matches!(
            store.resolve_sample("z", None),
            Err(StoreError::UnknownSample { .. })
        ));
    }

    #[test]
    fn annotations_cannot_be_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
                 INSERT INTO samples (id, dataset_id, ext_id, language, prompt) VALUES (1, 1, 'a', 'en', 'p');
                 INSERT INTO reviewers (id, name) VALUES (1, 'ana');
                 INSERT INTO annotations (sample_id, reviewer_id, version, q1) VALUES (1, 1, 1, 'yes');",
            )
            .unwrap();
        assert!(
            store
                .conn()
                .execute("UPDATE annotations SET q1 = 'no'", [])
                .is_err()
        );
        assert!(store.conn().execute("DELETE FROM annotations", []).is_err());
        assert!(
            store.conn().execute("DELETE FROM samples", []).is_err(),
            "answers pin their sample"
        );
    }
}
