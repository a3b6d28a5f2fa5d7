//! Turns one input row (column name → JSON value, whatever the file format) into samples:
//! which column fills which field, message lists, implicit-prompt pairs, wide multilingual
//! rows, and validation.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::conversation::{self, Markers, Split, SplitError, TurnLayout};
use super::layout::{Layout, RowLayout};
use crate::export::EARLIER_TURNS;
use crate::sample::{
    Field, NewSample, normalise_language, normalise_split, normalise_style, parse_category,
};

/// A problem with one field of one row.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

/// What a column of the input means.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Field(Field),
    /// One text column of a wide multilingual table: (field, language).
    Wide(Field, String),
    Metadata,
}

/// Defaults that come from outside the row: the command line and the file's path.
#[derive(Clone, Debug, Default)]
pub struct RowDefaults {
    pub language: Option<String>,
    pub split: Option<String>,
}

/// Maps the rows of one file. Column meaning is decided once per column name and cached, so
/// JSON rows with varying keys cost a hash lookup per key.
pub struct Mapper {
    explicit: HashMap<String, Field>,
    mapped_fields: Vec<Field>,
    defaults: RowDefaults,
    wide: Option<bool>,
    /// Column meanings seen so far; a short list beats hashing for the handful of columns.
    targets: Vec<(String, Target)>,
    /// `--roles`: the role markers of implicit-prompt texts; without it each row's are detected.
    roles: Option<Markers>,
    /// How the rows mapped so far were read.
    pub layout: Layout,
}

/// An implicit-prompt pair, split, and which layout it came in.
struct Implicit {
    split: Split,
    layout: RowLayout,
}

impl Mapper {
    /// `mappings` are `--map FIELD=COLUMN` pairs, already checked to name real fields.
    pub fn new(mappings: &[(Field, String)], defaults: RowDefaults) -> Mapper {
        Mapper {
            explicit: mappings.iter().map(|(f, c)| (c.clone(), *f)).collect(),
            mapped_fields: mappings.iter().map(|(f, _)| *f).collect(),
            defaults,
            wide: None,
            targets: Vec::new(),
            roles: None,
            layout: Layout::default(),
        }
    }

    /// Reads implicit-prompt texts with these role markers (`--roles`) instead of detecting them.
    pub fn with_roles(mut self, roles: Option<Markers>) -> Mapper {
        self.roles = roles;
        self
    }

    fn classify(&self, column: &str, wide: bool) -> Target {
        if let Some(field) = self.explicit.get(column) {
            return Target::Field(*field);
        }
        if let Some(field) = Field::from_alias(column).filter(|f| !self.mapped_fields.contains(f)) {
            return Target::Field(field);
        }
        if wide && let Some((field, lang)) = wide_column(column) {
            return Target::Wide(field, lang);
        }
        Target::Metadata
    }

    /// A file is a wide multilingual table when no column names a text field but some are
    /// named by a language code (`pl`, `prompt_pl`, `chosen_pl`, …). Decided on the first row.
    fn decide_wide(&self, row: &Map<String, Value>) -> bool {
        let names_text = row.keys().any(|k| {
            matches!(
                self.classify(k, false),
                Target::Field(Field::Prompt | Field::Chosen | Field::Rejected | Field::Response)
            )
        });
        !names_text
            && row
                .keys()
                .any(|k| matches!(self.classify(k, true), Target::Wide(Field::Prompt, _)))
    }

