//! Who is working, for the curator's "Share with reviewers": per reviewer, how far they are in
//! their own queue (as their Review screen counts it), when they last answered, where their
//! answers came from (the `source` each answer records: window, pack, a browser session, the
//! command line), and their open browser sessions with when one was last used. Reads only, a
//! few grouped queries, so the window can ask every few seconds while the review is served.

use std::collections::HashMap;

use serde::Serialize;

use crate::audit::{AuditError, list_reviewers};
use crate::queue::{LanguageProgress, QueueError, QueueQuery, progress};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// How many answers (every stored version, final answers included) came from where.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AnswerSources {
    pub window: u32,
    pub pack: u32,
    /// Through a browser session of `verdikt serve`.
    pub browser: u32,
    pub cli: u32,
    /// Stored before answers recorded where they came from.
    pub unrecorded: u32,
}

/// One reviewer's work so far.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewerActivity {
    pub reviewer: String,
    pub languages: Vec<String>,
    /// Their queue overall (first) and per language, in samples; `total - waiting` answered.
    pub progress: Vec<LanguageProgress>,
    /// When their latest answer or final answer was stored.
    pub last_answer_at: Option<String>,
    pub sources: AnswerSources,
    /// Browser sessions still valid (not expired, not revoked).
    pub open_sessions: u32,
    /// When one of those was last used (to within a minute; see `access::session`).
    pub last_seen_at: Option<String>,
}

/// Every reviewer's activity, by name.
pub fn activity(store: &Store) -> Result<Vec<ReviewerActivity>, ActivityError> {
    let mut answers: HashMap<i64, (AnswerSources, Option<String>)> = HashMap::new();
    let mut stmt = store.conn().prepare(
        "WITH given AS (SELECT reviewer_id AS who, source, created_at FROM annotations
                        UNION ALL
                        SELECT adjudicator_id, source, created_at FROM final_answers)
         SELECT who, CASE WHEN source LIKE 'session:%' THEN 'browser' ELSE source END AS kind,
                count(*), max(created_at)
         FROM given GROUP BY who, kind",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (who, kind, n, last) = row?;
        let (sources, latest) = answers.entry(who).or_default();
        *match kind.as_deref() {
            Some("window") => &mut sources.window,
            Some("pack") => &mut sources.pack,
            Some("browser") => &mut sources.browser,
            Some("cli") => &mut sources.cli,
            _ => &mut sources.unrecorded,
        } += n;
        if latest.as_ref().is_none_or(|l| *l < last) {
            *latest = Some(last);
        }
    }
    let mut sessions: HashMap<i64, (u32, Option<String>)> = HashMap::new();
    let mut stmt = store.conn().prepare(
        "SELECT reviewer_id, count(*), max(last_seen_at) FROM serve_sessions
         WHERE revoked_at IS NULL AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         GROUP BY reviewer_id",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))? {
        let (who, open) = row?;
        sessions.insert(who, open);
    }
    let mut out = Vec::new();
    for r in list_reviewers(store)? {
        let query = QueueQuery {
            reviewer: Some(r.name.clone()),
            ..QueueQuery::default()
        };
        let (sources, last_answer_at) = answers.remove(&r.id).unwrap_or_default();
        let (open_sessions, last_seen_at) = sessions.remove(&r.id).unwrap_or_default();
        out.push(ReviewerActivity {
            progress: progress(store.conn(), &query)?,
            reviewer: r.name,
            languages: r.languages,
            last_answer_at,
            sources,
            open_sessions,
            last_seen_at,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::access::{invite, open_session, revoke, session};
    use crate::audit::answer::tests::answer;
    use crate::audit::{Provenance, Source, YesNo, add_reviewer, annotate};

    fn sample(store: &Store, id: i64, language: &str) {
        store
            .conn()
            .execute(
                "INSERT INTO samples (id, dataset_id, ext_id, language, prompt, chosen, rejected)
                 VALUES (?1, 1, 'x-' || ?1, ?2, 'p', 'c', 'r')",
                rusqlite::params![id, language],
            )
            .unwrap();
    }

    #[test]
    fn progress_sources_last_answer_and_sessions_per_reviewer() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]')",
            )
            .unwrap();
        for (id, language) in [(1, "pl"), (2, "pl"), (3, "pl"), (4, "de")] {
            sample(&store, id, language);
        }
        store
            .conn()
            .execute_batch("INSERT INTO triage_reasons (sample_id, reason) SELECT id, 'audit_sample' FROM samples")
            .unwrap();
        add_reviewer(&store, "ana", "pl").unwrap();
        add_reviewer(&store, "jan", "de").unwrap();

        let code = invite(&store, "ana", Duration::from_secs(60)).unwrap().code;
        let s = open_session(&mut store, &code, Duration::from_secs(60)).unwrap();
        for (sample, source) in [
            (1, Source::Window),
            (2, Source::Session(s.id)),
            (2, Source::Session(s.id)),
            (3, Source::Pack),
        ] {
            let from = Provenance::new(source, None);
            annotate(&mut store, sample, "ana", &answer(YesNo::No), &from).unwrap();
        }
        let latest: String = store
            .conn()
            .query_row("SELECT max(created_at) FROM annotations", [], |r| r.get(0))
            .unwrap();

        let all = activity(&store).unwrap();
        let [ana, jan] = &all[..] else {
            panic!("{all:?}")
        };
        assert_eq!(
            (ana.reviewer.as_str(), jan.reviewer.as_str()),
            ("ana", "jan")
        );
        let overall = &ana.progress[0];
        assert_eq!(
            (overall.language.as_deref(), overall.total, overall.waiting),
            (None, 3, 0)
        );
        assert_eq!(
            ana.sources,
            AnswerSources {
                window: 1,
                pack: 1,
                browser: 2,
                ..AnswerSources::default()
            }
        );
        assert_eq!(ana.last_answer_at.as_deref(), Some(latest.as_str()));
        assert_eq!((ana.open_sessions, ana.last_seen_at.as_deref()), (1, None));
        assert_eq!((jan.progress[0].total, jan.progress[0].waiting), (1, 1));
        assert_eq!((jan.open_sessions, &jan.last_answer_at), (0, &None));

        session(&store, &s.token).unwrap();
        let seen = activity(&store).unwrap()[0].last_seen_at.clone();
        assert!(seen.is_some(), "the lookup notes the session as seen");
        revoke(&mut store, "ana").unwrap();
        assert_eq!(activity(&store).unwrap()[0].open_sessions, 0);
    }
}
