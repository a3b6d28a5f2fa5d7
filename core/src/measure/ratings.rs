//! Who rated what: the rater × item matrices of a project, read once from the store, and the
//! agreement table of every rater pair and group per scope.
//!
//! Raters are reviewers (their current answer: the highest version per sample) and "the guards"
//! (`guard:<run id>`). Items are (sample, question) for Q1–Q3 and (sample, text) for verdicts.
//! A guard's `controversial` or `unparsed` verdict is a missing rating: it is neither safe nor
//! unsafe, and counting it as either would invent agreement. Figures that judge (guard
//! accuracy, ASR) also read `controversial` both ways, as Qwen3Guard's own strict (unsafe) and
//! loose (safe) readings do ([`Ratings::verdicts_read`]).
//!
//! Agreement reads these individual answers; pass rates, `--only-passed` and ASR read the
//! final answers ([`Finals`]): an adjudicator's where one exists, else what the reviewers agree
//! on.

use std::borrow::Cow;
use std::collections::HashMap;

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::MeasureError;
use super::agreement::{Caveat, GroupTable, PairTable};
use crate::filter::SampleFilter;
use crate::guard::Reading;
use crate::guard::run::TextField;
use crate::store::Store;

/// A cell with no rating.
pub const MISSING: u8 = u8::MAX;
/// A final answer still to come: reviewers disagree and no adjudicator has decided.
pub const PENDING: u8 = u8::MAX - 1;

/// What the rated items are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    Q1,
    Q2,
    Q3,
    Verdict,
}

impl What {
    pub const ALL: [What; 4] = [What::Q1, What::Q2, What::Q3, What::Verdict];

    /// The class names, in class-index order.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            What::Q1 | What::Q2 => &["yes", "no"],
            What::Q3 => &["yes", "no", "na"],
            What::Verdict => &["safe", "unsafe"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            What::Q1 => "q1",
            What::Q2 => "q2",
            What::Q3 => "q3",
            What::Verdict => "verdict",
        }
    }

    fn class(self, value: &str) -> u8 {
        self.labels()
            .iter()
            .position(|l| *l == value)
            .map_or(MISSING, |i| i as u8)
    }
}

/// Which samples a figure covers: `{}` overall, or one language, category or style.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Scope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
}

/// Interned values of one sample column.
#[derive(Debug, Default)]
pub struct Column {
    pub names: Vec<String>,
    pub of_sample: Vec<u32>,
    index: HashMap<String, u32>,
}

impl Column {
    fn push(&mut self, value: String) {
        let next = self.names.len() as u32;
        let id = *self.index.entry(value.clone()).or_insert_with(|| {
            self.names.push(value);
            next
        });
        self.of_sample.push(id);
    }

    /// The value of sample `i`.
    pub fn get(&self, i: usize) -> &str {
        &self.names[self.of_sample[i] as usize]
    }
}

/// The samples in scope, by dense index.
#[derive(Debug, Default)]
pub struct Samples {
    pub ids: Vec<i64>,
    pub language: Column,
    /// `none` when a sample has no category.
    pub category: Column,
    /// `unknown` when a sample has no style.
    pub style: Column,
    index: HashMap<i64, u32>,
}

impl Samples {
    pub fn load(store: &Store, filter: &SampleFilter) -> Result<Samples, MeasureError> {
        let conn = store.conn();
        let (condition, params) = filter.where_clause(conn)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT s.id, s.language, coalesce(s.category, 'none'), coalesce(s.style, 'unknown')
             FROM samples AS s WHERE {condition} ORDER BY s.id"
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        let mut out = Samples::default();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            out.index.insert(id, out.ids.len() as u32);
            out.ids.push(id);
            out.language.push(r.get(1)?);
            out.category.push(r.get(2)?);
            out.style.push(r.get(3)?);
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The dense index of a sample id, if it is in scope.
    pub fn position(&self, id: i64) -> Option<usize> {
        self.index.get(&id).map(|&i| i as usize)
    }
}

/// Ratings of one kind of item: `rows` items × `raters` columns, [`MISSING`] where unrated.
/// Row `r` belongs to sample `r / per_sample`.
#[derive(Clone, Debug)]
pub struct Matrix {
    pub what: What,
    pub per_sample: usize,
    pub raters: usize,
    pub values: Vec<u8>,
}

impl Matrix {
    fn new(what: What, samples: usize, per_sample: usize, raters: usize) -> Matrix {
        Matrix {
            what,
            per_sample,
            raters,
            values: vec![MISSING; samples * per_sample * raters],
        }
    }

