//! Readers for the text formats: JSON Lines, JSON arrays and CSV/TSV, plain or compressed
//! (`compression.rs` opens them). Each turns a file into rows of (column → JSON value) with the
//! line each row starts on, so that every later error can name FILE:LINE.

use std::io::{BufRead, Read};
use std::ops::ControlFlow;
use std::path::Path;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::compression::{self, Input};
use super::mapping::FieldProblem;

pub type Row = Map<String, Value>;

/// Receives each row as read: its line (or row number), the row or why it is unreadable, and
/// how many bytes of the file have been consumed. Returning `Break` stops the reader.
pub type Sink<'a> = dyn FnMut(u64, Result<Row, FieldProblem>, u64) -> ControlFlow<()> + 'a;

/// The file cannot be read any further (I/O error, broken structure): fatal for the import.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadFailure {
    pub line: Option<u64>,
    pub message: String,
}

impl ReadFailure {
    pub fn at(line: impl Into<Option<u64>>, message: impl Into<String>) -> ReadFailure {
        ReadFailure {
            line: line.into(),
            message: message.into(),
        }
    }

    fn io(e: std::io::Error) -> ReadFailure {
        ReadFailure::at(None, e.to_string())
    }
}

fn open(path: &Path) -> Result<Input, ReadFailure> {
    compression::open(path).map_err(ReadFailure::io)
}

/// The whole content of a file, decompressed.
fn read_whole(path: &Path) -> Result<(Input, Vec<u8>), ReadFailure> {
    let mut input = open(path)?;
    let mut bytes = Vec::new();
    input
        .reader
        .read_to_end(&mut bytes)
        .map_err(ReadFailure::io)?;
    Ok((input, bytes))
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn broken(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_string(),
        message: message.into(),
    }
}

fn utf8_problem(e: std::str::Utf8Error) -> String {
    format!("not valid UTF-8 (bad byte at offset {})", e.valid_up_to())
}

/// UTF-8 check with SIMD: it is the hottest step of a JSON Lines import, and parsing from a
/// `&str` lets serde_json skip its own slower check of every string.
fn utf8(bytes: &[u8]) -> Result<&str, String> {
    simdutf8::basic::from_utf8(bytes)
        .map_err(|_| utf8_problem(std::str::from_utf8(bytes).unwrap_err()))
}

fn object(value: Value) -> Result<Row, FieldProblem> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(broken(
            "row",
            format!("expected a JSON object, found {}", json_kind(&other)),
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON Lines: one object per line; blank lines are skipped, CRLF and a leading BOM tolerated.
pub fn jsonl(path: &Path, sink: &mut Sink) -> Result<(), ReadFailure> {
    let mut input = open(path)?;
    let mut buf = Vec::with_capacity(1 << 16);
    let (mut line_no, mut consumed) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = input
            .reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| ReadFailure::at(line_no + 1, e.to_string()))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        consumed += n as u64;
        let mut line = buf.as_slice();
        if line_no == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = utf8(line)
            .map_err(|e| broken("row", e))
            .and_then(|text| {
                serde_json::from_str::<Value>(text)
                    .map_err(|e| broken("row", format!("invalid JSON: {e}")))
            })
            .and_then(object);
        if sink(line_no, row, input.progress(consumed)).is_break() {
            return Ok(());
        }
    }
}

/// A JSON array of objects. The structure is checked as a whole (a broken array is fatal);
/// each element is then parsed on its own so that a bad element names its line.
pub fn json_array(path: &Path, sink: &mut Sink) -> Result<(), ReadFailure> {
    let (input, bytes) = read_whole(path)?;
    let body = bytes.strip_prefix(BOM).unwrap_or(&bytes);
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        ReadFailure::at(line, utf8_problem(e))
    })?;
    let elements: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        ReadFailure::at(e.line() as u64, format!("not a JSON array of objects: {e}"))
    })?;
    let base = text.as_ptr() as usize;
    let (mut line, mut scanned) = (1u64, 0usize);
    for element in elements {
        let offset = element.get().as_ptr() as usize - base;
        line += text.as_bytes()[scanned..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        scanned = offset;
        let row = serde_json::from_str::<Value>(element.get())
            .map_err(|e| broken("row", format!("invalid JSON: {e}")))
            .and_then(object);
        let consumed = input.progress((offset + element.get().len()) as u64);
        if sink(line, row, consumed).is_break() {
            break;
        }
    }
    Ok(())
}