    pub fn map(&mut self, row: Map<String, Value>) -> Result<Vec<NewSample>, Vec<FieldProblem>> {
        let wide = match self.wide {
            Some(w) => w,
            None => *self.wide.insert(self.decide_wide(&row)),
        };
        let mut fields = Cells::default();
        let mut wide_texts: Vec<(Field, String, Value)> = Vec::new();
        let mut metadata = Map::new();
        let mut problems = Vec::new();
        for (column, value) in row {
            let target = match self.targets.iter().find(|(c, _)| *c == column) {
                Some((_, t)) => t.clone(),
                None => {
                    let t = self.classify(&column, wide);
                    self.targets.push((column.clone(), t.clone()));
                    t
                }
            };
            match target {
                Target::Field(field) => {
                    if let Some((first, _)) = fields.get(&field) {
                        problems.push(problem(
                            column.as_str(),
                            format!(
                                "both `{first}` and `{column}` name the {}; choose one with --map {}=COLUMN",
                                field.name(),
                                field.name()
                            ),
                        ));
                    } else {
                        fields.insert(field, (column, value));
                    }
                }
                Target::Wide(field, lang) => wide_texts.push((field, lang, value)),
                Target::Metadata => {
                    metadata.insert(column, value);
                }
            }
        }
        let implicit = if wide {
            None
        } else {
            self.implicit_pair(&mut fields, &mut problems)
        };
        let mut common = Common::read(&mut fields, &self.defaults, wide, &mut problems);
        common.metadata = metadata;
        let (samples, layout, turns) = if wide {
            let samples = common.wide_samples(wide_texts, &mut problems);
            (samples, RowLayout::Wide, None)
        } else {
            let turns = implicit.as_ref().map(|i| i.split.user_turns());
            let layout = implicit.as_ref().map(|i| i.layout.clone());
            let sample = common.narrow_sample(&mut fields, implicit, &mut problems);
            let layout = layout.unwrap_or(match &sample {
                Some(s) if s.pair.is_some() => RowLayout::Triples,
                _ => RowLayout::Prompts,
            });
            (sample.into_iter().collect(), layout, turns)
        };
        if problems.is_empty() {
            self.layout.count_row(layout, turns);
            Ok(samples)
        } else {
            Err(problems)
        }
    }

    /// A row without a prompt whose `chosen` and `rejected` are both message lists or both
    /// texts is an implicit-prompt pair: both cells are taken and split into prompt and answers.
    /// Any other row is left to the columns.
    fn implicit_pair(
        &self,
        fields: &mut Cells,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<Implicit> {
        let same_shape = matches!(
            (fields.get(&Field::Chosen), fields.get(&Field::Rejected)),
            (Some((_, Value::Array(_))), Some((_, Value::Array(_))))
                | (Some((_, Value::String(_))), Some((_, Value::String(_))))
        );
        if fields.get(&Field::Prompt).is_some() || !same_shape {
            return None;
        }
        let (chosen_column, chosen) = fields.remove(&Field::Chosen)?;
        let (rejected_column, rejected) = fields.remove(&Field::Rejected)?;
        let (chosen_turns, rejected_turns, layout) = match (chosen, rejected) {
            (Value::Array(c), Value::Array(r)) => {
                let read = |column: &str, items: &[Value]| {
                    conversation::message_turns(items).map_err(|m| problem(column, m))
                };
                match (read(&chosen_column, &c), read(&rejected_column, &r)) {
                    (Ok(c), Ok(r)) => (c, r, RowLayout::ImplicitMessages),
                    (c, r) => {
                        problems.extend(c.err().into_iter().chain(r.err()));
                        return None;
                    }
                }
            }
            (Value::String(c), Value::String(r)) => {
                let Some(markers) = self.roles.clone().or_else(|| Markers::detect(&c, &r)) else {
                    problems.push(problem(
                        chosen_column,
                        "there is no prompt column, and chosen and rejected have no role markers of a known convention; name the prompt with --map prompt=COLUMN, or the markers with --roles user=MARKER,assistant=MARKER",
                    ));
                    return None;
                };
                let turns = (markers.turns(&c), markers.turns(&r));
                (turns.0, turns.1, RowLayout::ImplicitText(markers))
            }
            _ => unreachable!("both sides have the same shape"),
        };
        match conversation::split(chosen_turns, rejected_turns) {
            Ok(split) => Some(Implicit { split, layout }),
            Err(e) => {
                let column = match e {
                    SplitError::NoAnswer("chosen") => chosen_column,
                    _ => rejected_column,
                };
                problems.push(problem(column, e.to_string()));
                None
            }
        }
    }
}

/// `pl`, `prompt_pl`, `pl_prompt`, `chosen_pl`, `rejected-pl`, … → (field, normalised language).
fn wide_column(column: &str) -> Option<(Field, String)> {
    // Two-letter primary subtags only: longer ones collide with column names (`row_id` would
    // read as language `row`, region `ID`).
    let as_lang = |s: &str| {
        let primary = s.split(['-', '_']).next().unwrap_or_default();
        (primary.len() == 2)
            .then(|| normalise_language(s).ok())
            .flatten()
    };
    if let Some(lang) = as_lang(column) {
        return Some((Field::Prompt, lang));
    }
    for field in [Field::Prompt, Field::Chosen, Field::Rejected] {
        let name = field.name();
        for sep in ['_', '-'] {
            let lang = column
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(sep))
                .or_else(|| {
                    column
                        .strip_suffix(name)
                        .and_then(|rest| rest.strip_suffix(sep))
                });
            if let Some(lang) = lang.and_then(as_lang) {
                return Some((field, lang));
            }
        }
    }
    None
}

