//! The stratified audit sample: N samples per language, spread over (category, style) strata
//! as evenly as the data allows, reproducible from a seed. Each language draws round-robin over
//! its strata in a seeded order, one shuffled member at a time, so a stratum gets a second
//! sample only when every stratum with members left has one. Each language has its own random
//! stream (seed + language), so adding a language never changes another's draw.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::filter::{FilterError, SampleFilter};
use crate::store::Store;

#[derive(Clone, Debug)]
pub struct AuditSampleOptions {
    pub per_language: u64,
    pub seed: u64,
    pub filter: SampleFilter,
}

/// One (language, category, style) stratum: how many it holds and how many were drawn.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Stratum {
    pub language: String,
    /// `none` for samples without a category.
    pub category: String,
    /// `unknown` for samples without a style.
    pub style: String,
    pub available: u64,
    pub drawn: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LanguageDraw {
    pub language: String,
    pub available: u64,
    pub drawn: u64,
    pub strata: u64,
    pub strata_drawn: u64,
    /// Fewest and most drawn from one stratum (the evenness achieved).
    pub min_per_stratum: u64,
    pub max_per_stratum: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditSampleReport {
    pub per_language: u64,
    pub seed: u64,
    /// Earlier `audit_sample` marks in the scope that this draw replaced.
    pub replaced: u64,
    pub languages: Vec<LanguageDraw>,
    pub strata: Vec<Stratum>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditSampleError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("no sample matches; nothing to draw from")]
    Empty,
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// (category, style) → (dataset name, ext id, sample id), per language.
type Strata = BTreeMap<(String, String), Vec<(String, String, i64)>>;

/// Draws the audit sample and marks it, replacing earlier marks in the scope (one transaction).
pub fn draw(
    store: &mut Store,
    opts: &AuditSampleOptions,
) -> Result<AuditSampleReport, AuditSampleError> {
    mark(store, opts, false)
}

/// Brings each language's audit sample up to `per_language`, keeping every sample already
/// marked: the new ones are drawn the same seeded way from the samples not yet marked, so the
/// whole stays a random sample (what `measure::corrected` needs). The report counts the new
/// ones as `drawn` and the unmarked ones as `available`.
pub fn top_up(
    store: &mut Store,
    opts: &AuditSampleOptions,
) -> Result<AuditSampleReport, AuditSampleError> {
    mark(store, opts, true)
}

fn mark(
    store: &mut Store,
    opts: &AuditSampleOptions,
    keep: bool,
) -> Result<AuditSampleReport, AuditSampleError> {
    let (scope, params) = opts.filter.where_clause(store.conn())?;
    let mut languages: BTreeMap<String, Strata> = BTreeMap::new();
    // Per language, the samples already marked (kept by a top-up).
    let mut marked: BTreeMap<String, u64> = BTreeMap::new();
    {
        let mut stmt = store.conn().prepare(&format!(
            "SELECT s.language, coalesce(s.category, 'none'), coalesce(s.style, 'unknown'),
                    d.name, s.ext_id, s.id,
                    EXISTS (SELECT 1 FROM triage_reasons AS t
                            WHERE t.sample_id = s.id AND t.reason = 'audit_sample')
             FROM samples AS s JOIN datasets AS d ON d.id = s.dataset_id WHERE {scope}"
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        while let Some(r) = rows.next()? {
            let language: String = r.get(0)?;
            let strata = languages.entry(language.clone()).or_default();
            if keep && r.get::<_, bool>(6)? {
                *marked.entry(language).or_default() += 1;
                continue;
            }
            strata.entry((r.get(1)?, r.get(2)?)).or_default().push((
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ));
        }
    }
    if languages.is_empty() {
        return Err(AuditSampleError::Empty);
    }
    let mut report = AuditSampleReport {
        per_language: opts.per_language,
        seed: opts.seed,
        replaced: 0,
        languages: Vec::new(),
        strata: Vec::new(),
    };
    let mut chosen = Vec::new();
    for (language, mut strata) in languages {
        let wanted = opts
            .per_language
            .saturating_sub(marked.get(&language).copied().unwrap_or(0));
        let drawn = draw_language(&mut strata, wanted, stream(opts.seed, &language));
        let counts: Vec<u64> = drawn.iter().map(|d| d.len() as u64).collect();
        report.languages.push(LanguageDraw {
            language: language.clone(),
            available: strata.values().map(|m| m.len() as u64).sum(),
            drawn: counts.iter().sum(),
            strata: strata.len() as u64,
            strata_drawn: counts.iter().filter(|&&n| n > 0).count() as u64,
            min_per_stratum: counts.iter().copied().min().unwrap_or(0),
            max_per_stratum: counts.iter().copied().max().unwrap_or(0),
        });
        for (((category, style), members), ids) in strata.into_iter().zip(drawn) {
            report.strata.push(Stratum {
                language: language.clone(),
                category,
                style,
                available: members.len() as u64,
                drawn: ids.len() as u64,
            });
            chosen.extend(ids);
        }
    }
    let tx = store.conn_mut().transaction()?;
    report.replaced = if keep {
        0
    } else {
        tx.execute(
            &format!(
                "DELETE FROM triage_reasons WHERE reason = 'audit_sample'
             AND sample_id IN (SELECT s.id FROM samples AS s WHERE {scope})"
            ),
            rusqlite::params_from_iter(&params),
        )? as u64
    };
    {
        let mut insert = tx.prepare(
            "INSERT INTO triage_reasons (sample_id, reason, detail) VALUES (?1, 'audit_sample', ?2)",
        )?;
        let topped = if keep { "topped up to " } else { "" };
        let detail = format!(
            "seed {}, {topped}{} per language",
            opts.seed, opts.per_language
        );
        for id in chosen {
            insert.execute(rusqlite::params![id, detail])?;
        }
    }
    tx.commit()?;
    Ok(report)
}

/// A language's own random stream: the seed and the language, hashed.
fn stream(seed: u64, language: &str) -> ChaCha8Rng {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(language.as_bytes());
    let digest = h.finalize();
    ChaCha8Rng::seed_from_u64(u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")))
}

/// Round-robin over the strata in seeded order; returns the drawn ids per stratum, in the
/// strata's (sorted) order. Members are sorted by (dataset, ext id) before shuffling, so the
/// draw does not depend on import order.
fn draw_language(strata: &mut Strata, n: u64, mut rng: ChaCha8Rng) -> Vec<Vec<i64>> {
    for members in strata.values_mut() {
        members.sort();
        members.shuffle(&mut rng);
    }
    let mut order: Vec<usize> = (0..strata.len()).collect();
    order.shuffle(&mut rng);
    let members: Vec<&Vec<(String, String, i64)>> = strata.values().collect();
    let mut drawn = vec![Vec::new(); strata.len()];
    let mut taken = 0u64;
    let mut round = 0;
    while taken < n {
        let mut any = false;
        for &i in &order {
            if taken == n {
                break;
            }
            if let Some(m) = members[i].get(round) {
                drawn[i].push(m.2);
                taken += 1;
                any = true;
            }
        }
        if !any {
            break;
        }
        round += 1;
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strata(spec: &[(&str, &str, usize)]) -> Strata {
        let mut id = 0;
        spec.iter()
            .map(|(c, s, n)| {
                let members = (0..*n)
                    .map(|_| {
                        id += 1;
                        ("d".to_string(), format!("x{id}"), id)
                    })
                    .collect();
                ((c.to_string(), s.to_string()), members)
            })
            .collect()
    }

    #[test]
    fn round_robin_is_even_and_seeded() {
        let spec = [
            ("S1", "slang", 10),
            ("S1", "role play", 1),
            ("S2", "slang", 10),
        ];
        let a = draw_language(&mut strata(&spec), 7, stream(1, "pl"));
        let counts: Vec<usize> = a.iter().map(Vec::len).collect();
        assert_eq!(
            counts,
            vec![1, 3, 3],
            "the small stratum is exhausted, the rest share"
        );
        assert_eq!(a, draw_language(&mut strata(&spec), 7, stream(1, "pl")));
        let other: Vec<Vec<i64>> = (2..6)
            .map(|seed| draw_language(&mut strata(&spec), 7, stream(seed, "pl")).concat())
            .collect();
        assert!(other.iter().any(|o| *o != a.concat()), "the seed matters");
        let all = draw_language(&mut strata(&spec), 100, stream(1, "pl"));
        assert_eq!(
            all.iter().map(Vec::len).sum::<usize>(),
            21,
            "no more than exists"
        );
    }
}
