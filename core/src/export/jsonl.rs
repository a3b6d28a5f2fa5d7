//! TRL DPO JSON Lines: `prompt`/`chosen`/`rejected` as strings (`trl`) or as message lists
//! (`trl-chat`, RefusEU's layout where the user turn carries the prompt), then the sample's
//! own columns and its metadata. A selection without triples exports its prompts alone.
//!
//! A triple whose prompt is a conversation is written in the layout it was imported in, in
//! both formats: `chosen` and `rejected` each the whole conversation (TRL's implicit-prompt
//! layout), as message lists or as text with the markers it came with, so that importing the
//! export reads the same turns back and exporting again gives the same bytes.

use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{
    ALL, ExportError, ExportReport, OWN_COLUMNS, PROMPTS, Selection, Staged, TRIPLES, io_err,
};
use crate::sample::Sample;

fn message(role: &str, content: &str) -> Value {
    json!({"role": role, "content": content})
}

fn record(s: Sample, chat: bool) -> Map<String, Value> {
    let mut o = Map::new();
    match (&s.chosen, &s.rejected, chat) {
        (Some(c), Some(r), _) if s.turns.is_some() => {
            let turns = s.turns.as_ref().expect("checked");
            o.insert("chosen".into(), turns.cell(&s.prompt, c));
            o.insert("rejected".into(), turns.cell(&s.prompt, r));
        }
        (Some(c), Some(r), false) => {
            o.insert("prompt".into(), s.prompt.clone().into());
            o.insert("chosen".into(), c.clone().into());
            o.insert("rejected".into(), r.clone().into());
        }
        (Some(c), Some(r), true) => {
            o.insert(
                "chosen".into(),
                json!([message("user", &s.prompt), message("assistant", c)]),
            );
            o.insert(
                "rejected".into(),
                json!([message("user", &s.prompt), message("assistant", r)]),
            );
        }
        (_, _, false) => {
            o.insert("prompt".into(), s.prompt.clone().into());
        }
        (_, _, true) => {
            o.insert("prompt".into(), json!([message("user", &s.prompt)]));
        }
    }
    o.insert("id".into(), s.ext_id.into());
    o.insert("language".into(), s.language.into());
    o.insert("category".into(), s.category.into());
    o.insert("style".into(), s.style.into());
    o.insert("split".into(), s.split.into());
    if let Some(response) = s.response {
        o.insert("response".into(), response.into());
    }
    if let Some(model) = s.model {
        o.insert("model".into(), model.into());
    }
    for (k, v) in s.metadata {
        if !OWN_COLUMNS.contains(&k.as_str()) {
            o.insert(k, v);
        }
    }
    o
}

pub fn write(
    selection: &Selection,
    staged: Staged,
    out: &Path,
    chat: bool,
) -> Result<ExportReport, ExportError> {
    let triples = selection.count(TRIPLES)?;
    let (only, skipped) = if triples > 0 {
        (TRIPLES, selection.count(PROMPTS)?)
    } else {
        (ALL, 0)
    };
    let file = std::fs::File::create(&staged.tmp).map_err(io_err(out))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut rows = 0;
    selection.each(only, |s| {
        serde_json::to_writer(&mut w, &record(s, chat)).map_err(|e| ExportError::Io {
            path: out.to_path_buf(),
            source: e.into(),
        })?;
        w.write_all(b"\n").map_err(io_err(out))?;
        rows += 1;
        Ok(())
    })?;
    w.into_inner()
        .map_err(|e| io_err(out)(e.into_error()))?
        .sync_all()
        .map_err(io_err(out))?;
    staged.commit()?;
    Ok(ExportReport {
        rows,
        skipped_prompt_only: skipped,
        files: vec![out.to_path_buf()],
    })
}