    fn set(&mut self, row: usize, rater: usize, class: u8) {
        self.values[row * self.raters + rater] = class;
    }

    pub fn rows(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.values.chunks(self.raters.max(1)).enumerate()
    }
}

/// Everything rated in a project (within a sample filter).
#[derive(Debug)]
pub struct Ratings {
    pub samples: Samples,
    /// Rater names: reviewers, then the guards as `guard:<run id>`.
    pub raters: Vec<String>,
    /// How many of `raters` are reviewers (the rest are guards).
    pub humans: usize,
    /// The guard run ids, in rater order after the reviewers.
    pub guards: Vec<i64>,
    /// Q1, Q2, Q3: one row per sample.
    pub questions: [Matrix; 3],
    /// Verdicts: one row per (sample, text), texts in [`TextField::ALL`] order.
    pub verdicts: Matrix,
    pub finals: Finals,
    /// The cells of `verdicts` where a guard said `controversial` (missing there).
    pub controversial: Vec<usize>,
    /// Per guard (as `guards`): its profile's reading of `controversial`, for three-class guards.
    pub readings: Vec<Option<Reading>>,
    /// The project's judge, not one of the raters: it decides only what the guards dispute.
    pub judge: Option<Judge>,
}

/// What the judge said of a text: `controversial` (a class of no matrix).
const JUDGE_CONTROVERSIAL: u8 = 2;

/// The project's judge's verdicts (see `project_guards`), one per row of [`Ratings::verdicts`].
#[derive(Debug)]
pub struct Judge {
    pub run: i64,
    said: Vec<u8>,
}

impl Judge {
    /// The judge's class on `row`, its `controversial` read as `reading` says; [`MISSING`]
    /// where it gave no safe/unsafe verdict.
    pub fn verdict(&self, row: usize, reading: Option<Reading>) -> u8 {
        match (self.said[row], reading) {
            (JUDGE_CONTROVERSIAL, None) => MISSING,
            (JUDGE_CONTROVERSIAL, Some(Reading::Strict)) => What::Verdict.class("unsafe"),
            (JUDGE_CONTROVERSIAL, Some(Reading::Loose)) => What::Verdict.class("safe"),
            (class, _) => class,
        }
    }
}

/// The final answer per sample and question, and per (sample, text) verdict: the current
/// adjudicated final answer where it gives one, else the class every reviewer's current answer
/// agrees on; [`PENDING`] where they differ, [`MISSING`] where nobody answered.
#[derive(Clone, Debug)]
pub struct Finals {
    /// Q1, Q2, Q3: one value per sample.
    pub questions: [Vec<u8>; 3],
    /// One value per (sample, text), rows as in [`Ratings::verdicts`].
    pub verdicts: Vec<u8>,
}

/// The one class the rated cells share, [`PENDING`] if they differ, [`MISSING`] if none.
fn agreed(values: &[u8]) -> u8 {
    let mut out = MISSING;
    for &v in values.iter().filter(|&&v| v != MISSING) {
        if out == MISSING {
            out = v;
        } else if out != v {
            return PENDING;
        }
    }
    out
}

impl Finals {
    /// What the reviewers (the first `humans` raters) agree on, overridden by the current
    /// final answers.
    fn load(
        store: &Store,
        samples: &Samples,
        questions: &[Matrix; 3],
        verdicts: &Matrix,
        humans: usize,
    ) -> Result<Finals, MeasureError> {
        let agreed_rows = |m: &Matrix| -> Vec<u8> {
            (0..samples.len() * m.per_sample)
                .map(|row| agreed(&m.values[row * m.raters..row * m.raters + humans]))
                .collect()
        };
        let mut finals = Finals {
            questions: [0, 1, 2].map(|q| agreed_rows(&questions[q])),
            verdicts: agreed_rows(verdicts),
        };
        let mut stmt = store
            .conn()
            .prepare("SELECT id, sample_id, q1, q2, q3, verdicts FROM current_final_answers")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(s) = samples.position(r.get(1)?) else {
                continue;
            };
            for (q, what) in [What::Q1, What::Q2, What::Q3].into_iter().enumerate() {
                let value: String = r.get(2 + q)?;
                finals.questions[q][s] = what.class(&value);
            }
            for (field, class) in human_verdicts(r.get(0)?, &r.get::<_, String>(5)?)? {
                finals.verdicts[s * TextField::ALL.len() + field] = class;
            }
        }
        Ok(finals)
    }
}

