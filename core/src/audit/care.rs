//! Reviewer care: what the review spares the people who read harmful text. The curator chooses
//! per project which harm categories are blurred until the reviewer reveals them (and announced
//! by a word before the first such sample of a session), which texts of those samples are
//! blurred, and after how long a stretch of continuous review a pause is suggested. They are
//! team settings like `config.rs`'s, stored as `config.<key>` in the project table, so review
//! packs carry them; the Review screen applies them (blurring is presentation only).
//!
//! Each reviewer may choose to see a category unblurred always: that choice is theirs, kept per
//! reviewer in the project (`reviewer_reveals`, migration 0013) rather than in one window's
//! local storage, so it holds in every window or browser they review in and in their packs.

use rusqlite::params;
use serde::Serialize;

use super::config::{Settings, is_key, read, write};
use super::{AuditError, reviewer};
use crate::sample::{CATEGORIES, parse_category};
use crate::store::Store;

/// The texts of a sample that can be blurred, as the Review screen names them.
pub const BLURRABLE_TEXTS: [&str; 4] = ["prompt", "chosen", "rejected", "response"];

/// The longest stretch a break can be set to: a working day.
const MAX_BREAK_MINUTES: f64 = 480.0;

/// The project's reviewer-care settings.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CareSettings {
    /// Categories (S1–S14, in code order) whose texts in `blur_texts` are blurred until
    /// revealed, and whose first sample in a session is announced.
    pub blur_categories: Vec<String>,
    /// Which texts of such a sample are blurred (`prompt`, `chosen`, `rejected`, `response`).
    pub blur_texts: Vec<String>,
    /// Minutes of continuous review after which a pause is suggested; none: never.
    pub break_minutes: Option<f64>,
}

impl Default for CareSettings {
    /// Sex crimes, child exploitation, self-harm and sexual content; the harmful answer and
    /// model responses, not the prompt; a pause after 45 minutes.
    fn default() -> Self {
        CareSettings {
            blur_categories: ["S3", "S4", "S11", "S12"].map(String::from).to_vec(),
            blur_texts: ["rejected", "response"].map(String::from).to_vec(),
            break_minutes: Some(45.0),
        }
    }
}

/// The settings' names as the CLI and the window spell them (`verdikt config KEY VALUE`).
pub const CARE_KEYS: [&str; 3] = ["blur-categories", "blur-texts", "break-minutes"];

/// A list setting: items separated by commas or spaces; `none` (or nothing) is the empty list.
fn items(value: &str) -> Vec<&str> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    v.split([',', ' ']).filter(|s| !s.is_empty()).collect()
}