/// The cell (column name, value) each field was read from in one row.
#[derive(Default)]
struct Cells([Option<(String, Value)>; Field::ALL.len()]);

impl Cells {
    fn get(&self, field: &Field) -> Option<&(String, Value)> {
        self.0[*field as usize].as_ref()
    }

    fn insert(&mut self, field: Field, cell: (String, Value)) {
        self.0[field as usize] = Some(cell);
    }

    fn remove(&mut self, field: &Field) -> Option<(String, Value)> {
        self.0[*field as usize].take()
    }
}

/// The fields every sample of a row shares.
struct Common {
    id: Option<String>,
    language: Option<String>,
    /// The row named a language that is not valid (already reported).
    language_invalid: bool,
    category: Option<&'static str>,
    style: Option<String>,
    split: Option<String>,
    model: Option<String>,
    metadata: Map<String, Value>,
}

/// A scalar cell as text: strings as they are, numbers in their JSON spelling; empty → None.
fn scalar(
    field: Field,
    column: &str,
    value: Value,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => {
            problems.push(problem(
                column,
                format!("the {} must be text, found {}", field.name(), kind(&other)),
            ));
            None
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Common {
    fn read(
        fields: &mut Cells,
        defaults: &RowDefaults,
        wide: bool,
        problems: &mut Vec<FieldProblem>,
    ) -> Common {
        let mut take = |field: Field, problems: &mut Vec<FieldProblem>| {
            fields.remove(&field).and_then(|(column, value)| {
                scalar(field, &column, value, problems).map(|s| (column, s))
            })
        };
        let id = take(Field::Id, problems).map(|(_, s)| s);
        let mut language_invalid = false;
        let language = match take(Field::Language, problems) {
            Some(_) if wide => None,
            Some((column, raw)) => normalise_language(&raw)
                .map_err(|m| {
                    language_invalid = true;
                    problems.push(problem(column, m))
                })
                .ok(),
            None => defaults.language.clone(),
        };
        let category = take(Field::Category, problems).and_then(|(column, raw)| {
            parse_category(&raw)
                .map_err(|m| problems.push(problem(column, m)))
                .ok()
        });
        let style = take(Field::Style, problems).and_then(|(_, raw)| normalise_style(&raw));
        let split = match take(Field::Split, problems) {
            Some((column, raw)) => normalise_split(&raw)
                .map_err(|m| problems.push(problem(column, m)))
                .ok(),
            None => defaults.split.clone(),
        };
        let model = take(Field::Model, problems).map(|(_, s)| s);
        Common {
            id,
            language,
            language_invalid,
            category,
            style,
            split,
            model,
            metadata: Map::new(),
        }
    }

    fn narrow_sample(
        &mut self,
        fields: &mut Cells,
        implicit: Option<Implicit>,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<NewSample> {
        let mut text = |field: Field| fields.remove(&field);
        let prompt_cell = text(Field::Prompt);
        let chosen_cell = text(Field::Chosen);
        let rejected_cell = text(Field::Rejected);
        let response_cell = text(Field::Response);

        let mut prompt = None;
        if let Some((column, value)) = prompt_cell {
            prompt = prompt_text(&column, value, problems);
        }
        let mut chosen = chosen_cell.and_then(|(c, v)| answer(&c, v, &mut prompt, problems));
        let mut rejected = rejected_cell.and_then(|(c, v)| answer(&c, v, &mut prompt, problems));
        // Earlier turns of an implicit prompt, as a JSON message list: part of the content id,
        // so that two conversations ending alike stay two samples.
        let mut earlier_turns = String::new();
        let mut turns = None;
        if let Some(Implicit { mut split, layout }) = implicit {
            let last = split
                .prompt
                .pop()
                .expect("a split prompt ends with a user turn");
            if !split.prompt.is_empty() {
                let list = Value::Array(split.prompt.iter().map(|t| t.message()).collect());
                earlier_turns = list.to_string();
                let layout = match layout {
                    RowLayout::ImplicitText(markers) => TurnLayout::Text(markers),
                    _ => TurnLayout::Messages,
                };
                turns = Some(conversation::Conversation {
                    earlier: split.prompt,
                    layout,
                });
                if self.metadata.contains_key(EARLIER_TURNS) {
                    problems.push(problem(
                        EARLIER_TURNS,
                        "the column's name is where Parquet, CSV and HF exports keep a conversation's earlier turns; rename it",
                    ));
                }
            }
            (prompt, chosen, rejected) =
                (Some(last.content), Some(split.chosen), Some(split.rejected));
        }
        let response = response_cell.and_then(|(column, value)| match value {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => {
                problems.push(problem(
                    column,
                    format!("the response must be text, found {}", kind(&other)),
                ));
                None
            }
        });
        let pair = match (chosen, rejected) {
            (Some(c), Some(r)) if c.is_empty() && r.is_empty() => None,
            (Some(c), Some(r)) => Some((c, r)),
            (None, None) => None,
            (Some(_), None) => {
                problems.push(problem(
                    "rejected",
                    "missing: `chosen` and `rejected` come both or not at all",
                ));
                None
            }
            (None, Some(_)) => {
                problems.push(problem(
                    "chosen",
                    "missing: `chosen` and `rejected` come both or not at all",
                ));
                None
            }
        };
        let Some(prompt) = prompt.filter(|p| !p.is_empty()) else {
            if problems.is_empty() {
                problems.push(problem("prompt", "missing or empty"));
            }
            return None;
        };
        let language = match self.language.take() {
            Some(l) => l,
            None => {
                if !self.language_invalid {
                    problems.push(problem(
                        "language",
                        "missing: add a language column or pass --language",
                    ));
                }
                return None;
            }
        };
        let ext_id = self.id.take().unwrap_or_else(|| {
            NewSample::content_id(
                &language,
                &format!("{earlier_turns}{prompt}"),
                pair.as_ref().map(|(c, r)| (c.as_str(), r.as_str())),
                response.as_deref(),
            )
        });
        Some(NewSample {
            ext_id,
            language,
            category: self.category,
            style: self.style.take(),
            split: self.split.take(),
            prompt,
            pair,
            response,
            model: self.model.take(),
            group_key: None,
            metadata: std::mem::take(&mut self.metadata),
            turns,
        })
    }

    fn wide_samples(
        self,
        texts: Vec<(Field, String, Value)>,
        problems: &mut Vec<FieldProblem>,
    ) -> Vec<NewSample> {
        let mut by_lang: indexmap::IndexMap<String, HashMap<Field, String>> =
            indexmap::IndexMap::new();
        for (field, lang, value) in texts {
            let column = match field {
                Field::Prompt => lang.clone(),
                other => format!("{}_{lang}", other.name()),
            };
            match value {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                Value::String(s) => {
                    by_lang.entry(lang).or_default().insert(field, s);
                }
                other => problems.push(problem(
                    column,
                    format!("must be text, found {}", kind(&other)),
                )),
            }
        }
        let base = self.id.clone().unwrap_or_else(|| {
            let all: Vec<&str> = by_lang
                .values()
                .flat_map(|m| m.get(&Field::Prompt))
                .map(String::as_str)
                .collect();
            NewSample::content_id("*", &all.join("\u{0}"), None, None)
        });
        let mut samples = Vec::new();
        for (lang, mut texts) in by_lang {
            let pair = match (texts.remove(&Field::Chosen), texts.remove(&Field::Rejected)) {
                (Some(c), Some(r)) => Some((c, r)),
                (None, None) => None,
                _ => {
                    problems.push(problem(
                        format!("chosen_{lang}"),
                        "`chosen` and `rejected` come both or not at all",
                    ));
                    None
                }
            };
            let Some(prompt) = texts.remove(&Field::Prompt) else {
                problems.push(problem(lang.clone(), "an answer without its prompt"));
                continue;
            };
            samples.push(NewSample {
                ext_id: format!("{base}-{lang}"),
                language: lang,
                category: self.category,
                style: self.style.clone(),
                split: self.split.clone(),
                prompt,
                pair,
                response: None,
                model: self.model.clone(),
                group_key: Some(base.clone()),
                metadata: self.metadata.clone(),
                turns: None,
            });
        }
        if samples.is_empty() && problems.is_empty() {
            problems.push(problem("prompt", "no language column of this row has text"));
        }
        samples
    }
}

/// A prompt cell: plain text, or a message list (TRL conversational) with one user turn.
fn prompt_text(column: &str, value: Value, problems: &mut Vec<FieldProblem>) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Array(items) => match messages(column, items, problems)? {
            Conversation {
                user: Some(u),
                assistant: None,
            } => Some(u),
            _ => {
                problems.push(problem(
                    column,
                    "a prompt message list must hold exactly one user turn",
                ));
                None
            }
        },
        other => {
            problems.push(problem(
                column,
                format!("must be text or a message list, found {}", kind(&other)),
            ));
            None
        }
    }
}

/// An answer cell: plain text, or a message list whose last turn is the assistant's. A user
/// turn in the list is the prompt (RefusEU's layout) and must agree with any other source.
fn answer(
    column: &str,
    value: Value,
    prompt: &mut Option<String>,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Array(items) => {
            let conv = messages(column, items, problems)?;
            let Some(reply) = conv.assistant else {
                problems.push(problem(column, "the message list has no assistant turn"));
                return None;
            };
            if let Some(user) = conv.user {
                match prompt {
                    None => *prompt = Some(user),
                    Some(p) if *p == user => {}
                    Some(_) => {
                        problems.push(problem(column, "its user turn differs from the prompt"));
                        return None;
                    }
                }
            }
            Some(reply)
        }
        other => {
            problems.push(problem(
                column,
                format!("must be text or a message list, found {}", kind(&other)),
            ));
            None
        }
    }
}