fn field_index(name: &str) -> Option<usize> {
    TextField::ALL.iter().position(|f| f.name() == name)
}

impl Ratings {
    pub fn load(store: &Store, filter: &SampleFilter) -> Result<Ratings, MeasureError> {
        let conn = store.conn();
        let samples = Samples::load(store, filter)?;
        let mut raters = Vec::new();
        let mut reviewer_column = HashMap::new();
        let mut stmt = conn.prepare("SELECT id, name FROM reviewers ORDER BY name, id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            reviewer_column.insert(r.get::<_, i64>(0)?, raters.len());
            raters.push(r.get::<_, String>(1)?);
        }
        let humans = raters.len();
        let in_force = crate::project_guards::project_guards(conn)?;
        let guards = in_force.runs;
        let mut judge = in_force.judge.map(|run| Judge {
            run,
            said: vec![MISSING; samples.len() * TextField::ALL.len()],
        });
        let mut guard_column = HashMap::new();
        for &g in &guards {
            guard_column.insert(g, raters.len());
            raters.push(format!("guard:{g}"));
        }
        let (n, width) = (samples.len(), raters.len());
        let mut questions = [What::Q1, What::Q2, What::Q3].map(|w| Matrix::new(w, n, 1, width));
        let mut verdicts = Matrix::new(What::Verdict, n, TextField::ALL.len(), width);

        // Rows in (sample, reviewer, version) order: the last of each pair is the current answer.
        let mut stmt = conn.prepare(
            "SELECT id, sample_id, reviewer_id, q1, q2, q3, verdicts FROM annotations
             ORDER BY sample_id, reviewer_id, version",
        )?;
        let mut rows = stmt.query([])?;
        let mut current: Option<AnswerRow> = None;
        let mut apply = |a: AnswerRow| {
            let (sample, reviewer, answers, json, id) = a;
            let (Some(s), Some(&col)) = (samples.position(sample), reviewer_column.get(&reviewer))
            else {
                return Ok(());
            };
            for (m, answer) in questions.iter_mut().zip(&answers) {
                if let Some(v) = answer {
                    let class = m.what.class(v);
                    m.set(s, col, class);
                }
            }
            for (field, verdict) in human_verdicts(id, &json)? {
                verdicts.set(s * TextField::ALL.len() + field, col, verdict);
            }
            Ok::<(), MeasureError>(())
        };
        while let Some(r) = rows.next()? {
            let row = (
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                [r.get(3)?, r.get(4)?, r.get(5)?],
                r.get::<_, String>(6)?,
                r.get::<_, i64>(0)?,
            );
            if let Some(prev) = current.take()
                && (prev.0, prev.1) != (row.0, row.1)
            {
                apply(prev)?;
            }
            current = Some(row);
        }
        if let Some(last) = current {
            apply(last)?;
        }

        let mut readings = Vec::with_capacity(guards.len());
        for &g in &guards {
            let reading: Option<String> = conn
                .query_row(
                    "SELECT json_extract(params, '$.reading') FROM guard_runs WHERE id = ?1",
                    [g],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            readings.push(match reading.as_deref() {
                Some("strict") => Some(Reading::Strict),
                Some("loose") => Some(Reading::Loose),
                _ => None,
            });
        }
        let mut controversial = Vec::new();
        let mut stmt = conn.prepare("SELECT run_id, sample_id, field, verdict FROM verdicts")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let run: i64 = r.get(0)?;
            let col = guard_column.get(&run).copied();
            let judge = judge.as_mut().filter(|j| j.run == run);
            if col.is_none() && judge.is_none() {
                continue;
            }
            let Some(s) = samples.position(r.get(1)?) else {
                continue;
            };
            let Some(field) = field_index(r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?)
            else {
                continue;
            };
            let verdict = r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?;
            let row = s * TextField::ALL.len() + field;
            if let Some(j) = judge {
                j.said[row] = match verdict {
                    "controversial" => JUDGE_CONTROVERSIAL,
                    v => What::Verdict.class(v),
                };
            }
            if let Some(col) = col {
                verdicts.set(row, col, What::Verdict.class(verdict));
                if verdict == "controversial" {
                    controversial.push(row * width + col);
                }
            }
        }
        let finals = Finals::load(store, &samples, &questions, &verdicts, humans)?;
        Ok(Ratings {
            samples,
            raters,
            humans,
            guards,
            questions,
            verdicts,
            finals,
            controversial,
            readings,
            judge,
        })
    }