/// `S11, s3 S4` → `["S3", "S4", "S11"]`: codes only (a name would be ambiguous in a list), in
/// code order, without repeats.
fn parse_categories(value: &str) -> Result<Vec<String>, String> {
    let mut codes = Vec::new();
    for item in items(value) {
        let digits = item.strip_prefix(['S', 's']).unwrap_or_default();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{item}` is not a category code S1–S14"));
        }
        codes.push(parse_category(item)?);
    }
    Ok(CATEGORIES
        .iter()
        .map(|(code, _)| *code)
        .filter(|c| codes.contains(c))
        .map(String::from)
        .collect())
}

fn parse_texts(value: &str) -> Result<Vec<String>, String> {
    let mut texts = Vec::new();
    for item in items(value) {
        let text = item.to_ascii_lowercase();
        if !BLURRABLE_TEXTS.contains(&text.as_str()) {
            return Err(format!(
                "`{item}` is not a text; the texts are {}",
                BLURRABLE_TEXTS.join(", ")
            ));
        }
        texts.push(text);
    }
    Ok(BLURRABLE_TEXTS
        .iter()
        .filter(|t| texts.iter().any(|x| x == *t))
        .map(|t| t.to_string())
        .collect())
}

/// Minutes, fractions allowed (a short stretch for a trial); `off` or 0 turns breaks off.
fn parse_minutes(value: &str) -> Result<Option<f64>, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match v.parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(m) if m > 0.0 && m <= MAX_BREAK_MINUTES => Ok(Some(m)),
        _ => Err(format!(
            "`{value}` is not minutes from 0 (off) to {MAX_BREAK_MINUTES}"
        )),
    }
}

impl Settings for CareSettings {
    const KEYS: &'static [&'static str] = &CARE_KEYS;

    fn set(&mut self, key: &str, value: &str) -> Result<String, String> {
        Ok(match key {
            "blur-categories" => {
                self.blur_categories = parse_categories(value)?;
                list_value(&self.blur_categories)
            }
            "blur-texts" => {
                self.blur_texts = parse_texts(value)?;
                list_value(&self.blur_texts)
            }
            "break-minutes" => {
                self.break_minutes = parse_minutes(value)?;
                self.break_minutes
                    .map_or_else(|| "off".to_string(), |m| m.to_string())
            }
            _ => unreachable!("keys are checked against CARE_KEYS"),
        })
    }
}

impl CareSettings {
    /// The value of `key` as `verdikt config` shows it (and accepts it back).
    pub fn value(&self, key: &str) -> String {
        match key {
            "blur-categories" => list_value(&self.blur_categories),
            "blur-texts" => list_value(&self.blur_texts),
            "break-minutes" => self
                .break_minutes
                .map_or_else(|| "off".to_string(), |m| m.to_string()),
            _ => unreachable!("keys are checked against CARE_KEYS"),
        }
    }
}

fn list_value(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(",")
    }
}

/// Whether `key` names a reviewer-care setting (the rest are `config.rs`'s).
pub fn is_care_key(key: &str) -> bool {
    is_key::<CareSettings>(key)
}

/// The project's reviewer-care settings (defaults where none is stored).
pub fn care_settings(conn: &rusqlite::Connection) -> Result<CareSettings, AuditError> {
    read(conn)
}

/// Sets one setting (`blur-categories S4,S11`, `blur-texts none`, `break-minutes 30`) and
/// returns them all; a refused value stores nothing.
pub fn set_care(store: &Store, key: &str, value: &str) -> Result<CareSettings, AuditError> {
    write(store, key, value)
}

/// The categories `name` has chosen to see unblurred always, in code order.
pub fn revealed_always(store: &Store, name: &str) -> Result<Vec<String>, AuditError> {
    let who = reviewer(store, name)?;
    let mut stmt = store
        .conn()
        .prepare("SELECT category FROM reviewer_reveals WHERE reviewer_id = ?1")?;
    let chosen = stmt
        .query_map([who.id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CATEGORIES
        .iter()
        .filter(|(code, _)| chosen.iter().any(|c| c == code))
        .map(|(code, _)| code.to_string())
        .collect())
}

/// `name` sees `category` unblurred always (`always`), or blurred again as the project says.
/// Returns the categories they now see unblurred.
pub fn set_revealed_always(
    store: &Store,
    name: &str,
    category: &str,
    always: bool,
) -> Result<Vec<String>, AuditError> {
    let who = reviewer(store, name)?;
    let code = parse_categories(category)
        .ok()
        .filter(|c| c.len() == 1)
        .ok_or_else(|| AuditError::Config {
            key: "reveal".into(),
            message: format!("`{category}` is not one category code S1–S14"),
        })?;
    let sql = if always {
        "INSERT INTO reviewer_reveals (reviewer_id, category) VALUES (?1, ?2)
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM reviewer_reveals WHERE reviewer_id = ?1 AND category = ?2"
    };
    store.conn().execute(sql, params![who.id, code[0]])?;
    revealed_always(store, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::add_reviewer;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        (dir, store)
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Sets `key` to each accepted value and checks what is read back (from a fresh read of
    /// the project), then refuses each bad value without changing what is stored.
    fn round_trip<T: PartialEq + std::fmt::Debug>(
        key: &str,
        read: impl Fn(&CareSettings) -> T,
        accepted: &[(&str, T)],
        refused: &[&str],
    ) {
        let (_dir, store) = store();
        let named = key.to_ascii_lowercase().replace('_', "-");
        assert_eq!(
            care_settings(store.conn()).unwrap(),
            CareSettings::default()
        );
        for (value, expected) in accepted {
            let set = set_care(&store, key, value).unwrap();
            assert_eq!(&read(&set), expected, "{key} {value}");
            let again = care_settings(store.conn()).unwrap();
            assert_eq!(again, set, "{key} {value} is stored");
            // What `verdikt config` shows is accepted back unchanged.
            let shown = again.value(&named);
            assert_eq!(read(&set_care(&store, key, &shown).unwrap()), read(&again));
        }
        let before = care_settings(store.conn()).unwrap();
        for value in refused {
            let err = set_care(&store, key, value).unwrap_err().to_string();
            assert!(err.contains(&format!("setting `{named}`")), "{err}");
        }
        assert_eq!(
            care_settings(store.conn()).unwrap(),
            before,
            "refusals store nothing"
        );
    }

    #[test]
    fn defaults_are_the_hard_categories_the_harmful_texts_and_45_minutes() {
        let d = CareSettings::default();
        assert_eq!(d.blur_categories, ["S3", "S4", "S11", "S12"]);
        assert_eq!(d.blur_texts, ["rejected", "response"]);
        assert_eq!(d.break_minutes, Some(45.0));
        assert_eq!(d.value("blur-categories"), "S3,S4,S11,S12");
    }

    #[test]
    fn blur_categories() {
        round_trip(
            "blur-categories",
            |c| c.blur_categories.clone(),
            &[
                ("s11, S4 S4,s04", strings(&["S4", "S11"])),
                ("none", strings(&[])),
                ("S1,S14", strings(&["S1", "S14"])),
            ],
            &["S15", "S0", "Self-Harm", "S11,hate", "x"],
        );
    }

    #[test]
    fn blur_texts() {
        round_trip(
            "Blur_Texts",
            |c| c.blur_texts.clone(),
            &[
                (
                    "Response rejected prompt",
                    strings(&["prompt", "rejected", "response"]),
                ),
                ("", strings(&[])),
                ("chosen", strings(&["chosen"])),
            ],
            &["answer", "rejected,turns"],
        );
    }

    #[test]
    fn break_minutes() {
        round_trip(
            "break-minutes",
            |c| c.break_minutes,
            &[
                ("30", Some(30.0)),
                ("0.05", Some(0.05)),
                ("off", None),
                ("0", None),
                ("480", Some(480.0)),
            ],
            &["-1", "481", "NaN", "inf", "soon"],
        );
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let (_dir, store) = store();
        let err = set_care(&store, "blur-everything", "on")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("blur-everything") && err.contains("blur-texts"),
            "{err}"
        );
        assert!(is_care_key("Break_Minutes") && !is_care_key("blind"));
    }

    #[test]
    fn a_reviewers_reveal_always_is_their_own_and_goes_back() {
        let (_dir, store) = store();
        add_reviewer(&store, "ana", "pl").unwrap();
        add_reviewer(&store, "ola", "pl").unwrap();
        assert!(revealed_always(&store, "ana").unwrap().is_empty());
        set_revealed_always(&store, "ana", "s11", true).unwrap();
        let twice = set_revealed_always(&store, "ana", "S4", true).unwrap();
        assert_eq!(twice, ["S4", "S11"]);
        assert_eq!(
            set_revealed_always(&store, "ana", "S4", true).unwrap(),
            twice,
            "idempotent"
        );
        assert!(
            revealed_always(&store, "ola").unwrap().is_empty(),
            "ana's alone"
        );
        assert_eq!(
            set_revealed_always(&store, "ana", "S11", false).unwrap(),
            ["S4"]
        );
        for bad in ["S15", "S4,S11", ""] {
            assert!(
                set_revealed_always(&store, "ana", bad, true).is_err(),
                "{bad}"
            );
        }
        assert!(matches!(
            set_revealed_always(&store, "eve", "S4", true),
            Err(AuditError::UnknownReviewer(_))
        ));
    }

    #[test]
    fn a_pack_carries_the_settings_and_its_reviewers_choices() {
        use crate::audit::pack::{PackOptions, export_pack};
        let (dir, store) = store();
        store
            .conn()
            .execute_batch(
                "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
                 INSERT INTO samples (id, dataset_id, ext_id, language, prompt, chosen, rejected)
                   VALUES (1, 1, 'pl-1', 'pl', 'p', 'c', 'r');
                 INSERT INTO triage_reasons (sample_id, reason) VALUES (1, 'audit_sample');",
            )
            .unwrap();
        add_reviewer(&store, "ana", "pl").unwrap();
        add_reviewer(&store, "ola", "pl").unwrap();
        let settings = set_care(&store, "break-minutes", "20").unwrap();
        set_revealed_always(&store, "ana", "S12", true).unwrap();
        set_revealed_always(&store, "ola", "S4", true).unwrap();
        let out = dir.path().join("ana.pack");
        let opts = PackOptions {
            reviewer: "ana".into(),
            language: "pl".into(),
            seed: 1,
            out: out.clone(),
            force: false,
        };
        export_pack(&store, &opts).unwrap();
        let pack = Store::open(&out).unwrap();
        assert_eq!(care_settings(pack.conn()).unwrap(), settings);
        assert_eq!(revealed_always(&pack, "ana").unwrap(), ["S12"]);
        let others: i64 = pack
            .conn()
            .query_row("SELECT count(*) FROM reviewer_reveals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(others, 1, "only the pack's reviewer's choices");
    }
}
