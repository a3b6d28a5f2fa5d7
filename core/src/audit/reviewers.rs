//! Reviewers: a name, the languages they read and whether they adjudicate. A reviewer's queue
//! and packs are limited to those languages, so they are validated like an import's languages;
//! an adjudicator records final answers where reviewers of those languages disagree.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::AuditError;
use crate::sample::normalise_language;
use crate::store::Store;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reviewer {
    pub id: i64,
    pub name: String,
    pub languages: Vec<String>,
    /// Records final answers where reviewers disagree, in the languages they read.
    pub adjudicator: bool,
    pub created_at: String,
}

/// `pl, CS` → `["pl", "cs"]`: normalised, in the order given, without repeats, not empty.
fn parse_languages(list: &str) -> Result<Vec<String>, AuditError> {
    let mut out: Vec<String> = Vec::new();
    for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let code = normalise_language(raw).map_err(AuditError::Languages)?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err(AuditError::Languages(
            "name at least one language, e.g. `pl,cs`".into(),
        ));
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<&str, AuditError> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(AuditError::ReviewerName(
            "must be non-empty text without control characters".into(),
        ));
    }
    if name.starts_with("guard:") {
        // Statistics name guard runs `guard:<run id>`; a reviewer must not pose as one.
        return Err(AuditError::ReviewerName(
            "`guard:` names are reserved for guard runs".into(),
        ));
    }
    Ok(name)
}

pub fn add_reviewer(store: &Store, name: &str, languages: &str) -> Result<Reviewer, AuditError> {
    let name = check_name(name)?;
    let languages = parse_languages(languages)?;
    let json = serde_json::to_string(&languages).expect("strings serialise");
    let inserted = store.conn().execute(
        "INSERT INTO reviewers (name, languages) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, json],
    )?;
    if inserted == 0 {
        return Err(AuditError::ReviewerExists(name.to_string()));
    }
    reviewer(store, name)
}

/// Replaces a reviewer's languages (answers already given stay as they are).
pub fn set_languages(store: &Store, name: &str, languages: &str) -> Result<Reviewer, AuditError> {
    let languages = parse_languages(languages)?;
    let json = serde_json::to_string(&languages).expect("strings serialise");
    let changed = store.conn().execute(
        "UPDATE reviewers SET languages = ?2 WHERE name = ?1",
        params![name.trim(), json],
    )?;
    if changed == 0 {
        return Err(AuditError::UnknownReviewer(name.to_string()));
    }
    reviewer(store, name)
}

/// Makes a reviewer an adjudicator for the languages they read, or no longer one.
pub fn set_adjudicator(
    store: &Store,
    name: &str,
    adjudicator: bool,
) -> Result<Reviewer, AuditError> {
    let changed = store.conn().execute(
        "UPDATE reviewers SET adjudicator = ?2 WHERE name = ?1",
        params![name.trim(), adjudicator],
    )?;
    if changed == 0 {
        return Err(AuditError::UnknownReviewer(name.to_string()));
    }
    reviewer(store, name)
}

const COLUMNS: &str = "id, name, languages, created_at, adjudicator";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Reviewer> {
    let languages: String = row.get(2)?;
    Ok(Reviewer {
        id: row.get(0)?,
        name: row.get(1)?,
        languages: serde_json::from_str(&languages).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        created_at: row.get(3)?,
        adjudicator: row.get(4)?,
    })
}

pub fn reviewer(store: &Store, name: &str) -> Result<Reviewer, AuditError> {
    store
        .conn()
        .query_row(
            &format!("SELECT {COLUMNS} FROM reviewers WHERE name = ?1"),
            [name.trim()],
            from_row,
        )
        .optional()?
        .ok_or_else(|| AuditError::UnknownReviewer(name.to_string()))
}

/// Every reviewer, by name.
pub fn list_reviewers(store: &Store) -> Result<Vec<Reviewer>, AuditError> {
    let mut stmt = store
        .conn()
        .prepare(&format!("SELECT {COLUMNS} FROM reviewers ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_normalised_and_validated() {
        assert_eq!(parse_languages(" PL, cs,pl ").unwrap(), ["pl", "cs"]);
        assert!(
            matches!(parse_languages("pl,xx"), Err(AuditError::Languages(m)) if m.contains("`xx`"))
        );
        assert!(parse_languages(" , ").is_err());
    }

    #[test]
    fn add_list_update() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        add_reviewer(&store, "zofia", "pl").unwrap();
        add_reviewer(&store, "ana", "cs,sk").unwrap();
        assert!(matches!(
            add_reviewer(&store, "ana", "de"),
            Err(AuditError::ReviewerExists(_))
        ));
        assert!(add_reviewer(&store, "guard:3", "de").is_err());
        set_languages(&store, "ana", "de").unwrap();
        assert!(!reviewer(&store, "zofia").unwrap().adjudicator);
        assert!(set_adjudicator(&store, "zofia", true).unwrap().adjudicator);
        let all = list_reviewers(&store).unwrap();
        let names: Vec<_> = all
            .iter()
            .map(|r| (r.name.as_str(), r.languages.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("ana", vec!["de".to_string()]),
                ("zofia", vec!["pl".to_string()])
            ]
        );
        assert!(matches!(
            set_languages(&store, "bob", "de"),
            Err(AuditError::UnknownReviewer(_))
        ));
    }
}
