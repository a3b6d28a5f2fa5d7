//! Parquet output shared by the `parquet` and `hf` formats: a fixed set of sample columns, then
//! one typed column per metadata key (numbers stay numbers, so a re-import sees what it wrote).

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::{ALL, ExportError, ExportReport, GENERATIONS, OWN_COLUMNS, Selection, Staged, io_err};
use crate::sample::Sample;

/// The JSON type that all values of one metadata key share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaType {
    Null,
    Bool,
    Int,
    Float,
    Text,
    /// Mixed or nested values: written as JSON text (strings as they are).
    Json,
}

fn type_of(v: &Value) -> MetaType {
    match v {
        Value::Null => MetaType::Null,
        Value::Bool(_) => MetaType::Bool,
        Value::Number(n) if n.is_i64() => MetaType::Int,
        Value::Number(n) if n.is_f64() => MetaType::Float,
        Value::String(_) => MetaType::Text,
        _ => MetaType::Json,
    }
}

fn merge(a: MetaType, b: MetaType) -> MetaType {
    use MetaType::*;
    match (a, b) {
        (Null, x) | (x, Null) => x,
        (x, y) if x == y => x,
        (Int, Float) | (Float, Int) => Float,
        _ => Json,
    }
}

/// Metadata keys of the selection in first-seen order, with their common type.
pub fn metadata_columns(selection: &Selection) -> Result<Vec<(String, MetaType)>, ExportError> {
    let mut columns: indexmap::IndexMap<String, MetaType> = indexmap::IndexMap::new();
    selection.each(ALL, |s| {
        for (k, v) in &s.metadata {
            if OWN_COLUMNS.contains(&k.as_str()) {
                continue;
            }
            let t = type_of(v);
            columns
                .entry(k.clone())
                .and_modify(|old| *old = merge(*old, t))
                .or_insert(t);
        }
        Ok(())
    })?;
    Ok(columns.into_iter().collect())
}

/// Which columns a Parquet file gets.
#[derive(Clone, Debug)]
pub struct Layout {
    /// RefusEU layout: `chosen`/`rejected` as message lists, language in `lang`, no split column.
    pub hf: bool,
    pub triples: bool,
    pub prompts: bool,
    pub generations: bool,
    pub metadata: Vec<(String, MetaType)>,
}

fn message_fields() -> Fields {
    Fields::from(vec![
        Field::new("content", DataType::Utf8, true),
        Field::new("role", DataType::Utf8, true),
    ])
}

fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

impl Layout {
    pub fn schema(&self) -> Arc<Schema> {
        let messages = DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(message_fields()),
            true,
        )));
        let mut fields = Vec::new();
        if self.hf {
            if self.triples {
                fields.push(Field::new("chosen", messages.clone(), true));
                fields.push(Field::new("rejected", messages, true));
            }
            if self.prompts {
                fields.push(text("prompt", true));
            }
            fields.extend([
                text("lang", false),
                text("id", false),
                text("category", true),
                text("style", true),
            ]);
        } else {
            fields.extend([
                text("id", false),
                text("language", false),
                text("category", true),
                text("style", true),
                text("split", true),
                text("prompt", false),
                text("chosen", true),
                text("rejected", true),
            ]);
        }
        if self.generations {
            fields.extend([text("response", true), text("model", true)]);
        }
        for (name, t) in &self.metadata {
            let dt = match t {
                MetaType::Bool => DataType::Boolean,
                MetaType::Int => DataType::Int64,
                MetaType::Float => DataType::Float64,
                MetaType::Null | MetaType::Text | MetaType::Json => DataType::Utf8,
            };
            fields.push(Field::new(name, dt, true));
        }
        Arc::new(Schema::new(fields))
    }

    pub fn batch(
        &self,
        schema: &Arc<Schema>,
        rows: &[Sample],
    ) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let strings = |f: &dyn Fn(&Sample) -> Option<&str>| -> ArrayRef {
            let mut b = StringBuilder::new();
            for s in rows {
                b.append_option(f(s));
            }
            Arc::new(b.finish())
        };
        let mut columns: Vec<ArrayRef> = Vec::new();
        if self.hf {
            if self.triples {
                columns.push(conversations(rows, |s| s.chosen.as_deref()));
                columns.push(conversations(rows, |s| s.rejected.as_deref()));
            }
            if self.prompts {
                columns.push(strings(&|s| {
                    s.chosen.is_none().then_some(s.prompt.as_str())
                }));
            }
            columns.push(strings(&|s| Some(&s.language)));
            columns.push(strings(&|s| Some(&s.ext_id)));
            columns.push(strings(&|s| s.category.as_deref()));
            columns.push(strings(&|s| s.style.as_deref()));
        } else {
            columns.push(strings(&|s| Some(&s.ext_id)));
            columns.push(strings(&|s| Some(&s.language)));
            columns.push(strings(&|s| s.category.as_deref()));
            columns.push(strings(&|s| s.style.as_deref()));
            columns.push(strings(&|s| s.split.as_deref()));
            columns.push(strings(&|s| Some(&s.prompt)));
            columns.push(strings(&|s| s.chosen.as_deref()));
            columns.push(strings(&|s| s.rejected.as_deref()));
        }
        if self.generations {
            columns.push(strings(&|s| s.response.as_deref()));
            columns.push(strings(&|s| s.model.as_deref()));
        }
        for (key, t) in &self.metadata {
            columns.push(metadata_array(rows, key, *t));
        }
        RecordBatch::try_new(schema.clone(), columns)
    }
}

