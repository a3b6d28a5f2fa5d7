//! Import: files in the formats users have → validated samples → one dataset in the store.
//!
//! An import is one SQLite transaction, so it either completes or changes nothing, also when
//! the process is killed. Reading and validation run on a worker thread while the calling
//! thread stores the rows in a temporary table, which keeps both cores busy on large files and
//! takes no lock on the project; the transaction then copies them in, so it holds the write lock
//! (and keeps the served reviewers' answers waiting) only for the copy. A dry run reads the same
//! way and stores nothing.
//!
//! The parts:
//! - `source.rs` expands paths (dataset folders, format detection, language/split from paths)
//! - `read.rs` (JSONL, JSON, CSV) and `parquet.rs` turn files into rows of JSON values with their
//!   line
//! - `mapping.rs` turns a row into samples (aliases, `--map`, message lists, wide tables,
//!   validation)
//! - `staging.rs` runs the reader on a worker thread into the temporary table; `mod.rs` copies
//!   it in, in one transaction (or, `dry_run`, stores nothing)
//! - `compression.rs` gzip/zstd/bzip2/xz by magic bytes, streamed
//! - `conversation.rs` implicit-prompt pairs split at turn boundaries (message lists, role
//!   markers), and a prompt's earlier turns as a `Conversation` stored in `samples.turns`
//!   (migration 0012) with the layout it came in, which `export/jsonl.rs` writes back (message
//!   lists, or text with the same markers)
//! - `layout.rs` what was recognised, in words

mod compression;
mod conversation;
mod layout;
mod mapping;
mod parquet;
mod read;
mod source;
mod staging;

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

pub use conversation::{Conversation, Markers, Role, Turn, TurnLayout};
pub use layout::Layout;
pub use mapping::FieldProblem;
use mapping::{Mapper, RowDefaults};
pub use read::{ReadFailure, Row};
pub use source::{FileFormat, InputFormat, SourceFile};

use crate::sample::{Field, NewSample, normalise_language, normalise_split};
use crate::staged::Staged;
use crate::store::Store;

/// What `verdikt import` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Dataset name; defaults to the first path's file or folder name.
    pub dataset: Option<String>,
    pub format: InputFormat,
    /// Language for rows that carry none (before the path's).
    pub language: Option<String>,
    /// Split for rows that carry none (before the path's).
    pub split: Option<String>,
    /// `--map FIELD=COLUMN`.
    pub mappings: Vec<(Field, String)>,
    /// Store the valid rows and write the others to `rejects`.
    pub skip_invalid: bool,
    /// Where rejected rows go with `skip_invalid` (default: beside the project file, see
    /// `rejects_default`).
    pub rejects: Option<PathBuf>,
    /// Replace an existing file at `rejects`.
    pub force: bool,
    /// Replace a dataset of the same name.
    pub replace: bool,
    /// `--roles`: the role markers of implicit-prompt texts (default: detected).
    pub roles: Option<Markers>,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ImportProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub rows: u64,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub dataset: String,
    pub samples: u64,
    pub triples: u64,
    pub prompt_only: u64,
    pub rejected: u64,
    pub rejects_file: Option<PathBuf>,
    pub replaced: bool,
    pub files: Vec<SourceFile>,
    pub notes: Vec<String>,
    /// How the rows were read, for the command line's summary (not yet in the app's bindings).
    #[serde(skip)]
    pub layout: Layout,
}

/// One bad row field, located in its file.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowProblem {
    pub path: PathBuf,
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.path.display(),
            self.line,
            self.field,
            self.message
        )
    }
}

