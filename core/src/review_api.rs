//! The review commands, one layer for both faces that review: the desktop window (`verdikt-app`'s
//! Review screen) and browsers served by `verdikt serve` (`verdikt-serve`) call these same
//! functions, so the queue, the blind and hidden-guard rules, answers, undo and adjudication exist
//! once. A face only parses its request and says who is asking ([`Caller`]):
//! - the window names the reviewer it was told to act as and may open any sample of the project
//!   (it runs on the curator's own machine, `--open-sample` included);
//! - a served session's reviewer comes from the session alone, and it reaches only samples in
//!   that reviewer's languages (their queue, their answers, adjudication if they adjudicate).
//!
//! Every answer records where it came from (`Source`) and may carry the id its sender made for
//! it, so a request sent again after a dropped connection stores the answer once.

use serde::{Deserialize, Serialize};

use crate::audit::{
    self, Answer, AnswerRecord, AuditError, CareSettings, Provenance, Questions, Reviewer, Source,
    care_settings, list_reviewers, questions, reviewer,
};
use crate::filter::{FilterError, SampleFilter};
use crate::project_guards::{GuardsError, project_guards};
use crate::queue::{LanguageProgress, QueueError, QueueQuery, next, progress};
use crate::review::{ReviewError, ReviewView, review_view};
use crate::sample::CATEGORIES;
use crate::stats::stats;
use crate::store::{Store, StoreError};
use crate::triage::Reason;

/// Who asks, and through which face.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The desktop window: the reviewer it names; any sample of the project.
    Window { reviewer: String },
    /// A browser session of `verdikt serve` (row `id` of `serve_sessions`): its reviewer only,
    /// samples in their languages only.
    Session { id: i64, reviewer: String },
}

impl Caller {
    pub fn reviewer(&self) -> &str {
        match self {
            Caller::Window { reviewer } | Caller::Session { reviewer, .. } => reviewer,
        }
    }