/// `[{content: prompt, role: user}, {content: answer, role: assistant}]` per triple, null otherwise.
fn conversations(rows: &[Sample], answer: impl Fn(&Sample) -> Option<&str>) -> ArrayRef {
    let item = StructBuilder::new(
        message_fields(),
        vec![
            Box::new(StringBuilder::new()),
            Box::new(StringBuilder::new()),
        ],
    );
    let mut list = ListBuilder::new(item).with_field(Arc::new(Field::new(
        "item",
        DataType::Struct(message_fields()),
        true,
    )));
    for s in rows {
        match answer(s) {
            Some(reply) => {
                for (content, role) in [(s.prompt.as_str(), "user"), (reply, "assistant")] {
                    let msg = list.values();
                    msg.field_builder::<StringBuilder>(0)
                        .expect("content")
                        .append_value(content);
                    msg.field_builder::<StringBuilder>(1)
                        .expect("role")
                        .append_value(role);
                    msg.append(true);
                }
                list.append(true);
            }
            None => list.append(false),
        }
    }
    Arc::new(list.finish())
}

fn metadata_array(rows: &[Sample], key: &str, t: MetaType) -> ArrayRef {
    let values = rows
        .iter()
        .map(|s| s.metadata.get(key).filter(|v| !v.is_null()));
    match t {
        MetaType::Bool => {
            let mut b = BooleanBuilder::new();
            b.extend(values.map(|v| v.and_then(Value::as_bool)));
            Arc::new(b.finish())
        }
        MetaType::Int => {
            let mut b = Int64Builder::new();
            b.extend(values.map(|v| v.and_then(Value::as_i64)));
            Arc::new(b.finish())
        }
        MetaType::Float => {
            let mut b = Float64Builder::new();
            b.extend(values.map(|v| v.and_then(Value::as_f64)));
            Arc::new(b.finish())
        }
        MetaType::Null | MetaType::Text | MetaType::Json => {
            let mut b = StringBuilder::new();
            for v in values {
                match v {
                    None => b.append_null(),
                    Some(Value::String(s)) => b.append_value(s),
                    Some(other) => b.append_value(other.to_string()),
                }
            }
            Arc::new(b.finish())
        }
    }
}

const ROWS_PER_BATCH: usize = 8192;

/// Writes the samples that `only` selects to one Parquet file at `path` (already staged).
pub fn write_parquet(
    selection: &Selection,
    only: &str,
    layout: &Layout,
    path: &Path,
) -> Result<u64, ExportError> {
    let perr = |e: &dyn std::fmt::Display| ExportError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let schema = layout.schema();
    let file = std::fs::File::create(path).map_err(io_err(path))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| perr(&e))?;
    let mut pending = Vec::with_capacity(ROWS_PER_BATCH);
    let mut rows = 0u64;
    let flush = |pending: &mut Vec<Sample>,
                 writer: &mut ArrowWriter<std::fs::File>|
     -> Result<(), ExportError> {
        let batch = layout.batch(&schema, pending).map_err(|e| perr(&e))?;
        writer.write(&batch).map_err(|e| perr(&e))?;
        pending.clear();
        Ok(())
    };
    selection.each(only, |s| {
        pending.push(s);
        rows += 1;
        if pending.len() == ROWS_PER_BATCH {
            flush(&mut pending, &mut writer)?;
        }
        Ok(())
    })?;
    if !pending.is_empty() {
        flush(&mut pending, &mut writer)?;
    }
    writer.close().map_err(|e| perr(&e))?;
    Ok(rows)
}

/// The `parquet` format: every selected sample in one flat file.
pub fn write_file(
    selection: &Selection,
    staged: Staged,
    out: &Path,
) -> Result<ExportReport, ExportError> {
    let layout = Layout {
        hf: false,
        triples: true,
        prompts: true,
        generations: selection.count(GENERATIONS)? > 0,
        metadata: metadata_columns(selection)?,
    };
    let rows = write_parquet(selection, ALL, &layout, &staged.tmp)?;
    staged.commit()?;
    Ok(ExportReport {
        rows,
        skipped_prompt_only: 0,
        files: vec![out.to_path_buf()],
    })
}
