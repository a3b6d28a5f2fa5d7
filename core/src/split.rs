//! Train/test assignment in which no (category, style) group crosses splits in any language,
//! so a model is never tested on an attack it was trained on; the test split aims at N
//! samples per category per language (the RefusEU protocol).

use std::collections::{BTreeMap, HashMap};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::filter::{FilterError, SampleFilter};
use crate::store::Store;

#[derive(Clone, Debug)]
pub struct SplitOptions {
    pub test_per_category: u64,
    pub seed: u64,
    pub filter: SampleFilter,
}

/// What the split achieved for one (language, category).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SplitCell {
    pub language: String,
    /// `none` for samples without a category.
    pub category: String,
    pub test: u64,
    pub train: u64,
}

/// What the split achieved for one language, over all its categories.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SplitLanguage {
    pub language: String,
    pub test: u64,
    pub train: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SplitReport {
    pub target: u64,
    pub groups: u64,
    pub test_groups: u64,
    /// Per (language, category), in that order.
    pub cells: Vec<SplitCell>,
    pub languages: Vec<SplitLanguage>,
}

#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("no sample matches; nothing to split")]
    Empty,
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

type Group = (String, String); // (category, style); missing ones as "none" / "unknown"

pub fn split(store: &mut Store, opts: &SplitOptions) -> Result<SplitReport, SplitError> {
    let (condition, params) = opts.filter.where_clause(store.conn())?;
    let mut members: BTreeMap<Group, Vec<(i64, String)>> = BTreeMap::new();
    {
        let sql = format!(
            "SELECT s.id, s.language, coalesce(s.category, 'none'), coalesce(s.style, 'unknown')
             FROM samples AS s WHERE {condition} ORDER BY s.id"
        );
        let mut stmt = store.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        while let Some(r) = rows.next()? {
            members
                .entry((r.get(2)?, r.get(3)?))
                .or_default()
                .push((r.get(0)?, r.get(1)?));
        }
    }
    if members.is_empty() {
        return Err(SplitError::Empty);
    }
    let test_groups = choose_test_groups(&members, opts.test_per_category, opts.seed);

    let mut cells: BTreeMap<(String, String), SplitCell> = BTreeMap::new();
    let tx = store.conn_mut().transaction()?;
    {
        let mut update = tx.prepare("UPDATE samples SET split = ?1 WHERE id = ?2")?;
        for (group, samples) in &members {
            let is_test = test_groups.contains(group);
            let name = if is_test { "test" } else { "train" };
            for (id, language) in samples {
                update.execute(rusqlite::params![name, id])?;
                let cell = cells
                    .entry((language.clone(), group.0.clone()))
                    .or_insert_with(|| SplitCell {
                        language: language.clone(),
                        category: group.0.clone(),
                        test: 0,
                        train: 0,
                    });
                if is_test {
                    cell.test += 1
                } else {
                    cell.train += 1
                }
            }
        }
    }
    tx.commit()?;
    let cells: Vec<SplitCell> = cells.into_values().collect();
    let mut languages: Vec<SplitLanguage> = Vec::new();
    for c in &cells {
        match languages.last_mut() {
            Some(l) if l.language == c.language => {
                l.test += c.test;
                l.train += c.train;
            }
            _ => languages.push(SplitLanguage {
                language: c.language.clone(),
                test: c.test,
                train: c.train,
            }),
        }
    }
    Ok(SplitReport {
        target: opts.test_per_category,
        groups: members.len() as u64,
        test_groups: test_groups.len() as u64,
        cells,
        languages,
    })
}

/// Per category, visits its groups in a seeded random order and moves a group to test when
/// that brings the per-language test counts closer to `target` (sum of absolute gaps).
fn choose_test_groups(
    members: &BTreeMap<Group, Vec<(i64, String)>>,
    target: u64,
    seed: u64,
) -> Vec<Group> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_category: BTreeMap<&str, Vec<&Group>> = BTreeMap::new();
    for group in members.keys() {
        by_category.entry(group.0.as_str()).or_default().push(group);
    }
    let mut chosen = Vec::new();
    for groups in by_category.values_mut() {
        groups.shuffle(&mut rng);
        let languages: Vec<&str> = {
            let mut l: Vec<&str> = groups
                .iter()
                .flat_map(|g| members[*g].iter().map(|(_, l)| l.as_str()))
                .collect();
            l.sort_unstable();
            l.dedup();
            l
        };
        let mut test: HashMap<&str, i64> = languages.iter().map(|l| (*l, 0)).collect();
        for group in groups.iter() {
            let mut add: HashMap<&str, i64> = HashMap::new();
            for (_, l) in &members[*group] {
                *add.entry(l.as_str()).or_default() += 1;
            }
            let gap = |n: i64| (n - target as i64).abs();
            let change: i64 = add
                .iter()
                .map(|(l, a)| gap(test[l] + a) - gap(test[l]))
                .sum();
            if change < 0 {
                for (l, a) in add {
                    *test.get_mut(l).expect("every language was listed") += a;
                }
                chosen.push((*group).clone());
            }
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (category, style, [(language, samples)]).
    type Spec<'a> = (&'a str, &'a str, &'a [(&'a str, usize)]);

    fn groups(spec: &[Spec]) -> BTreeMap<Group, Vec<(i64, String)>> {
        let mut id = 0;
        spec.iter()
            .map(|(c, s, langs)| {
                let rows = langs
                    .iter()
                    .flat_map(|(l, n)| std::iter::repeat_n(l.to_string(), *n))
                    .map(|l| {
                        id += 1;
                        (id, l)
                    })
                    .collect();
                ((c.to_string(), s.to_string()), rows)
            })
            .collect()
    }

    #[test]
    fn reaches_target_with_whole_groups_and_is_seeded() {
        let m = groups(&[
            ("S1", "slang", &[("en", 5), ("pl", 5)]),
            ("S1", "role play", &[("en", 5), ("pl", 5)]),
            ("S1", "misspellings", &[("en", 5), ("pl", 5)]),
            ("S2", "slang", &[("en", 3), ("pl", 3)]),
        ]);
        let a = choose_test_groups(&m, 10, 7);
        assert_eq!(a, choose_test_groups(&m, 10, 7));
        let s1_test: usize = a.iter().filter(|g| g.0 == "S1").count();
        assert_eq!(s1_test, 2, "two S1 groups give 10 per language");
        assert!(
            a.contains(&("S2".into(), "slang".into())),
            "a small group still approaches the target"
        );
        assert!(choose_test_groups(&m, 0, 7).is_empty());
    }
}
