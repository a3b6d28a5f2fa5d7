//! Export: the selected samples in the formats trainers take. Output is written to a temporary
//! sibling and renamed into place, so a failed or killed export never leaves half a file, and
//! rows come in import order, so the same data always gives the same bytes.

mod columnar;
mod csv;
mod hf;
mod jsonl;
mod passed;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::filter::{FilterError, SampleFilter};
use crate::sample::Sample;
pub(crate) use crate::staged::Staged;
use crate::staged::{FolderKind, StageError};
use crate::store::Store;

pub use passed::PassRule;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// TRL DPO JSONL, plain strings.
    Trl,
    /// TRL DPO JSONL with message lists, as RefusEU has them.
    TrlChat,
    Parquet,
    Csv,
    /// A Hugging Face dataset folder: `lang_xx/SPLIT-00000-of-00001.parquet` + dataset card.
    Hf,
}

#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub out: PathBuf,
    pub format: ExportFormat,
    pub filter: SampleFilter,
    /// Only samples that passed the audit (`--only-passed`).
    pub only_passed: Option<PassRule>,
    /// Replace an existing file at `out` (`--force`); a folder target is replaced only when
    /// it is a previous HF export, with or without it.
    pub force: bool,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExportReport {
    pub rows: u64,
    /// Prompt-only samples left out of a DPO export that had triples.
    pub skipped_prompt_only: u64,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("nothing to export: no sample matches")]
    Empty,
    #[error(transparent)]
    Target(#[from] StageError),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write Parquet {}: {message}", path.display())]
    Parquet { path: PathBuf, message: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The export's view of the store: the selected samples, in import order.
pub(crate) struct Selection<'a> {
    store: &'a Store,
    condition: String,
    params: Vec<rusqlite::types::Value>,
    /// Formats without message lists (Parquet, CSV, HF) get a conversation's earlier turns as
    /// the column `earlier_turns`, a JSON message list; JSONL writes them in their own layout.
    turns_as_column: bool,
}

/// The column that holds a conversation's earlier turns in Parquet, CSV and HF exports.
pub(crate) const EARLIER_TURNS: &str = "earlier_turns";

impl Selection<'_> {
    /// Calls `f` for every selected sample; `only` narrows further (e.g. `s.chosen IS NOT NULL`).
    pub fn each(
        &self,
        only: &str,
        mut f: impl FnMut(Sample) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let sql = format!(
            "SELECT {} FROM samples AS s WHERE {} AND ({only}) ORDER BY s.id",
            Sample::COLUMNS,
            self.condition
        );
        let mut stmt = self.store.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&self.params))?;
        while let Some(row) = rows.next()? {
            let mut s = Sample::from_row(row)?;
            if self.turns_as_column
                && let Some(turns) = s.turns.take()
            {
                let list = turns.earlier.iter().map(|t| t.message()).collect();
                s.metadata
                    .insert(EARLIER_TURNS.into(), serde_json::Value::Array(list));
            }
            f(s)?;
        }
        Ok(())
    }

    /// The same selection, further limited to rows where each `column = value`.
    pub fn narrow(&self, equals: &[(&str, &str)]) -> Selection<'_> {
        let mut condition = self.condition.clone();
        let mut params = self.params.clone();
        for (column, value) in equals {
            params.push(rusqlite::types::Value::Text(value.to_string()));
            condition.push_str(&format!(" AND {column} = ?{}", params.len()));
        }
        Selection {
            store: self.store,
            condition,
            params,
            turns_as_column: self.turns_as_column,
        }
    }

    /// Distinct values of an SQL expression over the selection, sorted.
    pub fn distinct(&self, expr: &str) -> Result<Vec<String>, ExportError> {
        let sql = format!(
            "SELECT DISTINCT {expr} FROM samples AS s WHERE {} ORDER BY 1",
            self.condition
        );
        let mut stmt = self.store.conn().prepare(&sql)?;
        let values = stmt.query_map(rusqlite::params_from_iter(&self.params), |r| r.get(0))?;
        Ok(values.collect::<Result<_, _>>()?)
    }

    pub fn count(&self, only: &str) -> Result<u64, ExportError> {
        let sql = format!(
            "SELECT count(*) FROM samples AS s WHERE {} AND ({only})",
            self.condition
        );
        let n: i64 =
            self.store
                .conn()
                .query_row(&sql, rusqlite::params_from_iter(&self.params), |r| r.get(0))?;
        Ok(n as u64)
    }
}

pub(crate) const TRIPLES: &str = "s.chosen IS NOT NULL";
pub(crate) const PROMPTS: &str = "s.chosen IS NULL";
pub(crate) const ALL: &str = "1 = 1";
pub(crate) const GENERATIONS: &str = "s.response IS NOT NULL OR s.generator IS NOT NULL";
/// Samples without a split go to `train` where a split must be named (HF layout).
pub(crate) const SPLIT_OR_TRAIN: &str = "coalesce(s.split, 'train')";

pub fn export(store: &Store, opts: &ExportOptions) -> Result<ExportReport, ExportError> {
    let (mut condition, params) = opts.filter.where_clause(store.conn())?;
    if let Some(rule) = opts.only_passed {
        condition = format!("{condition} AND {}", rule.condition());
    }
    let selection = Selection {
        store,
        condition,
        params,
        turns_as_column: !matches!(opts.format, ExportFormat::Trl | ExportFormat::TrlChat),
    };
    if selection.count(ALL)? == 0 {
        return Err(ExportError::Empty);
    }
    let out = &opts.out;
    let file = || Staged::file(out, opts.force);
    match opts.format {
        ExportFormat::Trl | ExportFormat::TrlChat => jsonl::write(
            &selection,
            file()?,
            out,
            opts.format == ExportFormat::TrlChat,
        ),
        ExportFormat::Csv => csv::write(&selection, file()?, out),
        ExportFormat::Parquet => columnar::write_file(&selection, file()?, out),
        ExportFormat::Hf => hf::write(&selection, Staged::folder(out, FolderKind::HfExport)?, out),
    }
}

/// Column names Verdikt writes itself; metadata keys with these names are left out.
pub(crate) const OWN_COLUMNS: [&str; 12] = [
    "id", "language", "lang", "category", "style", "split", "prompt", "chosen", "rejected",
    "response", "model", "messages",
];

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}
