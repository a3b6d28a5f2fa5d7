//! An import's rows, read and validated into a temporary table before the project is locked.
//!
//! An import is one transaction, and its write lock keeps every other writer of the project (a
//! served reviewer's answer, the window) waiting. Reading, decompressing, mapping and validating
//! a large file takes most of an import's time, so it happens here first: the reader runs on a
//! worker thread while this thread stores its rows in `temp.import_rows`. SQLite's temporary
//! schema is the connection's own file, so filling it takes no lock on the project; it lives on
//! disk (`temp_store = FILE`, in SQLite's temporary folder: `SQLITE_TMPDIR` or `/var/tmp`), so a
//! huge file needs disk, not memory. The caller then takes the write lock and copies the table
//! in with one `INSERT … SELECT` (`copy_into`); the table is dropped whatever happens, and the
//! connection closing drops it too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rusqlite::params;

use super::{
    Batch, ImportError, ImportOptions, ImportProgress, Item, Layout, PROBLEMS_SHOWN, Plan,
    RowProblem, read_all, write_reject,
};
use crate::staged::Staged;

/// The columns of `samples` an import fills, in order, after `dataset_id`.
const COLUMNS: &str = "ext_id, language, category, style, split, prompt, chosen, rejected, \
                       response, generator, group_key, metadata, turns";

/// The temporary table, created empty.
pub struct Table;

impl Table {
    pub fn create(conn: &rusqlite::Connection) -> Result<Table, ImportError> {
        conn.execute_batch(&format!(
            "PRAGMA temp_store = FILE;
             PRAGMA temp.cache_size = -32768;
             DROP TABLE IF EXISTS temp.import_rows;
             CREATE TEMP TABLE import_rows ({COLUMNS});"
        ))?;
        Ok(Table)
    }

    /// Drops the table, so its disk space goes back; an error here changes nothing stored.
    pub fn drop_from(self, conn: &rusqlite::Connection) {
        if let Err(e) = conn.execute_batch("DROP TABLE IF EXISTS temp.import_rows") {
            log::warn!("dropping the import's temporary table: {e}");
        }
    }
}

/// What was staged.
pub struct Rows {
    pub samples: u64,
    pub triples: u64,
    pub rejected: u64,
    /// The first `PROBLEMS_SHOWN` problems, and how many there were.
    pub problems: Vec<RowProblem>,
    pub problem_count: u64,
    pub layout: Layout,
}

/// Reads every file of the plan into the temporary table; with `--skip-invalid`, rejected rows
/// go to the rejects file's temporary file (synced, for the caller to commit).
pub fn stage(
    conn: &mut rusqlite::Connection,
    plan: &Plan,
    opts: &ImportOptions,
    rejects_staged: Option<&Staged>,
    progress: &mut dyn FnMut(ImportProgress),
    cancel: &AtomicBool,
) -> Result<Rows, ImportError> {
    let reject_error = |source| ImportError::Rejects {
        path: rejects_staged
            .map(|s| s.target().to_path_buf())
            .unwrap_or_default(),
        source,
    };
    let mut rejects = match rejects_staged {
        Some(staged) => Some(std::io::BufWriter::new(
            std::fs::File::create(&staged.tmp).map_err(|source| ImportError::Rejects {
                path: staged.tmp.clone(),
                source,
            })?,
        )),
        None => None,
    };
    let mut rows = Rows {
        samples: 0,
        triples: 0,
        rejected: 0,
        problems: Vec::new(),
        problem_count: 0,
        layout: Layout::default(),
    };
    // One transaction on the temporary schema alone: the project stays unlocked.
    let tx = conn.transaction()?;
    let (tx_batches, rx_batches) = mpsc::sync_channel::<Batch>(8);
    let outcome: Result<Layout, ImportError> = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("verdikt-import-read".into())
            .spawn_scoped(scope, || {
                read_all(&plan.files, opts, &plan.defaults, tx_batches)
            })
            .expect("a thread can be started");
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO temp.import_rows ({COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ))?;
        let mut result = Ok(());
        for batch in rx_batches.iter() {
            if cancel.load(Ordering::Relaxed) {
                result = Err(ImportError::Cancelled);
                break;
            }
            for item in batch.items {
                match item {
                    Item::Sample(s, metadata) => {
                        if rows.problem_count > 0 && !opts.skip_invalid {
                            continue; // the import will fail; keep reading only to list problems
                        }
                        let (chosen, rejected) = s
                            .pair
                            .as_ref()
                            .map(|(c, r)| (c.as_str(), r.as_str()))
                            .unzip();
                        insert.execute(params![
                            s.ext_id,
                            s.language,
                            s.category,
                            s.style,
                            s.split,
                            s.prompt,
                            chosen,
                            rejected,
                            s.response,
                            s.model,
                            s.group_key,
                            metadata,
                            s.turns
                                .as_ref()
                                .map(|t| serde_json::to_string(t).expect("turns serialise"))
                        ])?;
                        rows.samples += 1;
                        rows.triples += u64::from(s.pair.is_some());
                    }
                    Item::Reject {
                        file,
                        line,
                        problems: row_problems,
                        raw,
                    } => {
                        let path = &plan.files[file].path;
                        rows.problem_count += row_problems.len() as u64;
                        rows.rejected += 1;
                        if let Some(out) = rejects.as_mut() {
                            write_reject(out, path, line, &row_problems, raw)
                                .map_err(reject_error)?;
                        }
                        for p in row_problems {
                            if rows.problems.len() < PROBLEMS_SHOWN {
                                rows.problems.push(RowProblem {
                                    path: path.clone(),
                                    line,
                                    field: p.field,
                                    message: p.message,
                                });
                            }
                        }
                    }
                }
            }
            progress(ImportProgress {
                bytes_done: batch.bytes_done,
                bytes_total: plan.bytes_total,
                rows: batch.rows,
            });
        }
        drop(rx_batches);
        let read = worker.join().expect("the import reader does not panic");
        result?;
        read
    });
    rows.layout = outcome?;
    tx.commit()?;
    if let Some(out) = rejects {
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .map_err(reject_error)?;
    }
    Ok(rows)
}

/// Copies the staged rows into `samples` as dataset `dataset_id`, in the order they were read.
pub fn copy_into(tx: &rusqlite::Transaction, dataset_id: i64) -> Result<(), ImportError> {
    tx.execute(
        &format!(
            "INSERT INTO samples (dataset_id, {COLUMNS})
             SELECT ?1, {COLUMNS} FROM temp.import_rows ORDER BY rowid"
        ),
        [dataset_id],
    )?;
    Ok(())
}
