//! Review packs: work for one reviewer in one language, carried as a Verdikt project file so
//! the reviewer answers in their own Verdikt (app or `verdikt --db PACK annotate`), and merged
//! back with the pack id as the answers' origin.
//!
//! A pack holds the samples that still need this reviewer's answer, their guard runs, verdicts,
//! detected languages and triage reasons, the reviewer, the question wording, and a manifest:
//! the source project id, the pack id, the reviewer and, per sample, a SHA-256 of its texts.
//! The source project records each pack it writes with the manifest's own hash, so import
//! refuses a pack from another project, a pack whose manifest was edited, and a pack whose
//! samples differ.
//!
//! Which samples: those in the reviewer's queue for the language (the queue's rule: triaged,
//! still short of the answers the team settings ask for, not answered by them), shared out
//! among the reviewers of the language who have not answered each one. A sample short of k
//! answers goes to k of them: each gets a seeded score per sample (rendezvous hashing) and the
//! top k win. Only the sample, reviewer names and seed decide, so re-exporting gives the same
//! assignment and adding a reviewer moves only the samples the newcomer wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::adjudication::refresh_disagreement;
use super::answer::{Provenance, Source, append, reads, records, sample_info};
use super::{AuditError, list_reviewers, reviewer};
use crate::queue::{self, QueueError, QueueQuery};
use crate::sample::normalise_language;
use crate::staged::{StageError, Staged};
use crate::store::{ProjectFile, Store};

/// Project-table key of the manifest inside a pack.
const MANIFEST_KEY: &str = "pack_manifest";
/// Project-table keys copied into a pack: question wording, guidelines, audit settings (reviewer
/// care's among them), the guards.
const COPIED_KEYS: &str =
    "key GLOB 'question.*' OR key GLOB 'config.*' OR key IN ('guidelines', 'guards')";

