//! CSV: one row per sample, a column per field and per metadata key. Every cell is defused
//! against formula injection (see `formula`).

use std::path::Path;

use serde_json::Value;

use super::columnar::metadata_columns;
use super::{ALL, ExportError, ExportReport, GENERATIONS, Selection, Staged, io_err};
use crate::formula::guard;

const FIXED: [&str; 10] = [
    "id", "language", "category", "style", "split", "prompt", "chosen", "rejected", "response",
    "model",
];

pub fn write(
    selection: &Selection,
    staged: Staged,
    out: &Path,
) -> Result<ExportReport, ExportError> {
    let keys: Vec<String> = metadata_columns(selection)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    // Generation columns only where there are generations, so triple sets keep a lean header.
    let fixed = if selection.count(GENERATIONS)? > 0 {
        &FIXED[..]
    } else {
        &FIXED[..8]
    };
    let csv_err = |e: ::csv::Error| ExportError::Io {
        path: out.to_path_buf(),
        source: e.into(),
    };
    let mut w = ::csv::WriterBuilder::new()
        .from_path(&staged.tmp)
        .map_err(csv_err)?;
    w.write_record(fixed.iter().copied().chain(keys.iter().map(String::as_str)))
        .map_err(csv_err)?;
    let mut rows = 0;
    let mut cells: Vec<String> = Vec::with_capacity(fixed.len() + keys.len());
    selection.each(ALL, |s| {
        cells.clear();
        for text in [
            Some(s.ext_id.as_str()),
            Some(s.language.as_str()),
            s.category.as_deref(),
            s.style.as_deref(),
            s.split.as_deref(),
            Some(s.prompt.as_str()),
            s.chosen.as_deref(),
            s.rejected.as_deref(),
            s.response.as_deref(),
            s.model.as_deref(),
        ]
        .into_iter()
        .take(fixed.len())
        {
            cells.push(guard(text.unwrap_or_default()).into_owned());
        }
        for key in &keys {
            let cell = match s.metadata.get(key) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            };
            cells.push(guard(&cell).into_owned());
        }
        w.write_record(&cells).map_err(csv_err)?;
        rows += 1;
        Ok(())
    })?;
    w.flush().map_err(io_err(out))?;
    drop(w);
    staged.commit()?;
    Ok(ExportReport {
        rows,
        skipped_prompt_only: 0,
        files: vec![out.to_path_buf()],
    })
}