    /// The verdicts with `controversial` read as unsafe (strict), as safe (loose), or left
    /// missing (`None`).
    pub fn verdicts_read(&self, reading: Option<Reading>) -> Cow<'_, Matrix> {
        let class = match reading {
            None => return Cow::Borrowed(&self.verdicts),
            Some(Reading::Strict) => What::Verdict.class("unsafe"),
            Some(Reading::Loose) => What::Verdict.class("safe"),
        };
        let mut m = self.verdicts.clone();
        for &cell in &self.controversial {
            m.values[cell] = class;
        }
        Cow::Owned(m)
    }

    /// The readings figures that judge are shown under: strict and loose (the first
    /// three-class guard's own first) when a guard in use has three classes, else none.
    pub fn judging_readings(&self) -> Vec<Option<Reading>> {
        match self.readings.iter().flatten().next() {
            None => vec![None],
            Some(&own) => vec![Some(own), Some(own.other())],
        }
    }

    /// The matrix of one kind of item.
    pub fn matrix(&self, what: What) -> &Matrix {
        match what {
            What::Q1 => &self.questions[0],
            What::Q2 => &self.questions[1],
            What::Q3 => &self.questions[2],
            What::Verdict => &self.verdicts,
        }
    }
}

/// An annotation: sample, reviewer, Q1–Q3 answers, verdicts JSON, annotation id.
type AnswerRow = (i64, i64, [Option<String>; 3], String, i64);

/// A reviewer's own verdicts (`{"chosen": {"verdict": "safe", ...}}`) as (field, class).
fn human_verdicts(id: i64, json: &str) -> Result<Vec<(usize, u8)>, MeasureError> {
    if json == "{}" {
        return Ok(Vec::new());
    }
    let bad = |reason: String| MeasureError::AnnotationVerdicts { id, reason };
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let map = value
        .as_object()
        .ok_or_else(|| bad("not an object".into()))?;
    Ok(map
        .iter()
        .filter_map(|(field, v)| {
            let class = What::Verdict.class(v.get("verdict")?.as_str()?);
            Some((field_index(field)?, class))
        })
        .filter(|&(_, c)| c != MISSING)
        .collect())
}

/// Coefficients of a pair or a group of raters.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Coefficients {
    Pair {
        cohen_kappa: Option<f64>,
        /// Rows: the first rater's class; columns: the second's.
        confusion: Vec<Vec<u64>>,
    },
    Group {
        fleiss_kappa: Option<f64>,
        /// Items every rater rated (Fleiss' κ uses only these).
        n_all_raters: u64,
        krippendorff_alpha: Option<f64>,
    },
}

/// One line of `verdikt agreement`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgreementRow {
    pub what: What,
    pub raters: Vec<String>,
    pub scope: Scope,
    /// Items compared: rated by both raters of a pair; rated at least twice in a group.
    pub n: u64,
    pub percent_agreement: Option<f64>,
    #[serde(flatten)]
    pub coefficients: Coefficients,
    pub labels: &'static [&'static str],
    pub caveats: Vec<Caveat>,
}

/// The scopes an item belongs to: overall, its language, category and style.
struct ScopeIndex {
    languages: usize,
    categories: usize,
}

impl ScopeIndex {
    fn count(&self, samples: &Samples) -> usize {
        1 + self.languages + self.categories + samples.style.names.len()
    }

    fn of(&self, samples: &Samples, s: usize) -> [usize; 4] {
        [
            0,
            1 + samples.language.of_sample[s] as usize,
            1 + self.languages + samples.category.of_sample[s] as usize,
            1 + self.languages + self.categories + samples.style.of_sample[s] as usize,
        ]
    }