    fn provenance(&self, answer_id: Option<String>) -> Provenance {
        let source = match self {
            Caller::Window { .. } => Source::Window,
            Caller::Session { id, .. } => Source::Session(*id),
        };
        Provenance::new(source, answer_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewApiError {
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Guards(#[from] GuardsError),
    #[error("no triage reason `{0}`; known: {known}", known = Reason::names())]
    UnknownReason(String),
    /// A served session asked for a sample in a language its reviewer does not read.
    #[error("sample `{sample}` is in {language}, which {reviewer} does not review")]
    OutsideLanguages {
        sample: String,
        language: String,
        reviewer: String,
    },
    #[error("no sample with id {0} in this project")]
    NoSample(i64),
}

type Result<T> = std::result::Result<T, ReviewApiError>;

/// What the Review screen offers to choose from.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct ReviewSetup {
    /// The project's identity (made once when it was created, kept across moves and copies):
    /// what a browser keys the drafts it keeps by, so two projects never share one.
    pub project: String,
    pub reviewers: Vec<Reviewer>,
    pub questions: Questions,
    pub languages: Vec<String>,
    pub reasons: Vec<String>,
    pub categories: Vec<String>,
    pub styles: Vec<String>,
    /// S1–S14 with their names, for showing a code with what it means.
    pub category_names: Vec<CategoryName>,
    /// The project's judge run (the paper's adjudicator, never one of its guards), so its
    /// readings can be told from the guards'.
    pub judge: Option<i64>,
    /// What the review spares reviewers: blurred categories and texts, the break interval.
    pub care: CareSettings,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct CategoryName {
    pub code: String,
    pub name: String,
}

/// The queue filters a face sends; the reviewer comes from the [`Caller`].
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReviewQuery {
    pub language: Option<String>,
    pub reason: Option<String>,
    pub dataset: Option<String>,
    pub category: Option<String>,
    pub style: Option<String>,
    /// The adjudication queue: samples whose reviewers disagree, for an adjudicator.
    pub adjudicate: bool,
}

impl ReviewQuery {
    fn for_reviewer(&self, reviewer: &str) -> Result<QueueQuery> {
        let reason = match &self.reason {
            Some(name) => Some(
                Reason::parse(name).ok_or_else(|| ReviewApiError::UnknownReason(name.clone()))?,
            ),
            None => None,
        };
        Ok(QueueQuery {
            language: self.language.clone(),
            reason,
            reviewer: Some(reviewer.to_string()),
            dataset: self.dataset.clone(),
            category: self.category.clone(),
            style: self.style.clone(),
            adjudicate: self.adjudicate,
            ..QueueQuery::default()
        })
    }
}

/// The Review screen's choices. `only`: a served session's reviewer, who sees themselves as
/// the only reviewer and only the languages they read; the window (`None`) sees the team.
pub fn setup(store: &Store, only: Option<&str>) -> Result<ReviewSetup> {
    let counts = stats(store, &SampleFilter::default())?;
    let (reviewers, languages) = match only {
        None => (
            list_reviewers(store)?,
            counts.by_language.into_keys().collect(),
        ),
        Some(name) => {
            let me = reviewer(store, name)?;
            let languages = counts
                .by_language
                .into_keys()
                .filter(|l| audit::reads(&me, l))
                .collect();
            (vec![me], languages)
        }
    };
    Ok(ReviewSetup {
        project: store.project_id()?,
        reviewers,
        questions: questions(store)?,
        languages,
        reasons: Reason::ALL.iter().map(|r| r.name().to_string()).collect(),
        categories: counts.by_category.into_keys().collect(),
        styles: counts.by_style.into_keys().collect(),
        category_names: CATEGORIES
            .iter()
            .map(|(code, name)| CategoryName {
                code: code.to_string(),
                name: name.to_string(),
            })
            .collect(),
        judge: project_guards(store.conn())?.judge,
        care: care_settings(store.conn())?,
    })
}

/// The categories the caller's reviewer has chosen to see unblurred on every sample.
pub fn reveals(store: &Store, who: &Caller) -> Result<Vec<String>> {
    Ok(audit::revealed_always(store, who.reviewer())?)
}

/// The caller's reviewer sees `category` unblurred always, or blurred again as the project's
/// settings say; their choices after.
pub fn set_reveal(
    store: &Store,
    who: &Caller,
    category: &str,
    always: bool,
) -> Result<Vec<String>> {
    Ok(audit::set_revealed_always(
        store,
        who.reviewer(),
        category,
        always,
    )?)
}

/// Progress of the caller's queue per language.
pub fn counts(store: &Store, who: &Caller, query: &ReviewQuery) -> Result<Vec<LanguageProgress>> {
    let q = query.for_reviewer(who.reviewer())?;
    Ok(progress(store.conn(), &q)?)
}

/// The waiting sample after `after` in queue order (or the first), as the caller may see it.
/// The queue holds only the reviewer's languages, for either face.
pub fn next_sample(
    store: &Store,
    who: &Caller,
    query: &ReviewQuery,
    after: Option<i64>,
) -> Result<Option<ReviewView>> {
    let q = query.for_reviewer(who.reviewer())?;
    match next(store.conn(), &q, after)? {
        Some(item) => Ok(Some(review_view(store, item.id, who.reviewer())?)),
        None => Ok(None),
    }
}

/// Refuses a served session a sample outside its reviewer's languages.
fn reachable(store: &Store, who: &Caller, sample_id: i64) -> Result<()> {
    let Caller::Session { reviewer: name, .. } = who else {
        return Ok(());
    };
    let (ext_id, language): (String, String) = store
        .conn()
        .query_row(
            "SELECT ext_id, language FROM samples WHERE id = ?1",
            [sample_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => ReviewApiError::NoSample(sample_id),
            e => AuditError::from(e).into(),
        })?;
    let me = reviewer(store, name)?;
    if audit::reads(&me, &language) {
        return Ok(());
    }
    Err(ReviewApiError::OutsideLanguages {
        sample: ext_id,
        language,
        reviewer: me.name,
    })
}

/// One sample as the caller may see it (blind and hidden-guard rules applied).
pub fn sample(store: &Store, who: &Caller, sample_id: i64) -> Result<ReviewView> {
    reachable(store, who, sample_id)?;
    Ok(review_view(store, sample_id, who.reviewer())?)
}

/// The stored id of a sample by its imported id (and dataset, where two share it).
pub fn resolve(store: &Store, who: &Caller, ext_id: &str, dataset: Option<&str>) -> Result<i64> {
    let id = store.resolve_sample(ext_id, dataset)?;
    reachable(store, who, id)?;
    Ok(id)
}

/// How an answer is written: `audit::annotate` or `audit::adjudicate`.
type Write = fn(
    &mut Store,
    i64,
    &str,
    &Answer,
    &Provenance,
) -> std::result::Result<AnswerRecord, AuditError>;

fn give(
    store: &mut Store,
    who: &Caller,
    sample_id: i64,
    answer: &Answer,
    answer_id: Option<String>,
    write: Write,
) -> Result<AnswerRecord> {
    reachable(store, who, sample_id)?;
    let from = who.provenance(answer_id);
    Ok(write(store, sample_id, who.reviewer(), answer, &from)?)
}

/// Stores the caller's answer as the sample's next version; an `answer_id` already stored is
/// that answer, returned as it was stored.
pub fn submit(
    store: &mut Store,
    who: &Caller,
    sample_id: i64,
    answer: &Answer,
    answer_id: Option<String>,
) -> Result<AnswerRecord> {
    give(store, who, sample_id, answer, answer_id, audit::annotate)
}

/// An adjudicator's final answer to a sample whose reviewers disagree.
pub fn adjudicate(
    store: &mut Store,
    who: &Caller,
    sample_id: i64,
    answer: &Answer,
    answer_id: Option<String>,
) -> Result<AnswerRecord> {
    give(store, who, sample_id, answer, answer_id, audit::adjudicate)
}

/// Undo: appends a copy of the caller's previous version, so the undone one stays in history.
pub fn undo(
    store: &mut Store,
    who: &Caller,
    sample_id: i64,
    answer_id: Option<String>,
) -> Result<AnswerRecord> {
    reachable(store, who, sample_id)?;
    Ok(audit::revert_last(
        store,
        sample_id,
        who.reviewer(),
        &who.provenance(answer_id),
    )?)
}