/// CSV (or TSV with `delimiter = b'\t'`) with a header row. Quoted cells may span lines; a
/// leading `'` that Verdikt's export added to defuse a formula is taken off again.
pub fn csv(path: &Path, delimiter: u8, sink: &mut Sink) -> Result<(), ReadFailure> {
    // Read whole: the csv crate reports a CRLF record's start at the previous line's `\n`,
    // and only the bytes tell us to add one.
    let (input, data) = read_whole(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(data.as_slice());
    let header_err = |e: csv::Error| ReadFailure::at(1, format!("cannot read the header row: {e}"));
    let raw_headers = reader.byte_headers().map_err(header_err)?.clone();
    let mut headers: Vec<String> = Vec::with_capacity(raw_headers.len());
    for (i, h) in raw_headers.iter().enumerate() {
        let h = if i == 0 {
            h.strip_prefix(BOM).unwrap_or(h)
        } else {
            h
        };
        let name = std::str::from_utf8(h)
            .map_err(|e| ReadFailure::at(1, format!("column {}: {}", i + 1, utf8_problem(e))))?;
        let name = if name.trim().is_empty() {
            format!("column_{}", i + 1)
        } else {
            name.to_string()
        };
        if headers.contains(&name) {
            return Err(ReadFailure::at(
                1,
                format!("column `{name}` appears twice in the header"),
            ));
        }
        headers.push(name);
    }
    if headers.is_empty() {
        return Err(ReadFailure::at(1, "the header row is empty"));
    }
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line());
                return Err(ReadFailure::at(line, format!("malformed CSV: {e}")));
            }
        }
        let pos = record
            .position()
            .expect("records read from a reader have a position");
        let starts_on_newline = data.get(pos.byte() as usize) == Some(&b'\n');
        let line = pos.line() + u64::from(starts_on_newline);
        let consumed = input.progress(reader.position().byte());
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        let row = csv_row(&headers, &record);
        if sink(line, row, consumed).is_break() {
            return Ok(());
        }
    }
}

fn csv_row(headers: &[String], record: &csv::ByteRecord) -> Result<Row, FieldProblem> {
    if record.len() != headers.len() {
        return Err(broken(
            "row",
            format!(
                "expected {} cells as in the header, found {}",
                headers.len(),
                record.len()
            ),
        ));
    }
    let mut row = Map::with_capacity(headers.len());
    for (name, cell) in headers.iter().zip(record.iter()) {
        let text = utf8(cell).map_err(|e| broken(name, e))?;
        row.insert(
            name.clone(),
            Value::String(crate::formula::unguard(text).to_string()),
        );
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    type RowResult = Result<Row, FieldProblem>;

    fn collect(
        read: impl Fn(&Path, &mut Sink) -> Result<(), ReadFailure>,
        content: &[u8],
    ) -> (Vec<(u64, RowResult)>, Result<(), ReadFailure>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        let mut rows = Vec::new();
        let res = read(f.path(), &mut |line, row, _| {
            rows.push((line, row));
            ControlFlow::Continue(())
        });
        (rows, res)
    }

    #[test]
    fn jsonl_lines_bom_crlf_and_errors() {
        let (rows, res) = collect(
            jsonl,
            b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"a\":\"x\\u0000y\"}\n[1]\n{bad\n\xff\n",
        );
        res.unwrap();
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 3, 4, 5, 6]);
        assert_eq!(rows[1].1.as_ref().unwrap()["a"], "x\u{0}y");
        assert!(
            rows[2]
                .1
                .as_ref()
                .unwrap_err()
                .message
                .contains("found an array")
        );
        assert!(rows[3].1.is_err());
        assert!(rows[4].1.as_ref().unwrap_err().message.contains("UTF-8"));
    }

    #[test]
    fn json_array_elements_know_their_line() {
        let (rows, res) = collect(json_array, b"[\n  {\"a\": 1},\n  {\"a\":\n 2},\n  3\n]");
        res.unwrap();
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert!(rows[2].1.is_err());
        let (_, res) = collect(json_array, b"[\n{\"a\": 1},\n{\"a\" 2}]");
        assert_eq!(res.unwrap_err().line, Some(3));
    }

    #[test]
    fn csv_multiline_bom_and_width() {
        let (rows, res) = collect(
            |p, s| csv(p, b',', s),
            b"\xEF\xBB\xBFprompt,lang\r\n\"a\r\nb\",en\r\n'=1+1,pl\r\nx\r\n",
        );
        res.unwrap();
        assert_eq!(rows[0].0, 2);
        let first = rows[0].1.as_ref().unwrap();
        assert_eq!(first["prompt"], "a\r\nb");
        assert!(
            first.contains_key("prompt"),
            "BOM stripped from the first header"
        );
        assert_eq!(rows[1].0, 4);
        assert_eq!(rows[1].1.as_ref().unwrap()["prompt"], "=1+1");
        assert!(
            rows[2]
                .1
                .as_ref()
                .unwrap_err()
                .message
                .contains("expected 2 cells")
        );
    }

    #[test]
    fn csv_duplicate_header_is_fatal() {
        let (_, res) = collect(|p, s| csv(p, b',', s), b"a,a\n1,2\n");
        assert!(res.unwrap_err().message.contains("appears twice"));
    }
}