#[derive(Clone, Debug)]
pub struct PackOptions {
    pub reviewer: String,
    pub language: String,
    pub seed: u64,
    pub out: PathBuf,
    /// Replace an existing file at `out`.
    pub force: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestSample {
    pub id: i64,
    pub dataset: String,
    pub ext_id: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub source_project: String,
    pub pack_id: String,
    pub reviewer: String,
    pub language: String,
    pub seed: u64,
    pub samples: Vec<ManifestSample>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PackReport {
    pub pack_id: String,
    pub samples: usize,
    /// Of those, the samples that also need another reviewer's answer (for agreement).
    pub shared: usize,
    pub out: PathBuf,
}

#[derive(Clone, Debug, Serialize)]
pub struct MergeReport {
    pub pack_id: String,
    pub reviewer: String,
    /// Answer versions appended now.
    pub merged: usize,
    /// Answer versions that an earlier import already merged.
    pub already_merged: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("--language: {0}")]
    Language(String),
    #[error("{reviewer} does not read {language} (they read {reads}); see `verdikt reviewer set`")]
    NotTheirLanguage {
        reviewer: String,
        language: String,
        reads: String,
    },
    #[error(
        "no samples in {language} are waiting for {reviewer}: a pack holds triaged samples that still need their answer"
    )]
    NothingWaiting { reviewer: String, language: String },
    #[error("{} is not a review pack: {why}", path.display())]
    NotAPack { path: PathBuf, why: String },
    #[error("{} comes from another project ({pack_project}), not this one ({this_project})", path.display())]
    Foreign {
        path: PathBuf,
        pack_project: String,
        this_project: String,
    },
    #[error("{} was altered after it was made and is refused: {why}", path.display())]
    Tampered { path: PathBuf, why: String },
    #[error(
        "sample `{ext_id}` of pack {pack_id} changed in this project since the pack was made (re-imported?); the pack's answers would not be about the same text"
    )]
    SampleChanged { pack_id: String, ext_id: String },
    #[error(transparent)]
    Target(#[from] StageError),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A sample's dataset, imported id and a hash of what a reviewer judges: the texts and the
/// labels the questions refer to.
fn identity(
    conn: &Connection,
    sample_id: i64,
) -> rusqlite::Result<Option<(String, String, String)>> {
    conn.query_row(
        "SELECT d.name, s.ext_id,
                json_array(s.language, s.category, s.style, s.prompt, s.chosen, s.rejected, s.response)
         FROM samples AS s JOIN datasets AS d ON d.id = s.dataset_id WHERE s.id = ?1",
        [sample_id],
        |r| Ok((r.get(0)?, r.get(1)?, sha256_hex(r.get::<_, String>(2)?.as_bytes()))),
    )
    .optional()
}

/// A seeded uniform draw in [0, 1) from a label.
fn draw(seed: u64, label: &str) -> f64 {
    let h = Sha256::digest(format!("{seed}\0{label}").as_bytes());
    let n = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
    (n >> 11) as f64 / (1u64 << 53) as f64
}

/// The `k` of `names` a sample goes to: the top `k` seeded scores for this sample.
fn assignees(seed: u64, sample_id: i64, names: &[String], k: usize) -> Vec<&str> {
    let mut ranked: Vec<(f64, &str)> = names
        .iter()
        .map(|n| (draw(seed, &format!("assign\0{sample_id}\0{n}")), n.as_str()))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.truncate(k);
    ranked.into_iter().map(|(_, n)| n).collect()
}

/// Writes the pack for `opts.reviewer` and records it in the project.
pub fn export_pack(store: &Store, opts: &PackOptions) -> Result<PackReport, PackError> {
    let language = normalise_language(&opts.language).map_err(PackError::Language)?;
    let who = reviewer(store, &opts.reviewer)?;
    if !reads(&who, &language) {
        return Err(PackError::NotTheirLanguage {
            reviewer: who.name,
            language,
            reads: who.languages.join(", "),
        });
    }
    let team: Vec<String> = list_reviewers(store)?
        .into_iter()
        .filter(|r| reads(r, &language))
        .map(|r| r.name)
        .collect();
    let conn = store.conn();
    let waiting = queue::list(
        conn,
        &QueueQuery {
            reviewer: Some(who.name.clone()),
            language: Some(language.clone()),
            ..QueueQuery::default()
        },
    )?;
    // Per sample: the answers the team settings ask for, and who has answered already.
    let mut answered = conn.prepare(
        "SELECT (SELECT needed FROM sample_needs WHERE sample_id = ?1),
                (SELECT json_group_array(r.name) FROM reviewers AS r WHERE r.id IN
                     (SELECT a.reviewer_id FROM annotations AS a WHERE a.sample_id = ?1))",
    )?;
    let mut samples = Vec::new();
    let mut shared = 0;
    for item in waiting {
        let (needed, by): (i64, String) =
            answered.query_row([item.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let by: Vec<String> = serde_json::from_str(&by).expect("json_group_array is a list");
        let open: Vec<String> = team.iter().filter(|n| !by.contains(n)).cloned().collect();
        let short = usize::try_from(needed)
            .unwrap_or(0)
            .saturating_sub(by.len());
        if !assignees(opts.seed, item.id, &open, short).contains(&who.name.as_str()) {
            continue;
        }
        shared += usize::from(needed > 1);
        let (dataset, ext_id, sha256) =
            identity(conn, item.id)?.expect("the queue lists samples of this project");
        samples.push(ManifestSample {
            id: item.id,
            dataset,
            ext_id,
            sha256,
        });
    }
    if samples.is_empty() {
        return Err(PackError::NothingWaiting {
            reviewer: who.name,
            language,
        });
    }
    let pack_id: String =
        conn.query_row("SELECT 'pack-' || lower(hex(randomblob(8)))", [], |r| {
            r.get(0)
        })?;
    let manifest = Manifest {
        source_project: store.project_id().map_err(AuditError::from)?,
        pack_id: pack_id.clone(),
        reviewer: who.name.clone(),
        language: language.clone(),
        seed: opts.seed,
        samples,
    };
    let manifest_json = serde_json::to_string(&manifest).expect("manifest serialises");
    let staged = Staged::file(&opts.out, opts.force)?;
    write_pack(store, &staged.tmp, &manifest, &manifest_json, who.id)?;
    conn.execute(
        "INSERT INTO pack_exports (pack_id, reviewer_id, language, manifest_sha256, samples)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            pack_id,
            who.id,
            language,
            sha256_hex(manifest_json.as_bytes()),
            manifest.samples.len() as i64
        ],
    )?;
    staged.commit()?;
    Ok(PackReport {
        pack_id,
        samples: manifest.samples.len(),
        shared,
        out: opts.out.clone(),
    })
}

/// Copies the pack's share of the project into a fresh project file at `path`, in one
/// transaction across both files.
fn write_pack(
    store: &Store,
    path: &Path,
    manifest: &Manifest,
    manifest_json: &str,
    reviewer_id: i64,
) -> Result<(), PackError> {
    drop(Store::open(path).map_err(AuditError::from)?);
    let conn = store.conn();
    conn.execute("ATTACH DATABASE ?1 AS pack", [path.to_string_lossy()])?;
    let copied = (|| -> rusqlite::Result<()> {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS pack_samples (id INTEGER PRIMARY KEY);
             DELETE FROM temp.pack_samples;",
        )?;
        let mut add = conn.prepare("INSERT INTO temp.pack_samples (id) VALUES (?1)")?;
        for s in &manifest.samples {
            add.execute([s.id])?;
        }
        let in_pack = "sample_id IN (SELECT id FROM temp.pack_samples)";
        conn.execute_batch(&format!(
            "BEGIN;
             INSERT INTO pack.datasets SELECT * FROM main.datasets
               WHERE id IN (SELECT dataset_id FROM main.samples WHERE id IN (SELECT id FROM temp.pack_samples));
             INSERT INTO pack.samples SELECT * FROM main.samples WHERE id IN (SELECT id FROM temp.pack_samples);
             INSERT INTO pack.guard_runs SELECT * FROM main.guard_runs
               WHERE id IN (SELECT run_id FROM main.verdicts WHERE {in_pack});
             INSERT INTO pack.verdicts SELECT * FROM main.verdicts WHERE {in_pack};
             INSERT INTO pack.text_languages SELECT * FROM main.text_languages WHERE {in_pack};
             INSERT INTO pack.triage_reasons SELECT * FROM main.triage_reasons WHERE {in_pack};
             INSERT INTO pack.reviewers SELECT * FROM main.reviewers WHERE id = {reviewer_id};
             INSERT INTO pack.reviewer_reveals SELECT * FROM main.reviewer_reveals
               WHERE reviewer_id = {reviewer_id};
             INSERT INTO pack.project SELECT * FROM main.project WHERE {COPIED_KEYS};"
        ))?;
        conn.execute(
            "INSERT INTO pack.project (key, value) VALUES (?1, ?2)",
            params![MANIFEST_KEY, manifest_json],
        )?;
        conn.execute_batch("COMMIT; DELETE FROM temp.pack_samples;")
    })();
    if copied.is_err() && !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    conn.execute("DETACH DATABASE pack", [])?;
    copied?;
    // One self-contained file to hand over (no -wal beside it); Verdikt turns WAL back on when
    // the reviewer opens it.
    Connection::open(path)?.execute_batch("PRAGMA journal_mode = DELETE")?;
    Ok(())
}

/// Opens a pack that came back from someone else: read-only (a file that turns out not to be a
/// pack is left exactly as it was), hardened, checked page by page (`quick_check`) before
/// anything is read, and refused unless its schema is exactly Verdikt's, so every query below
/// runs Verdikt's SQL only.
fn open_untrusted(path: &Path) -> Result<Connection, String> {
    let damaged = |e: rusqlite::Error| format!("it is damaged or not a database ({e})");
    let pack =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(damaged)?;
    crate::store::harden(&pack).map_err(damaged)?;
    pack.execute_batch("PRAGMA query_only = ON")
        .map_err(damaged)?;
    let problems: Vec<String> = pack
        .prepare("PRAGMA quick_check(5)")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(damaged)?;
    if problems != ["ok"] {
        return Err(format!("it is damaged: {}", problems.join("; ")));
    }
    crate::store::check_schema(&pack, path).map_err(|e| match e {
        crate::store::StoreError::ForeignSchema { what, .. } => format!("it {what}"),
        other => other.to_string(),
    })?;
    Ok(pack)
}

/// Merges the answers made in a pack into the project, in one transaction. Versions merged by
/// an earlier import of the same pack are skipped, so importing twice changes nothing and a
/// pack imported again after more work adds only the new versions.
pub fn import_pack(store: &mut Store, path: &Path) -> Result<MergeReport, PackError> {
    let not_a_pack = |why: String| PackError::NotAPack {
        path: path.to_path_buf(),
        why,
    };
    let tampered = |why: String| PackError::Tampered {
        path: path.to_path_buf(),
        why,
    };
    if !path.is_file() {
        return Err(not_a_pack("no such file".into()));
    }
    match crate::store::inspect(path) {
        Ok(ProjectFile::Marked { .. } | ProjectFile::Unmarked { .. }) => {}
        Ok(ProjectFile::New) => return Err(not_a_pack("it is empty".into())),
        Err(e) => return Err(not_a_pack(e.to_string())),
    }
    let pack = open_untrusted(path).map_err(not_a_pack)?;
    let manifest_json: String = pack
        .query_row(
            "SELECT value FROM project WHERE key = ?1",
            [MANIFEST_KEY],
            |r| r.get(0),
        )
        .map_err(|e| not_a_pack(format!("it has no manifest ({e})")))?;
    let manifest: Manifest = serde_json::from_str(&manifest_json)
        .map_err(|e| tampered(format!("its manifest does not parse ({e})")))?;
    let this_project = store.project_id().map_err(AuditError::from)?;
    if manifest.source_project != this_project {
        return Err(PackError::Foreign {
            path: path.to_path_buf(),
            pack_project: manifest.source_project,
            this_project,
        });
    }
    let recorded: Option<(String, i64)> = store
        .conn()
        .query_row(
            "SELECT manifest_sha256, reviewer_id FROM pack_exports WHERE pack_id = ?1",
            [&manifest.pack_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((manifest_sha256, reviewer_id)) = recorded else {
        return Err(tampered(format!(
            "this project never wrote a pack with id {}",
            manifest.pack_id
        )));
    };
    if sha256_hex(manifest_json.as_bytes()) != manifest_sha256 {
        return Err(tampered("its manifest was edited".into()));
    }
    let in_pack: Vec<i64> = pack
        .prepare("SELECT id FROM samples ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut listed: Vec<i64> = manifest.samples.iter().map(|s| s.id).collect();
    listed.sort_unstable();
    if in_pack != listed {
        return Err(tampered(
            "its samples are not the ones its manifest lists".into(),
        ));
    }
    for s in &manifest.samples {
        let listed = Some((s.dataset.clone(), s.ext_id.clone(), s.sha256.clone()));
        if identity(&pack, s.id)? != listed {
            return Err(tampered(format!("sample `{}` changed", s.ext_id)));
        }
        if identity(store.conn(), s.id)? != listed {
            return Err(PackError::SampleChanged {
                pack_id: manifest.pack_id,
                ext_id: s.ext_id.clone(),
            });
        }
    }
    // A pack answered by a Verdikt from before answers kept their source has no such column.
    let table = if pack
        .prepare("SELECT source FROM annotations LIMIT 0")
        .is_ok()
    {
        "annotations"
    } else {
        "(SELECT *, NULL AS source FROM annotations)"
    };
    let answers = records(&pack, table, "1 ORDER BY a.sample_id, a.version", [])
        .map_err(|e| tampered(format!("an answer in it is unreadable ({e})")))?;
    if let Some(a) = answers.iter().find(|a| a.reviewer != manifest.reviewer) {
        return Err(tampered(format!(
            "it holds answers by {}, but the pack is {}'s",
            a.reviewer, manifest.reviewer
        )));
    }
    let sample_ids: BTreeMap<(&str, &str), i64> = manifest
        .samples
        .iter()
        .map(|s| ((s.dataset.as_str(), s.ext_id.as_str()), s.id))
        .collect();
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let who: String = tx.query_row(
        "SELECT name FROM reviewers WHERE id = ?1",
        [reviewer_id],
        |r| r.get(0),
    )?;
    if who != manifest.reviewer {
        return Err(tampered(format!(
            "it names reviewer {}, but it was made for {who}",
            manifest.reviewer
        )));
    }
    let mut report = MergeReport {
        pack_id: manifest.pack_id.clone(),
        reviewer: who,
        merged: 0,
        already_merged: 0,
    };
    let mut done: BTreeMap<i64, i64> = BTreeMap::new();
    for a in &answers {
        let Some(&sample_id) = sample_ids.get(&(a.dataset.as_str(), a.sample.as_str())) else {
            return Err(tampered(format!(
                "it holds an answer to `{}`, which it does not list",
                a.sample
            )));
        };
        // Pack versions run 1..n per sample; the first `merged` of them are already here.
        let merged = match done.get(&sample_id) {
            Some(n) => *n,
            None => {
                let n = tx.query_row(
                    "SELECT count(*) FROM annotations
                     WHERE origin = ?1 AND sample_id = ?2 AND reviewer_id = ?3",
                    params![manifest.pack_id, sample_id, reviewer_id],
                    |r| r.get(0),
                )?;
                *done.entry(sample_id).or_insert(n)
            }
        };
        if a.version <= merged {
            report.already_merged += 1;
            continue;
        }
        let answer = a.answer.validated(&sample_info(&tx, sample_id)?)?;
        append(
            &tx,
            sample_id,
            reviewer_id,
            &answer,
            &manifest.pack_id,
            Some(&a.created_at),
            &Provenance::new(Source::Pack, None),
        )?;
        report.merged += 1;
    }
    for &sample_id in done.keys() {
        refresh_disagreement(&tx, sample_id)?;
    }
    tx.commit()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_seeded_balanced_and_moves_only_what_a_newcomer_wins() {
        let names: Vec<String> = ["ana", "jan", "ola"].map(String::from).to_vec();
        let mut with_eva = names.clone();
        with_eva.push("eva".into());
        let mut load = BTreeMap::new();
        for id in 0..3000 {
            let to = assignees(7, id, &names, 2);
            assert_eq!(to, assignees(7, id, &names, 2), "deterministic");
            assert!(to.len() == 2 && to[0] != to[1], "{to:?}");
            for n in &to {
                *load.entry(*n).or_insert(0) += 1;
            }
            let one = assignees(7, id, &names, 1);
            let now = assignees(7, id, &with_eva, 1);
            assert!(now == one || now == ["eva"], "{one:?} → {now:?}");
        }
        assert!(load.values().all(|n| (1900..2100).contains(n)), "{load:?}");
        assert_eq!(
            assignees(7, 5, &names[..1], 2),
            ["ana"],
            "fewer than asked for"
        );
        assert!(assignees(7, 5, &names, 0).is_empty(), "nothing short");
    }
}
