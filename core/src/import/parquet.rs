//! Parquet reader: Arrow record batches turned into rows of JSON values, so Parquet rows go
//! through the same mapping as every other format. Row numbers (1-based) stand in for lines.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Number, Value};

use super::read::{ReadFailure, Sink};

const BATCH_ROWS: usize = 4096;

/// Runs a step of the parquet crate with its panics as errors. The crate trusts the file in
/// places and panics on some corrupt ones (a negative column offset, a dictionary page that
/// holds bytes but no values: found by fuzzing); a bad file must fail the import, not crash it.
fn guarded<T, E: std::fmt::Display>(step: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(panic) => {
            let why = (panic.downcast_ref::<&str>().copied())
                .or(panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("a panic");
            Err(format!("corrupt data ({why})"))
        }
    }
}

pub fn parquet(path: &Path, sink: &mut Sink) -> Result<(), ReadFailure> {
    let file = File::open(path).map_err(|e| ReadFailure::at(None, e.to_string()))?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let builder = guarded(|| ParquetRecordBatchReaderBuilder::try_new(file))
        .map_err(|e| ReadFailure::at(None, format!("not a readable Parquet file: {e}")))?;
    let total_rows = builder.metadata().file_metadata().num_rows().max(1) as u64;
    let mut reader = guarded(|| builder.with_batch_size(BATCH_ROWS).build())
        .map_err(|e| ReadFailure::at(None, format!("cannot read the Parquet file: {e}")))?;
    let mut row_no = 0u64;
    while let Some(batch) = guarded(|| reader.next().transpose()).transpose() {
        let batch = batch.map_err(|e| {
            ReadFailure::at(row_no + 1, format!("cannot decode the Parquet file: {e}"))
        })?;
        let schema = batch.schema();
        let mut columns: Vec<(String, Vec<Value>)> = Vec::with_capacity(batch.num_columns());
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            let values = to_json(array).map_err(|e| {
                ReadFailure::at(row_no + 1, format!("column `{}`: {e}", field.name()))
            })?;
            columns.push((field.name().clone(), values));
        }
        let mut iters: Vec<_> = columns
            .into_iter()
            .map(|(name, v)| (name, v.into_iter()))
            .collect();
        for _ in 0..batch.num_rows() {
            row_no += 1;
            let row: Map<String, Value> = iters
                .iter_mut()
                .map(|(name, it)| {
                    (
                        name.clone(),
                        it.next().expect("every column has num_rows values"),
                    )
                })
                .collect();
            let consumed = file_len * row_no / total_rows;
            if sink(row_no, Ok(row), consumed).is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn number(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Every value of an Arrow array as JSON. Nested lists and structs (RefusEU's message lists)
/// become arrays and objects; types with no faithful JSON form are refused with their name.
pub fn to_json(array: &ArrayRef) -> Result<Vec<Value>, String> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! each {
        ($arr:expr, $f:expr) => {{
            let a = $arr;
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    $f(a.value(i))
                });
            }
        }};
    }
    match array.data_type() {
        DataType::Null => out.resize(n, Value::Null),
        DataType::Boolean => each!(array.as_boolean(), Value::Bool),
        DataType::Int8 => each!(array.as_primitive::<Int8Type>(), |v: i8| Value::from(v)),
        DataType::Int16 => each!(array.as_primitive::<Int16Type>(), |v: i16| Value::from(v)),
        DataType::Int32 => each!(array.as_primitive::<Int32Type>(), |v: i32| Value::from(v)),
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), |v: i64| Value::from(v)),
        DataType::UInt8 => each!(array.as_primitive::<UInt8Type>(), |v: u8| Value::from(v)),
        DataType::UInt16 => each!(array.as_primitive::<UInt16Type>(), |v: u16| Value::from(v)),
        DataType::UInt32 => each!(array.as_primitive::<UInt32Type>(), |v: u32| Value::from(v)),
        DataType::UInt64 => each!(array.as_primitive::<UInt64Type>(), |v: u64| Value::from(v)),
        DataType::Float32 => each!(array.as_primitive::<Float32Type>(), |v: f32| number(
            v as f64
        )),
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), number),
        DataType::Utf8 => each!(array.as_string::<i32>(), |v: &str| Value::String(
            v.to_string()
        )),
        DataType::LargeUtf8 => each!(array.as_string::<i64>(), |v: &str| Value::String(
            v.to_string()
        )),
        DataType::Utf8View => each!(array.as_string_view(), |v: &str| Value::String(
            v.to_string()
        )),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let strings = arrow_cast_binary(array)?;
            out.extend(strings);
        }
        DataType::List(_) => list(array.as_list::<i32>(), &mut out)?,
        DataType::LargeList(_) => list(array.as_list::<i64>(), &mut out)?,
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let children: Vec<Vec<Value>> =
                s.columns().iter().map(to_json).collect::<Result<_, _>>()?;
            for i in 0..n {
                if s.is_null(i) {
                    out.push(Value::Null);
                    continue;
                }
                let obj: Map<String, Value> = fields
                    .iter()
                    .zip(&children)
                    .map(|(f, col)| (f.name().clone(), col[i].clone()))
                    .collect();
                out.push(Value::Object(obj));
            }
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let values = to_json(dict.values())?;
            let keys = dict.normalized_keys();
            for (i, key) in keys.into_iter().enumerate() {
                out.push(if array.is_null(i) {
                    Value::Null
                } else {
                    values[key].clone()
                });
            }
        }
        other => {
            return Err(format!(
                "type {other} is not supported; convert it to text or numbers"
            ));
        }
    }
    Ok(out)
}

