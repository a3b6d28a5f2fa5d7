//! How a team audits: how many reviewers answer each sample (overlap, for agreement), whether a
//! reviewer sees others' answers before giving their own (blind), and whether guard verdicts
//! are withheld until they have answered (no anchoring). Stored in the project table as
//! `config.<key>`; review packs carry them. `Settings` reads and writes such a group of
//! settings; reviewer care's (`care.rs`) is the other.

use rusqlite::Connection;
use serde::Serialize;

use super::AuditError;
use super::care::CARE_KEYS;
use crate::store::{Store, project_setting, set_project_setting};

/// The most answers a sample can ask for; more is a panel, not an audit.
const MAX_ANSWERS: u32 = 10;

/// A project's audit settings.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AuditConfig {
    /// Answers from different reviewers a sample needs before it leaves the queue.
    pub answers_per_sample: u32,
    /// Share of samples (0..=1) that need `answers_per_sample`; the rest need one. Which ones
    /// is fixed by the sample id, so it never changes under a reviewer: the view `sample_needs`
    /// (migration 0016) draws them, and triggers keep each queued sample's `needed` in step.
    pub overlap_share: f64,
    /// A reviewer sees others' answers only after giving their own.
    pub blind: bool,
    /// Guard verdicts, P(unsafe) and guard-derived reason details are withheld from a reviewer
    /// until they have answered.
    pub hide_guard_verdicts: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            answers_per_sample: 1,
            overlap_share: 1.0,
            blind: true,
            hide_guard_verdicts: false,
        }
    }
}

/// The settings' names as the CLI and the window spell them.
pub const CONFIG_KEYS: [&str; 4] = [
    "answers-per-sample",
    "overlap-share",
    "blind",
    "hide-guard-verdicts",
];

/// A group of team settings stored as `config.<key>` rows of the project table (so review packs
/// carry them): the audit's here, reviewer care's in `care.rs`.
pub(super) trait Settings: Default {
    /// The settings' names as the CLI and the window spell them.
    const KEYS: &'static [&'static str];

    /// Applies `key = value` (a key of `KEYS`); returns the value to store, or what the value
    /// should be.
    fn set(&mut self, key: &str, value: &str) -> Result<String, String>;
}

fn stored_key(key: &str) -> String {
    format!("config.{key}")
}

/// `Break_Minutes` → `break-minutes`.
fn normalise_key(key: &str) -> String {
    key.trim().to_ascii_lowercase().replace('_', "-")
}

/// Whether `key` names one of `S`'s settings.
pub(super) fn is_key<S: Settings>(key: &str) -> bool {
    S::KEYS.contains(&normalise_key(key).as_str())
}

/// A group's settings (defaults where none is stored).
pub(super) fn read<S: Settings>(conn: &Connection) -> Result<S, AuditError> {
    let mut settings = S::default();
    for key in S::KEYS {
        if let Some(value) = project_setting(conn, &stored_key(key))? {
            settings
                .set(key, &value)
                .map_err(|message| AuditError::Config {
                    key: key.to_string(),
                    message: format!("the stored value is unreadable: {message}"),
                })?;
        }
    }
    Ok(settings)
}