struct Conversation {
    user: Option<String>,
    assistant: Option<String>,
}

/// Reads `[{role, content}, …]`: at most one user turn, then at most one assistant turn.
fn messages(
    column: &str,
    items: Vec<Value>,
    problems: &mut Vec<FieldProblem>,
) -> Option<Conversation> {
    let mut conv = Conversation {
        user: None,
        assistant: None,
    };
    let roles: Vec<String> = items
        .iter()
        .map(|m| {
            m.get("role")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    let shape_ok = matches!(
        roles
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["user"] | ["assistant"] | ["user", "assistant"]
    );
    if !shape_ok {
        problems.push(problem(
            column,
            format!(
                "only a user turn followed by an assistant turn is supported, found roles [{}]",
                roles.join(", ")
            ),
        ));
        return None;
    }
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut m) = item else {
            unreachable!("roles were read from objects")
        };
        let content = match m.remove("content") {
            Some(Value::String(s)) => s,
            other => {
                let found = other.as_ref().map_or("nothing", kind);
                problems.push(problem(
                    column,
                    format!("message {}: content must be text, found {found}", i + 1),
                ));
                return None;
            }
        };
        if roles[i] == "user" {
            conv.user = Some(content);
        } else {
            conv.assistant = Some(content);
        }
    }
    Some(conv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map_one(row: Value) -> Result<Vec<NewSample>, Vec<FieldProblem>> {
        let mut mapper = Mapper::new(&[], RowDefaults::default());
        mapper.map(row.as_object().unwrap().clone())
    }

    #[test]
    fn refuseu_message_lists() {
        let s = &map_one(json!({
            "chosen": [{"role": "user", "content": "P"}, {"role": "assistant", "content": "No."}],
            "rejected": [{"role": "user", "content": "P"}, {"role": "assistant", "content": "Sure"}],
            "lang": "PL", "id": "x1", "row_id": 7, "category": "S2"
        }))
        .unwrap()[0];
        assert_eq!(
            (s.prompt.as_str(), s.language.as_str(), s.ext_id.as_str()),
            ("P", "pl", "x1")
        );
        assert_eq!(s.pair, Some(("No.".into(), "Sure".into())));
        assert_eq!(s.category, Some("S2"));
        assert_eq!(
            s.metadata,
            json!({"row_id": 7}).as_object().unwrap().clone()
        );
    }

    #[test]
    fn each_row_of_implicit_text_finds_its_own_markers() {
        let mut mapper = Mapper::new(&[], RowDefaults::default());
        let mut map = |c: &str, r: &str| {
            let row = json!({"chosen": c, "rejected": r, "language": "en"});
            let s = mapper.map(row.as_object().unwrap().clone()).unwrap();
            (s[0].prompt.clone(), s[0].pair.clone().unwrap())
        };
        let hh = map(
            "\n\nHuman: p\n\nAssistant: no",
            "\n\nHuman: p\n\nAssistant: ok",
        );
        let user = map("User: q\nAssistant: no", "User: q\nAssistant: ok");
        assert_eq!(hh, ("p".into(), ("no".into(), "ok".into())));
        assert_eq!(user, ("q".into(), ("no".into(), "ok".into())));
        assert!(
            mapper
                .layout
                .to_string()
                .starts_with("implicit prompt pairs, text with \"\\n\\nHuman:\"/\"\\n\\nAssistant:\" markers, 1 row, 1 turn + implicit prompt pairs, text with \"User:\"/\"Assistant:\" markers, 1 row, 1 turn"),
            "{}",
            mapper.layout
        );
    }

    #[test]
    fn mismatched_user_turns_are_reported() {
        let errs = map_one(json!({
            "chosen": [{"role": "user", "content": "P"}, {"role": "assistant", "content": "No."}],
            "rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "Sure"}],
            "lang": "pl"
        }))
        .unwrap_err();
        assert_eq!(errs[0].field, "rejected");
    }

    #[test]
    fn half_a_pair_is_an_error_and_prompt_only_is_fine() {
        let errs = map_one(json!({"prompt": "p", "chosen": "c", "language": "en"})).unwrap_err();
        assert_eq!(errs[0].field, "rejected");
        let s = &map_one(json!({"question": "p", "locale": "en"})).unwrap()[0];
        assert_eq!(s.pair, None);
    }

    #[test]
    fn explicit_map_wins_and_frees_the_alias() {
        let mut m = Mapper::new(&[(Field::Prompt, "text".into())], RowDefaults::default());
        let s = &m
            .map(
                json!({"text": "t", "prompt": "other", "lang": "de"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
            .unwrap()[0];
        assert_eq!(s.prompt, "t");
        assert_eq!(s.metadata.get("prompt"), Some(&json!("other")));
    }

    #[test]
    fn two_aliases_for_one_field_conflict() {
        let errs = map_one(json!({"prompt": "p", "lang": "de", "language": "fr"})).unwrap_err();
        assert!(errs[0].message.contains("--map language="), "{errs:?}");
    }

    #[test]
    fn wide_rows_become_one_sample_per_language() {
        let out = map_one(json!({"id": 3, "category": "hate", "en": "Hello", "pl": "Cześć", "de": null, "note": "n"})).unwrap();
        let langs: Vec<_> = out
            .iter()
            .map(|s| (s.ext_id.as_str(), s.language.as_str(), s.prompt.as_str()))
            .collect();
        assert_eq!(langs, [("3-en", "en", "Hello"), ("3-pl", "pl", "Cześć")]);
        assert!(
            out.iter()
                .all(|s| s.group_key.as_deref() == Some("3") && s.category == Some("S10"))
        );
    }

    #[test]
    fn wide_rows_with_answers() {
        let out = map_one(
            json!({"prompt_en": "p", "chosen_en": "c", "rejected_en": "r", "prompt_fr": "pf"}),
        )
        .unwrap();
        assert_eq!(out[0].pair, Some(("c".into(), "r".into())));
        assert_eq!(out[1].pair, None);
        assert_eq!(out[0].group_key, out[1].group_key);
    }

    #[test]
    fn defaults_fill_missing_language_and_split() {
        let mut m = Mapper::new(
            &[],
            RowDefaults {
                language: Some("cs".into()),
                split: Some("eval".into()),
            },
        );
        let s = &m
            .map(json!({"prompt": "p"}).as_object().unwrap().clone())
            .unwrap()[0];
        assert_eq!(
            (s.language.as_str(), s.split.as_deref()),
            ("cs", Some("eval"))
        );
        let errs = map_one(json!({"prompt": "p"})).unwrap_err();
        assert_eq!(errs[0].field, "language");
    }

    #[test]
    fn bad_values_name_their_column() {
        let errs =
            map_one(json!({"prompt": "p", "lang": "english", "hazard": "S99", "split": "a/b"}))
                .unwrap_err();
        let cols: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(cols, ["lang", "hazard", "split"]);
    }
}