fn list<O: arrow_array::OffsetSizeTrait>(
    l: &arrow_array::GenericListArray<O>,
    out: &mut Vec<Value>,
) -> Result<(), String> {
    let values = to_json(l.values())?;
    let offsets = l.value_offsets();
    for i in 0..l.len() {
        if l.is_null(i) {
            out.push(Value::Null);
        } else {
            let (a, b) = (offsets[i].as_usize(), offsets[i + 1].as_usize());
            out.push(Value::Array(values[a..b].to_vec()));
        }
    }
    Ok(())
}

/// Binary columns are accepted when they hold UTF-8 text (some writers store strings so).
fn arrow_cast_binary(array: &ArrayRef) -> Result<Vec<Value>, String> {
    let get = |i: usize| -> &[u8] {
        match array.data_type() {
            DataType::Binary => array.as_binary::<i32>().value(i),
            DataType::LargeBinary => array.as_binary::<i64>().value(i),
            _ => array.as_binary_view().value(i),
        }
    };
    (0..array.len())
        .map(|i| {
            if array.is_null(i) {
                return Ok(Value::Null);
            }
            std::str::from_utf8(get(i))
                .map(|s| Value::String(s.to_string()))
                .map_err(|_| format!("row {}: binary data that is not UTF-8 text", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::ops::ControlFlow;
    use std::sync::Arc;

    use arrow_array::{RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};

    /// A one-column file whose footer puts the column chunk at offset -4 (found by fuzzing).
    fn negative_offset_file() -> Vec<u8> {
        let column: ArrayRef = Arc::new(StringArray::from(vec!["p"]));
        let batch = RecordBatch::try_from_iter([("prompt", column)]).unwrap();
        let mut data = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut data, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let tail = data.len() - 8;
        let footer_len = u32::from_le_bytes(data[tail..tail + 4].try_into().unwrap()) as usize;
        let meta = ParquetMetaDataReader::decode_metadata(&data[tail - footer_len..tail]).unwrap();
        let mut builder = meta.into_builder();
        let groups = builder
            .take_row_groups()
            .into_iter()
            .map(|g| {
                let columns = g
                    .columns()
                    .iter()
                    .map(|c| {
                        let c = c.clone().into_builder();
                        c.set_dictionary_page_offset(None)
                            .set_data_page_offset(-4)
                            .build()
                            .unwrap()
                    })
                    .collect();
                g.into_builder()
                    .set_column_metadata(columns)
                    .build()
                    .unwrap()
            })
            .collect();
        let meta = builder.set_row_groups(groups).build();
        data.truncate(tail - footer_len);
        ParquetMetaDataWriter::new(&mut data, &meta)
            .finish()
            .unwrap();
        data
    }

    /// A one-row text column whose dictionary page header then claims no values although the
    /// page holds one (found by fuzzing: the crate divided by zero).
    fn valueless_dictionary_file() -> Vec<u8> {
        let column: ArrayRef = Arc::new(StringArray::from(vec!["p"]));
        let batch = RecordBatch::try_from_iter([("prompt", column)]).unwrap();
        let mut data = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut data, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        // Compact Thrift: PageHeader field 7 (DictionaryPageHeader), its field 1 num_values = 1.
        let at = data
            .windows(3)
            .position(|w| w == [0x4c, 0x15, 0x02])
            .unwrap();
        data[at + 2] = 0x00;
        data
    }

    #[test]
    fn valueless_dictionary_is_an_error_not_a_panic() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&valueless_dictionary_file()).unwrap();
        let err = parquet(f.path(), &mut |_, _, _| ControlFlow::Continue(())).unwrap_err();
        assert!(err.message.contains("corrupt"), "{err:?}");
    }

    #[test]
    fn negative_column_offset_is_an_error_not_a_panic() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&negative_offset_file()).unwrap();
        let err = parquet(f.path(), &mut |_, _, _| ControlFlow::Continue(())).unwrap_err();
        assert!(err.message.contains("corrupt"), "{err:?}");
    }
}