    fn scope(&self, samples: &Samples, i: usize) -> Scope {
        let mut scope = Scope::default();
        if i == 0 {
            return scope;
        }
        let i = i - 1;
        if i < self.languages {
            scope.language = Some(samples.language.names[i].clone());
        } else if i < self.languages + self.categories {
            scope.category = Some(samples.category.names[i - self.languages].clone());
        } else {
            scope.style = Some(samples.style.names[i - self.languages - self.categories].clone());
        }
        scope
    }
}

/// Agreement of every pair of raters with common items, and of every scope's raters as a
/// group when there are three or more, for each kind of item, overall and per language,
/// category and style.
pub fn agreement(ratings: &Ratings) -> Vec<AgreementRow> {
    let samples = &ratings.samples;
    let index = ScopeIndex {
        languages: samples.language.names.len(),
        categories: samples.category.names.len(),
    };
    let mut out = Vec::new();
    for what in What::ALL {
        let m = ratings.matrix(what);
        let (r, k) = (m.raters, what.labels().len());
        let scopes = index.count(samples);
        // Pass 1: which raters rated anything in each scope.
        let mut present = vec![false; scopes * r];
        for (row, values) in m.rows() {
            let s = row / m.per_sample;
            for scope in index.of(samples, s) {
                for (p, &v) in present[scope * r..].iter_mut().zip(values) {
                    *p |= v != MISSING;
                }
            }
        }
        // Pass 2: a confusion matrix per rater pair and the group statistics, per scope.
        let pairs: Vec<(usize, usize)> = (0..r)
            .flat_map(|a| (a + 1..r).map(move |b| (a, b)))
            .collect();
        let mut pair_tables = vec![PairTable::new(k); scopes * pairs.len()];
        let mut groups: Vec<Option<GroupTable>> = (0..scopes)
            .map(|sc| {
                let n = present[sc * r..(sc + 1) * r].iter().filter(|&&p| p).count();
                (n >= 3).then(|| GroupTable::new(k, n))
            })
            .collect();
        let mut counts = vec![0u64; k];
        for (row, values) in m.rows() {
            counts.iter_mut().for_each(|c| *c = 0);
            for &v in values.iter().filter(|&&v| v != MISSING) {
                counts[v as usize] += 1;
            }
            if counts.iter().sum::<u64>() == 0 {
                continue;
            }
            let s = row / m.per_sample;
            for scope in index.of(samples, s) {
                for (p, &(a, b)) in pairs.iter().enumerate() {
                    let (va, vb) = (values[a], values[b]);
                    if va != MISSING && vb != MISSING {
                        pair_tables[scope * pairs.len() + p].add(va, vb);
                    }
                }
                if let Some(g) = &mut groups[scope] {
                    g.add(&counts);
                }
            }
        }
        for (sc, group) in groups.iter().enumerate() {
            let scope = index.scope(samples, sc);
            for (p, &(a, b)) in pairs.iter().enumerate() {
                let t = &pair_tables[sc * pairs.len() + p];
                if t.n() == 0 {
                    continue;
                }
                out.push(AgreementRow {
                    what,
                    raters: vec![ratings.raters[a].clone(), ratings.raters[b].clone()],
                    scope: scope.clone(),
                    n: t.n(),
                    percent_agreement: t.percent_agreement(),
                    coefficients: Coefficients::Pair {
                        cohen_kappa: t.cohen_kappa(),
                        confusion: t.matrix(),
                    },
                    labels: what.labels(),
                    caveats: t.caveats(),
                });
            }
            if let Some(g) = group {
                let raters = (0..r)
                    .filter(|&i| present[sc * r + i])
                    .map(|i| ratings.raters[i].clone())
                    .collect();
                out.push(AgreementRow {
                    what,
                    raters,
                    scope,
                    n: g.n(),
                    percent_agreement: g.percent_agreement(),
                    coefficients: Coefficients::Group {
                        fleiss_kappa: g.fleiss_kappa(),
                        n_all_raters: g.n_all_raters(),
                        krippendorff_alpha: g.krippendorff_alpha(),
                    },
                    labels: what.labels(),
                    caveats: g.caveats(),
                });
            }
        }
    }
    out
}