/// How many row problems an error keeps in full; the rest are only counted.
pub const PROBLEMS_SHOWN: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: {message}", path.display())]
    BadPath { path: PathBuf, message: String },
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Unreadable {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    #[error("{}: the file has no rows", path.display())]
    Empty { path: PathBuf },
    #[error("{total} invalid row problem(s); nothing was imported")]
    Invalid {
        problems: Vec<RowProblem>,
        total: u64,
    },
    #[error(
        "no valid rows; nothing was imported{}",
        rejects_file.as_ref().map(|f| format!("; the reasons are in {}", f.display())).unwrap_or_default()
    )]
    NothingValid { rejects_file: Option<PathBuf> },
    #[error("a dataset named `{0}` exists already; pass --replace to replace it")]
    Exists(String),
    #[error("dataset `{0}` has reviewers' answers; replacing it would lose them, so it was kept")]
    HasAnswers(String),
    #[error("{0}")]
    BadOption(String),
    #[error("cancelled; nothing was imported")]
    Cancelled,
    #[error(transparent)]
    RejectsTarget(#[from] crate::staged::StageError),
    #[error("cannot write the rejects file {}: {source}", path.display())]
    Rejects {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Project(#[from] crate::store::StoreError),
}

enum Item {
    Sample(Box<NewSample>, String),
    Reject {
        file: usize,
        line: u64,
        problems: Vec<FieldProblem>,
        raw: Option<read::Row>,
    },
}

struct Batch {
    items: Vec<Item>,
    bytes_done: u64,
    rows: u64,
}

const BATCH: usize = 512;

/// Runs an import. `progress` is called after every batch; setting `cancel` rolls it back.
pub fn import(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
    cancel: &AtomicBool,
) -> Result<ImportReport, ImportError> {
    let inputs = inputs(paths, opts)?;
    let bytes_total = inputs
        .files
        .iter()
        .map(|f| std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0))
        .sum();
    let plan = Plan {
        dataset: inputs.dataset,
        paths,
        files: inputs.files,
        notes: inputs.notes,
        defaults: inputs.defaults,
        bytes_total,
        project: store.path().to_path_buf(),
    };
    // The rejects file's target is settled before the project is touched: a refused one (an
    // existing file, the project itself) leaves the project byte for byte as it was.
    let rejects = match (opts.skip_invalid, &opts.rejects) {
        (false, _) => None,
        (true, Some(path)) => Some(Staged::file(path, opts.force)?),
        (true, None) => Some(rejects_default(&plan.project, &plan.dataset)?),
    };
    store.with_bulk_writes(|conn| write(conn, &plan, rejects, opts, progress, cancel))?
}

/// What an import reads, settled from the options before anything is read.
struct Inputs {
    dataset: String,
    files: Vec<SourceFile>,
    notes: Vec<String>,
    /// `--language` and `--split`, normalised.
    defaults: (Option<String>, Option<String>),
}

fn inputs(paths: &[PathBuf], opts: &ImportOptions) -> Result<Inputs, ImportError> {
    let first = paths
        .first()
        .ok_or_else(|| ImportError::BadOption("no input path given".into()))?;
    let dataset = match &opts.dataset {
        Some(name) if !name.trim().is_empty() => name.trim().to_string(),
        Some(_) => {
            return Err(ImportError::BadOption(
                "--dataset: the name is empty".into(),
            ));
        }
        None => default_name(first),
    };
    let language = opts
        .language
        .as_deref()
        .map(normalise_language)
        .transpose()
        .map_err(|m| ImportError::BadOption(format!("--language: {m}")))?;
    let split = opts
        .split
        .as_deref()
        .map(normalise_split)
        .transpose()
        .map_err(|m| ImportError::BadOption(format!("--split: {m}")))?;
    let resolved = source::resolve(paths, opts.format)
        .map_err(|(path, message)| ImportError::BadPath { path, message })?;
    Ok(Inputs {
        dataset,
        files: resolved.files,
        notes: resolved.notes,
        defaults: (language, split),
    })
}

/// What `verdikt import --dry-run` found: everything an import would store, without a project.
#[derive(Debug)]
pub struct DryRun {
    pub dataset: String,
    pub layout: Layout,
    /// The first sample as it would be stored.
    pub first: Option<NewSample>,
    pub samples: u64,
    /// Rows an import would refuse (or, with `--skip-invalid`, leave out).
    pub rejected: u64,
    pub notes: Vec<String>,
}

/// Reads and maps every row as an import would, storing nothing.
pub fn dry_run(paths: &[PathBuf], opts: &ImportOptions) -> Result<DryRun, ImportError> {
    let inputs = inputs(paths, opts)?;
    let (tx_batches, rx_batches) = mpsc::sync_channel::<Batch>(8);
    let mut run = DryRun {
        dataset: inputs.dataset,
        layout: Layout::default(),
        first: None,
        samples: 0,
        rejected: 0,
        notes: inputs.notes,
    };
    run.layout = std::thread::scope(|scope| {
        let worker = scope.spawn(|| read_all(&inputs.files, opts, &inputs.defaults, tx_batches));
        for item in rx_batches.iter().flat_map(|b| b.items) {
            match item {
                Item::Sample(sample, _) => {
                    run.samples += 1;
                    run.first.get_or_insert(*sample);
                }
                Item::Reject { .. } => run.rejected += 1,
            }
        }
        worker.join().expect("the import reader does not panic")
    })?;
    Ok(run)
}

/// What an import will read and where it will go, settled before anything is written.
struct Plan<'a> {
    dataset: String,
    paths: &'a [PathBuf],
    files: Vec<SourceFile>,
    notes: Vec<String>,
    /// `--language` and `--split`, normalised.
    defaults: (Option<String>, Option<String>),
    bytes_total: u64,
    /// The project file, beside which the rejects file goes by default.
    project: PathBuf,
}

