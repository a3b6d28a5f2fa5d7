//! Counts of what a project holds: the `verdikt stats` summary.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::filter::{FilterError, SampleFilter};
use crate::store::Store;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub datasets: u64,
    pub samples: u64,
    pub triples: u64,
    pub prompt_only: u64,
    pub by_language: BTreeMap<String, u64>,
    /// Samples without a split are counted as `unassigned`.
    pub by_split: BTreeMap<String, u64>,
    /// Samples without a category are counted as `none`.
    pub by_category: BTreeMap<String, u64>,
    /// Samples without a style are counted as `unknown`.
    pub by_style: BTreeMap<String, u64>,
    pub by_dataset: BTreeMap<String, u64>,
}

pub fn stats(store: &Store, filter: &SampleFilter) -> Result<Stats, FilterError> {
    let conn = store.conn();
    let (condition, params) = filter.where_clause(conn)?;
    let params = rusqlite::params_from_iter(&params);
    let mut out = Stats::default();
    let count = |r: &rusqlite::Row, i| r.get::<_, i64>(i).map(|n| n as u64);
    (out.datasets, out.samples, out.triples) = conn.query_row(
        &format!(
            "SELECT count(DISTINCT s.dataset_id), count(*), count(s.chosen) FROM samples AS s WHERE {condition}"
        ),
        params.clone(),
        |r| Ok((count(r, 0)?, count(r, 1)?, count(r, 2)?)),
    )?;
    out.prompt_only = out.samples - out.triples;
    for (expr, map) in [
        ("s.language", &mut out.by_language),
        ("coalesce(s.split, 'unassigned')", &mut out.by_split),
        ("coalesce(s.category, 'none')", &mut out.by_category),
        ("coalesce(s.style, 'unknown')", &mut out.by_style),
        (
            "(SELECT name FROM datasets d WHERE d.id = s.dataset_id)",
            &mut out.by_dataset,
        ),
    ] {
        let sql = format!("SELECT {expr}, count(*) FROM samples AS s WHERE {condition} GROUP BY 1");
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params.clone(), |r| {
            Ok((r.get::<_, String>(0)?, count(r, 1)?))
        })?;
        for row in rows {
            let (k, n) = row?;
            map.insert(k, n);
        }
    }
    Ok(out)
}

/// One imported dataset, as `verdikt datasets` lists it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetInfo {
    pub name: String,
    pub format: String,
    pub imported_at: String,
    pub samples: u64,
}

pub fn datasets(store: &Store) -> rusqlite::Result<Vec<DatasetInfo>> {
    let mut stmt = store.conn().prepare(
        "SELECT d.name, d.format, d.imported_at, (SELECT count(*) FROM samples s WHERE s.dataset_id = d.id)
         FROM datasets d ORDER BY d.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DatasetInfo {
            name: r.get(0)?,
            format: r.get(1)?,
            imported_at: r.get(2)?,
            samples: r.get::<_, i64>(3)? as u64,
        })
    })?;
    rows.collect()
}