/// Sets one of a group's settings and returns them all; a refused value stores nothing.
pub(super) fn write<S: Settings>(store: &Store, key: &str, value: &str) -> Result<S, AuditError> {
    let key = normalise_key(key);
    if !S::KEYS.contains(&key.as_str()) {
        return Err(AuditError::Config {
            key,
            message: format!(
                "unknown setting; the settings are {}",
                CONFIG_KEYS
                    .iter()
                    .chain(&CARE_KEYS)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let mut settings: S = read(store.conn())?;
    let stored = settings
        .set(&key, value)
        .map_err(|message| AuditError::Config {
            key: key.clone(),
            message,
        })?;
    set_project_setting(store.conn(), &stored_key(&key), Some(&stored))?;
    Ok(settings)
}

/// `on`/`off` (also yes/no, true/false, 1/0), as settings and the CLI's switches take them.
pub fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

impl Settings for AuditConfig {
    const KEYS: &'static [&'static str] = &CONFIG_KEYS;

    fn set(&mut self, key: &str, value: &str) -> Result<String, String> {
        let switch = || parse_switch(value).ok_or_else(|| format!("`{value}` is not on or off"));
        match key {
            "answers-per-sample" => {
                self.answers_per_sample = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ANSWERS).contains(n))
                    .ok_or_else(|| {
                        format!("`{value}` is not a whole number from 1 to {MAX_ANSWERS}")
                    })?;
            }
            "overlap-share" => {
                self.overlap_share = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|s| (0.0..=1.0).contains(s))
                    .ok_or_else(|| format!("`{value}` is not a share from 0 to 1"))?;
            }
            "blind" => self.blind = switch()?,
            "hide-guard-verdicts" => self.hide_guard_verdicts = switch()?,
            _ => unreachable!("keys are checked against CONFIG_KEYS"),
        }
        Ok(value.trim().to_ascii_lowercase())
    }
}

/// The project's audit settings (defaults where none is stored).
pub fn audit_config(conn: &Connection) -> Result<AuditConfig, AuditError> {
    read(conn)
}

/// Sets one setting (`answers-per-sample 2`, `blind off`) and returns them all.
pub fn set_config(store: &Store, key: &str, value: &str) -> Result<AuditConfig, AuditError> {
    write(store, key, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_set_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        assert_eq!(audit_config(store.conn()).unwrap(), AuditConfig::default());
        set_config(&store, "answers-per-sample", "2").unwrap();
        let c = set_config(&store, "Blind", "off").unwrap();
        assert_eq!((c.answers_per_sample, c.blind), (2, false));
        assert_eq!(audit_config(store.conn()).unwrap(), c, "stored");
        for (key, value) in [
            ("answers-per-sample", "0"),
            ("answers-per-sample", "two"),
            ("overlap-share", "1.5"),
            ("blind", "maybe"),
            ("colour", "red"),
        ] {
            let err = set_config(&store, key, value).unwrap_err().to_string();
            assert!(err.contains(key.trim()), "{err}");
        }
        assert_eq!(
            audit_config(store.conn()).unwrap(),
            c,
            "refusals store nothing"
        );
    }

    /// The queue's `needed` (migration 0016) follows the settings: the overlap share, drawn by
    /// the sample id, needs `answers-per-sample`; the rest one; back to one when unset.
    #[test]
    fn a_share_of_samples_needs_the_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
                 INSERT INTO samples (id, dataset_id, ext_id, language, prompt)
                 SELECT i, 1, 's' || i, 'pl', 'p' FROM n;
                 INSERT INTO triage_reasons (sample_id, reason)
                 SELECT id, 'audit_sample' FROM samples WHERE id <= 2000;",
            )
            .unwrap();
        let needing = |n: i64| -> (i64, i64) {
            store
                .conn()
                .query_row(
                    "SELECT sum(needed = ?1), sum(needed = 1) FROM triage_queue",
                    [n],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        set_config(&store, "answers-per-sample", "3").unwrap();
        assert_eq!(needing(3), (2000, 0), "a share of 1 by default");
        set_config(&store, "overlap-share", "0.25").unwrap();
        let (three, one) = needing(3);
        assert!((400..600).contains(&three), "{three} of 2000");
        assert_eq!(three + one, 2000);
        store
            .conn()
            .execute(
                "INSERT INTO triage_reasons (sample_id, reason)
                 SELECT id, 'audit_sample' FROM samples WHERE id > 2000",
                [],
            )
            .unwrap();
        let (three, one) = needing(3);
        assert!(
            (900..1100).contains(&three),
            "samples queued later too: {three}"
        );
        assert_eq!(three + one, 4000);
        set_config(&store, "overlap-share", "1").unwrap();
        assert_eq!(
            needing(3),
            (4000, 0),
            "a changed setting, not only a new one"
        );
        set_project_setting(store.conn(), "config.answers-per-sample", None).unwrap();
        assert_eq!(needing(1), (4000, 4000), "unset: one answer each");
    }
}