/// Stores the plan's rows as one transaction, which holds the project's write lock only for
/// the copy: every row is first read, validated and staged in a temporary table (`staging.rs`),
/// which takes no lock on the project, and then copied in at once.
fn write(
    conn: &mut rusqlite::Connection,
    plan: &Plan,
    rejects_staged: Option<Staged>,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
    cancel: &AtomicBool,
) -> Result<ImportReport, ImportError> {
    // Refused before the files are read; checked again under the lock.
    existing_dataset(conn, &plan.dataset, opts)?;
    let rejects_path = rejects_staged.as_ref().map(|s| s.target().to_path_buf());
    let staged = staging::Table::create(conn)?;
    let out = stage_then_copy(conn, plan, rejects_staged, opts, progress, cancel);
    staged.drop_from(conn);
    let (mut report, locked) = out?;
    report.rejects_file = rejects_path;
    log::info!(
        "import of {} samples held the project's write lock for {:.3} s",
        report.samples,
        locked.as_secs_f64()
    );
    Ok(report)
}

fn stage_then_copy(
    conn: &mut rusqlite::Connection,
    plan: &Plan,
    rejects_staged: Option<Staged>,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
    cancel: &AtomicBool,
) -> Result<(ImportReport, std::time::Duration), ImportError> {
    let staged = staging::stage(conn, plan, opts, rejects_staged.as_ref(), progress, cancel)?;
    if staged.problem_count > 0 && !opts.skip_invalid {
        return Err(ImportError::Invalid {
            problems: staged.problems,
            total: staged.problem_count,
        });
    }
    if staged.samples == 0 {
        return Err(ImportError::NothingValid {
            rejects_file: rejects_staged.map(|s| s.target().to_path_buf()),
        });
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let locked = std::time::Instant::now();
    let existing = existing_dataset(&tx, &plan.dataset, opts)?;
    if let Some(id) = existing {
        tx.execute("DELETE FROM datasets WHERE id = ?1", [id])?;
    }
    let formats: Vec<&str> = plan
        .files
        .iter()
        .map(|f| f.format.name())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let sources: Vec<String> = plan
        .paths
        .iter()
        .map(|p| {
            std::path::absolute(p)
                .unwrap_or(p.clone())
                .display()
                .to_string()
        })
        .collect();
    tx.execute(
        "INSERT INTO datasets (name, format, sources) VALUES (?1, ?2, ?3)",
        params![
            plan.dataset,
            formats.join("+"),
            serde_json::to_string(&sources).expect("strings serialise")
        ],
    )?;
    staging::copy_into(&tx, tx.last_insert_rowid())?;
    // A failed import leaves no rejects file (the staged one is dropped).
    if let Some(rejects) = rejects_staged {
        rejects.commit()?;
    }
    tx.commit()?;
    let locked = locked.elapsed();
    Ok((
        ImportReport {
            dataset: plan.dataset.clone(),
            samples: staged.samples,
            triples: staged.triples,
            prompt_only: staged.samples - staged.triples,
            rejected: staged.rejected,
            rejects_file: None,
            replaced: existing.is_some(),
            files: plan.files.clone(),
            notes: plan.notes.clone(),
            layout: staged.layout,
        },
        locked,
    ))
}

/// The dataset of that name already in the project: an error unless `--replace`, and then
/// only when no reviewer answered any of its samples.
fn existing_dataset(
    conn: &rusqlite::Connection,
    dataset: &str,
    opts: &ImportOptions,
) -> Result<Option<i64>, ImportError> {
    let existing: Option<i64> = conn
        .query_row("SELECT id FROM datasets WHERE name = ?1", [dataset], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(id) = existing else {
        return Ok(None);
    };
    if !opts.replace {
        return Err(ImportError::Exists(dataset.to_string()));
    }
    let answered: i64 = conn.query_row(
        "SELECT count(*) FROM annotations a JOIN samples s ON s.id = a.sample_id WHERE s.dataset_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if answered > 0 {
        return Err(ImportError::HasAnswers(dataset.to_string()));
    }
    Ok(Some(id))
}

/// The default rejects file: beside the project file, named after it and the dataset
/// (`PROJECT.DATASET.rejects.jsonl`, numbered when taken), the dataset's name reduced to a safe
/// file name so it can never point elsewhere.
fn rejects_default(project: &Path, dataset: &str) -> Result<Staged, ImportError> {
    let safe: String = dataset
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = project
        .file_stem()
        .map_or("project".into(), |s| s.to_string_lossy());
    let dir = project.parent().unwrap_or(Path::new("."));
    for n in 1.. {
        let number = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let path = dir.join(format!("{stem}.{safe}.rejects{number}.jsonl"));
        match Staged::file(&path, false) {
            Err(crate::staged::StageError::Exists { .. }) => continue,
            other => return Ok(other?),
        }
    }
    unreachable!("some number is free")
}

/// The files `paths` stand for, with their detected formats (folders expanded).
pub fn detect(paths: &[PathBuf], format: InputFormat) -> Result<Vec<SourceFile>, ImportError> {
    source::resolve(paths, format)
        .map(|r| r.files)
        .map_err(|(path, message)| ImportError::BadPath { path, message })
}

/// One previewed row: where it is, what it holds, and what it maps to.
#[derive(Clone, Debug)]
pub struct PreviewRow {
    pub line: u64,
    pub raw: Option<read::Row>,
    pub result: Result<Vec<NewSample>, Vec<FieldProblem>>,
}

/// Reads up to `limit` rows of one file and maps them without storing anything: what an
/// import would do to them (the app's import preview, and the fuzz targets' entry point).
pub fn preview(
    file: &SourceFile,
    opts: &ImportOptions,
    limit: usize,
) -> Result<Vec<PreviewRow>, ImportError> {
    let defaults = RowDefaults {
        language: opts.language.clone().or(file.language.clone()),
        split: opts.split.clone().or(file.split.clone()),
    };
    let mut mapper = Mapper::new(&opts.mappings, defaults).with_roles(opts.roles.clone());
    let mut rows = Vec::new();
    read_file(file, &mut |line, row, _| {
        let raw = row.as_ref().ok().cloned();
        let result = row.map_err(|p| vec![p]).and_then(|r| mapper.map(r));
        rows.push(PreviewRow { line, raw, result });
        if rows.len() >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .map_err(|f| ImportError::Unreadable {
        path: file.path.clone(),
        line: f.line,
        message: f.message,
    })?;
    Ok(rows)
}

fn read_file(file: &SourceFile, sink: &mut read::Sink) -> Result<(), ReadFailure> {
    match file.format {
        FileFormat::Jsonl => read::jsonl(&file.path, sink),
        FileFormat::Json => read::json_array(&file.path, sink),
        FileFormat::Csv => read::csv(&file.path, b',', sink),
        FileFormat::Tsv => read::csv(&file.path, b'\t', sink),
        FileFormat::Parquet => parquet::parquet(&file.path, sink),
    }
}

/// `refuseu.jsonl` → `refuseu`; `data/RefusEU/` → `RefusEU`.
fn default_name(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or(path.to_path_buf());
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    match name.split_once('.') {
        Some((stem, _)) if !stem.is_empty() && abs.is_file() => stem.to_string(),
        _ => name,
    }
}

fn write_reject(
    out: &mut impl Write,
    path: &Path,
    line: u64,
    problems: &[FieldProblem],
    raw: Option<read::Row>,
) -> std::io::Result<()> {
    let errors: Vec<_> = problems
        .iter()
        .map(|p| serde_json::json!({"field": p.field, "message": p.message}))
        .collect();
    let record = serde_json::json!({"file": path.display().to_string(), "line": line, "errors": errors, "row": raw});
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")
}

/// The worker: reads every file, maps and validates rows, checks id uniqueness, and sends
/// batches; returns how the rows were laid out. Stops early when the receiver hangs up
/// (cancel or failure).
fn read_all(
    files: &[SourceFile],
    opts: &ImportOptions,
    (language, split): &(Option<String>, Option<String>),
    out: mpsc::SyncSender<Batch>,
) -> Result<Layout, ImportError> {
    let mut layout = Layout::default();
    let mut seen: HashMap<String, (usize, u64)> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    let (mut bytes_before, mut rows) = (0u64, 0u64);
    for (index, file) in files.iter().enumerate() {
        let mut mapper = Mapper::new(
            &opts.mappings,
            RowDefaults {
                language: language.clone().or_else(|| file.language.clone()),
                split: split.clone().or_else(|| file.split.clone()),
            },
        )
        .with_roles(opts.roles.clone());
        let mut file_rows = 0u64;
        let mut hung_up = false;
        let mut sink = |line: u64, row: Result<read::Row, FieldProblem>, consumed: u64| {
            file_rows += 1;
            rows += 1;
            let raw = match (&row, opts.skip_invalid) {
                (Ok(r), true) => Some(r.clone()),
                _ => None,
            };
            let mapped = row.map_err(|p| vec![p]).and_then(|r| mapper.map(r));
            match mapped {
                Ok(samples) => {
                    for s in samples {
                        if let Some((f, l)) = seen.get(&s.ext_id) {
                            let at = format!("{}:{l}", files[*f].path.display());
                            let message = format!(
                                "`{}` is already used at {at}; ids must be unique",
                                s.ext_id
                            );
                            batch.push(Item::Reject {
                                file: index,
                                line,
                                problems: vec![FieldProblem {
                                    field: "id".into(),
                                    message,
                                }],
                                raw: raw.clone(),
                            });
                            continue;
                        }
                        seen.insert(s.ext_id.clone(), (index, line));
                        let metadata =
                            serde_json::to_string(&s.metadata).expect("JSON values serialise");
                        batch.push(Item::Sample(Box::new(s), metadata));
                    }
                }
                Err(problems) => batch.push(Item::Reject {
                    file: index,
                    line,
                    problems,
                    raw,
                }),
            }
            if batch.len() >= BATCH {
                let items = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if out
                    .send(Batch {
                        items,
                        bytes_done: bytes_before + consumed,
                        rows,
                    })
                    .is_err()
                {
                    hung_up = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        };
        read_file(file, &mut sink).map_err(|f| ImportError::Unreadable {
            path: file.path.clone(),
            line: f.line,
            message: f.message,
        })?;
        if hung_up {
            return Ok(layout);
        }
        layout.merge(mapper.layout);
        let compression = compression::detect(&file.path).map_err(|e| ImportError::Unreadable {
            path: file.path.clone(),
            line: None,
            message: e.to_string(),
        })?;
        layout.add_file(file.format, compression);
        if file_rows == 0 {
            return Err(ImportError::Empty {
                path: file.path.clone(),
            });
        }
        bytes_before += std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
    }
    let _ = out.send(Batch {
        items: batch,
        bytes_done: bytes_before,
        rows,
    });
    Ok(layout)
}
