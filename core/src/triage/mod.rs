//! Triage: for every sample, the reasons it needs a human. Languages are identified first
//! (committed batch by batch, skipping texts already identified), then all computed reasons of
//! the scope are replaced in one transaction. Audit-sample marks and answers are never touched,
//! so re-running triage after new guard runs only moves samples in and out of the queue.

pub mod audit_sample;
pub mod langid;
pub mod reasons;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

pub use reasons::Reason;

use crate::filter::{FilterError, SampleFilter};
use crate::keep;
use crate::project_guards::{GuardsError, ProjectGuards, project_guards};
use crate::store::Store;

/// P(unsafe) inside this band (inclusive) is `uncertain` unless a band is given.
pub const DEFAULT_BAND: (f64, f64) = (0.2, 0.8);

#[derive(Clone, Debug)]
pub struct TriageOptions {
    pub filter: SampleFilter,
    pub band: (f64, f64),
}

impl Default for TriageOptions {
    fn default() -> Self {
        TriageOptions {
            filter: SampleFilter::default(),
            band: DEFAULT_BAND,
        }
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct TriageReport {
    pub samples: u64,
    pub guards: ProjectGuards,
    pub langid: langid::LangidReport,
    /// Samples per reason in the scope after triage (every reason, zeros included).
    pub reasons: BTreeMap<String, u64>,
    /// Samples with at least one reason.
    pub queued: u64,
    pub keep_rule: keep::KeepCounts,
    /// `false` when cancelled during language identification (reasons were not recomputed).
    pub complete: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("--band: expected LOW,HIGH with 0 ≤ LOW ≤ HIGH ≤ 1, got {0},{1}")]
    Band(f64, f64),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Guards(#[from] GuardsError),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Parses `LOW,HIGH` (e.g. `0.2,0.8`).
pub fn parse_band(s: &str) -> Result<(f64, f64), String> {
    let (low, high) = s
        .split_once(',')
        .ok_or("expected LOW,HIGH such as 0.2,0.8")?;
    let num = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{v}` is not a number"))
    };
    Ok((num(low)?, num(high)?))
}

pub fn triage(
    store: &mut Store,
    opts: &TriageOptions,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<TriageReport, TriageError> {
    let (low, high) = opts.band;
    if !(0.0..=1.0).contains(&low) || !(0.0..=1.0).contains(&high) || low > high {
        return Err(TriageError::Band(low, high));
    }
    let (scope, params) = opts.filter.where_clause(store.conn())?;
    let guards = project_guards(store.conn())?;
    let langid = langid::identify_missing(store.conn_mut(), &scope, &params, progress, cancel)?;
    let complete = !cancel.load(std::sync::atomic::Ordering::Relaxed);
    if complete {
        let tx = store.conn_mut().transaction()?;
        reasons::recompute(&tx, &scope, &params, &guards.sql_list(), opts.band)?;
        tx.commit()?;
    }
    let conn = store.conn();
    let mut counts: BTreeMap<String, u64> =
        Reason::ALL.iter().map(|r| (r.name().into(), 0)).collect();
    let in_scope = format!("r.sample_id IN (SELECT s.id FROM samples AS s WHERE {scope})");
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT r.reason, count(*) FROM triage_reasons AS r WHERE {in_scope} GROUP BY r.reason"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(&params), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        for row in rows {
            let (reason, n) = row?;
            counts.insert(reason, n);
        }
    }
    let count = |sql: String| {
        conn.query_row(&sql, rusqlite::params_from_iter(&params), |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
    };
    Ok(TriageReport {
        samples: count(format!("SELECT count(*) FROM samples AS s WHERE {scope}"))?,
        queued: count(format!(
            "SELECT count(DISTINCT r.sample_id) FROM triage_reasons AS r WHERE {in_scope}"
        ))?,
        keep_rule: keep::counts(conn, &guards, &scope, &params)?,
        guards,
        langid,
        reasons: counts,
        complete,
    })
}
