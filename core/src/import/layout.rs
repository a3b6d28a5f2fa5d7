//! What an import recognised, in words the user can check before trusting the result: the
//! layout of the rows (how many of each, the turns of implicit-prompt conversations) and the
//! files' formats and compression.

use std::fmt;

use super::compression::Compression;
use super::conversation::Markers;
use super::source::FileFormat;

/// How one row was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowLayout {
    /// A prompt column with `chosen` and `rejected` (text or message lists).
    Triples,
    /// A prompt column without answers, or with one `response`.
    Prompts,
    /// One text column per language.
    Wide,
    /// No prompt column; the prompt is what the message lists of both sides share.
    ImplicitMessages,
    /// No prompt column; the prompt is what both texts share, turns marked by these markers.
    ImplicitText(Markers),
}

impl fmt::Display for RowLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowLayout::Triples => write!(f, "prompt/chosen/rejected columns"),
            RowLayout::Prompts => write!(f, "prompt column without chosen/rejected"),
            RowLayout::Wide => write!(f, "wide table, one column per language"),
            RowLayout::ImplicitMessages => write!(f, "implicit prompt pairs, message lists"),
            RowLayout::ImplicitText(m) => write!(f, "implicit prompt pairs, text with {m} markers"),
        }
    }
}

/// The layouts of an import's rows, in the order first seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    rows: Vec<(RowLayout, u64)>,
    /// Fewest and most user turns of an implicit-prompt pair's prompt.
    turns: Option<(usize, usize)>,
    files: Vec<(FileFormat, Option<Compression>)>,
}

impl Layout {
    pub(super) fn count_row(&mut self, layout: RowLayout, user_turns: Option<usize>) {
        self.add_rows(layout, 1);
        if let Some(t) = user_turns {
            self.count_turns(t);
        }
    }

    fn add_rows(&mut self, layout: RowLayout, n: u64) {
        match self.rows.iter_mut().find(|(l, _)| *l == layout) {
            Some((_, total)) => *total += n,
            None => self.rows.push((layout, n)),
        }
    }

    pub(super) fn add_file(&mut self, format: FileFormat, compression: Option<Compression>) {
        if !self.files.contains(&(format, compression)) {
            self.files.push((format, compression));
        }
    }

    /// Adds another file's rows.
    pub(super) fn merge(&mut self, other: Layout) {
        for (layout, n) in other.rows {
            self.add_rows(layout, n);
        }
        if let Some((low, high)) = other.turns {
            self.count_turns(low);
            self.count_turns(high);
        }
        for (format, compression) in other.files {
            self.add_file(format, compression);
        }
    }

    fn count_turns(&mut self, t: usize) {
        let (low, high) = self.turns.get_or_insert((t, t));
        (*low, *high) = ((*low).min(t), (*high).max(t));
    }
}

/// `2312` → `2,312`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Layout {
    /// `implicit prompt pairs, message lists, 2,312 rows, 1–7 turns; gzip-compressed JSONL`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|(layout, n)| {
                let mut part = format!("{layout}, {} row{}", thousands(*n), plural(*n));
                if let (RowLayout::ImplicitMessages | RowLayout::ImplicitText(_), Some((l, h))) =
                    (layout, self.turns)
                {
                    let span = if l == h {
                        l.to_string()
                    } else {
                        format!("{l}–{h}")
                    };
                    part.push_str(&format!(", {span} turn{}", plural(h as u64)));
                }
                part
            })
            .collect();
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(format, compression)| {
                let name = match format {
                    FileFormat::Parquet => "Parquet".to_string(),
                    other => other.name().to_uppercase(),
                };
                match compression {
                    Some(c) => format!("{}-compressed {name}", c.name()),
                    None => name,
                }
            })
            .collect();
        let rows = if rows.is_empty() {
            "no valid rows".to_string()
        } else {
            rows.join(" + ")
        };
        write!(f, "{rows}; {}", files.join(" + "))
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_was_read() {
        let mut a = Layout::default();
        a.add_file(FileFormat::Jsonl, Some(Compression::Gzip));
        for t in [1, 7, 3] {
            a.count_row(RowLayout::ImplicitMessages, Some(t));
        }
        let mut total = Layout::default();
        total.merge(a);
        assert_eq!(
            total.to_string(),
            "implicit prompt pairs, message lists, 3 rows, 1–7 turns; gzip-compressed JSONL"
        );
        let mut b = Layout::default();
        b.add_file(FileFormat::Csv, None);
        for _ in 0..2312 {
            b.count_row(RowLayout::Triples, None);
        }
        assert_eq!(
            b.to_string(),
            "prompt/chosen/rejected columns, 2,312 rows; CSV"
        );
    }
}
