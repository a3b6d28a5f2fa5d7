//! A team audit end to end in the core, on a real project file: overlap targets and what each
//! reviewer's queue holds, blind review and hidden guard verdicts, disagreement detection, and
//! final answers (who may give them, and what measurement and export read).

use std::collections::BTreeMap;

use crate::audit::answer::tests::answer;
use crate::audit::pack::{PackError, PackOptions, export_pack};
use crate::audit::{
    Answer, AuditError, FieldVerdict, Provenance, TextVerdict, YesNo, add_reviewer, adjudicate,
    annotate, disagreement, history, revert_last, set_adjudicator, set_config,
};
use crate::export::PassRule;
use crate::measure::ratings::{Coefficients, Ratings, What, agreement};
use crate::measure::results::results;
use crate::queue::{self, QueueQuery};
use crate::review::review_view;
use crate::store::Store;

/// Samples 1–3 in Polish, 4 in German, all queued (audit sample); reviewers ana, ola and eva
/// read Polish, jan German, and adam adjudicates Polish.
fn project() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO datasets (id, name, format, sources) VALUES (1, 'd', 'jsonl', '[]');
             INSERT INTO samples (id, dataset_id, ext_id, language, prompt, chosen, rejected) VALUES
               (1, 1, 'pl-1', 'pl', 'p', 'c', 'r'), (2, 1, 'pl-2', 'pl', 'p', 'c', 'r'),
               (3, 1, 'pl-3', 'pl', 'p', 'c', 'r'), (4, 1, 'de-4', 'de', 'p', 'c', 'r');
             INSERT INTO triage_reasons (sample_id, reason) SELECT id, 'audit_sample' FROM samples;",
        )
        .unwrap();
    for (name, languages) in [
        ("ana", "pl"),
        ("ola", "pl"),
        ("eva", "pl"),
        ("jan", "de"),
        ("adam", "pl"),
    ] {
        add_reviewer(&store, name, languages).unwrap();
    }
    set_adjudicator(&store, "adam", true).unwrap();
    (dir, store)
}

/// Q1 yes and a verdict on the chosen text.
fn on_chosen(verdict: TextVerdict) -> Answer {
    let mut a = answer(YesNo::Yes);
    a.verdicts.insert(
        "chosen".into(),
        FieldVerdict {
            verdict,
            categories: vec![],
        },
    );
    a
}

fn listed(store: &Store, q: &QueueQuery) -> Vec<i64> {
    queue::list(store.conn(), q)
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect()
}

fn waiting(store: &Store, reviewer: Option<&str>) -> Vec<i64> {
    let q = QueueQuery {
        reviewer: reviewer.map(String::from),
        ..QueueQuery::default()
    };
    listed(store, &q)
}

fn adjudication_queue(store: &Store) -> Vec<i64> {
    let q = QueueQuery {
        reviewer: Some("adam".into()),
        adjudicate: true,
        ..QueueQuery::default()
    };
    listed(store, &q)
}

fn reason_detail(store: &Store, sample: i64) -> Option<String> {
    store
        .conn()
        .query_row(
            "SELECT detail FROM triage_reasons WHERE sample_id = ?1 AND reason = 'reviewers_disagree'",
            [sample],
            |r| r.get(0),
        )
        .ok()
}

#[test]
fn the_queue_gives_each_reviewer_what_still_needs_answers_in_their_languages() {
    let (_d, mut store) = project();
    annotate(&mut store, 1, "ana", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    assert_eq!(
        waiting(&store, Some("ola")),
        [2, 3],
        "one answer is enough by default"
    );
    assert_eq!(waiting(&store, None), [2, 3, 4]);

    set_config(&store, "answers-per-sample", "2").unwrap();
    assert_eq!(
        waiting(&store, Some("ana")),
        [2, 3],
        "never what they answered"
    );
    assert_eq!(
        waiting(&store, Some("ola")),
        [1, 2, 3],
        "sample 1 needs a second answer"
    );
    assert_eq!(waiting(&store, Some("jan")), [4], "only their languages");
    annotate(&mut store, 1, "ola", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    assert_eq!(waiting(&store, Some("eva")), [2, 3], "two answers: done");
    assert_eq!(waiting(&store, None), [2, 3, 4]);

    // Progress counts samples: a second reason on sample 2 adds a (reason, language) row only.
    store
        .conn()
        .execute(
            "INSERT INTO triage_reasons (sample_id, reason) VALUES (2, 'uncertain')",
            [],
        )
        .unwrap();
    let q = QueueQuery {
        reviewer: Some("eva".into()),
        ..QueueQuery::default()
    };
    let progress = queue::progress(store.conn(), &q).unwrap();
    let pl = progress
        .iter()
        .find(|p| p.language.as_deref() == Some("pl"))
        .unwrap();
    assert_eq!((pl.total, pl.waiting), (3, 2));
    assert_eq!((progress[0].language.clone(), progress[0].total), (None, 3));
    let rows: u64 = queue::counts(store.conn(), &q)
        .unwrap()
        .iter()
        .map(|c| c.total)
        .sum();
    assert_eq!(rows, 4, "counts per reason see sample 2 twice");

    // A share of the samples needs the overlap; the rest one answer.
    set_config(&store, "overlap-share", "0").unwrap();
    assert_eq!(waiting(&store, Some("eva")), [2, 3]);
    assert_eq!(waiting(&store, Some("ana")), [2, 3]);
}

/// The samples in each Polish reviewer's pack, by sample: how many packs hold it.
fn packs_per_sample(store: &Store, dir: &std::path::Path) -> BTreeMap<i64, usize> {
    let mut held = BTreeMap::new();
    for name in ["ana", "ola", "eva", "adam"] {
        let out = dir.join(format!("{name}.pack"));
        let opts = PackOptions {
            reviewer: name.into(),
            language: "pl".into(),
            seed: 3,
            out: out.clone(),
            force: true,
        };
        match export_pack(store, &opts) {
            Ok(_) => {}
            Err(PackError::NothingWaiting { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
        let pack = rusqlite::Connection::open(&out).unwrap();
        let ids: Vec<i64> = pack
            .prepare("SELECT id FROM samples")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            ids.iter().all(|id| waiting(store, Some(name)).contains(id)),
            "{name}'s pack is within their queue"
        );
        for id in ids {
            *held.entry(id).or_default() += 1;
        }
    }
    held
}

#[test]
fn packs_share_out_what_still_needs_answers_under_the_team_settings() {
    let (d, mut store) = project();
    annotate(&mut store, 1, "ana", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    assert_eq!(
        packs_per_sample(&store, d.path()),
        BTreeMap::from([(2, 1), (3, 1)]),
        "one answer each by default; sample 1 has it"
    );
    set_config(&store, "answers-per-sample", "2").unwrap();
    assert_eq!(
        packs_per_sample(&store, d.path()),
        BTreeMap::from([(1, 1), (2, 2), (3, 2)]),
        "sample 1 is short of one answer, the others of two"
    );
    set_config(&store, "overlap-share", "0").unwrap();
    assert_eq!(
        packs_per_sample(&store, d.path()),
        BTreeMap::from([(2, 1), (3, 1)])
    );
}

#[test]
fn blind_review_hides_others_answers_and_hidden_guards_wait_for_an_answer() {
    let (_d, mut store) = project();
    store
        .conn()
        .execute_batch(
            "INSERT INTO guard_runs (id, profile, backend, status) VALUES (1, 'g', 'local', 'done'), (2, 'h', 'local', 'done');
             INSERT INTO verdicts (run_id, sample_id, field, verdict, p_unsafe, raw_answer, latency_ms) VALUES
               (1, 1, 'chosen', 'safe', 0.1, '', 0), (2, 1, 'chosen', 'unsafe', 0.9, '', 0);
             INSERT INTO triage_reasons (sample_id, reason, detail)
               VALUES (1, 'guard_disagreement', 'chosen: run 1 safe, run 2 unsafe');",
        )
        .unwrap();
    let mut noted = answer(YesNo::Yes);
    noted.note = "the refusal is in English".into();
    annotate(&mut store, 1, "ana", &noted, &Provenance::CLI).unwrap();

    let before = review_view(&store, 1, "ola").unwrap();
    assert!(
        before.others_hidden && before.others.is_empty(),
        "blind by default"
    );
    assert!(!before.guards_hidden, "guards are shown by default");
    let after_own = {
        annotate(&mut store, 1, "ola", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
        review_view(&store, 1, "ola").unwrap()
    };
    assert!(!after_own.others_hidden);
    assert_eq!(after_own.others[0].answer.note, "the refusal is in English");
    assert_eq!(after_own.mine.unwrap().reviewer, "ola");

    set_config(&store, "blind", "off").unwrap();
    assert_eq!(review_view(&store, 1, "eva").unwrap().others.len(), 2);

    set_config(&store, "hide-guard-verdicts", "on").unwrap();
    let hidden = review_view(&store, 1, "eva").unwrap();
    assert!(hidden.guards_hidden);
    assert!(hidden.view.texts.iter().all(|t| t.guards.is_empty()));
    let guard_reason = hidden
        .view
        .reasons
        .iter()
        .find(|r| r.reason == "guard_disagreement")
        .unwrap();
    assert_eq!(guard_reason.detail, "", "the detail quotes the guards");
    assert_eq!(
        hidden.disputed,
        ["chosen"],
        "still told which text needs a verdict"
    );
    let shown = review_view(&store, 1, "ana").unwrap();
    assert!(!shown.guards_hidden, "shown once they have answered");
    let chosen = shown
        .view
        .texts
        .iter()
        .find(|t| t.field == "chosen")
        .unwrap();
    assert_eq!(chosen.guards.len(), 2);
}

#[test]
fn disagreement_follows_the_current_answers() {
    let (_d, mut store) = project();
    annotate(&mut store, 1, "ana", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    assert_eq!(reason_detail(&store, 1), None, "one answer cannot disagree");
    annotate(&mut store, 1, "ola", &answer(YesNo::No), &Provenance::CLI).unwrap();
    assert_eq!(
        reason_detail(&store, 1).as_deref(),
        Some("q1: ana yes, ola no")
    );
    annotate(&mut store, 1, "ola", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    assert_eq!(reason_detail(&store, 1), None, "ola changed her mind");
    revert_last(&mut store, 1, "ola", &Provenance::CLI).unwrap();
    assert!(reason_detail(&store, 1).is_some(), "undo brings it back");

    annotate(
        &mut store,
        2,
        "ana",
        &on_chosen(TextVerdict::Safe),
        &Provenance::CLI,
    )
    .unwrap();
    annotate(
        &mut store,
        2,
        "ola",
        &on_chosen(TextVerdict::Unsafe),
        &Provenance::CLI,
    )
    .unwrap();
    assert_eq!(
        reason_detail(&store, 2).as_deref(),
        Some("chosen: ana safe, ola unsafe")
    );

    // Triage recomputes every reason and finds the same.
    let tx = store.conn_mut().transaction().unwrap();
    crate::triage::reasons::recompute(&tx, "1 = 1", &[], "()", (0.2, 0.8)).unwrap();
    tx.commit().unwrap();
    assert!(reason_detail(&store, 1).is_some() && reason_detail(&store, 2).is_some());
    let d = disagreement(&store, 2).unwrap();
    assert_eq!(d.answers.len(), 2);
    assert_eq!(d.detail, "chosen: ana safe, ola unsafe");
    assert!(d.final_answer.is_none());
}

#[test]
fn only_an_adjudicator_of_the_language_gives_a_final_answer_to_a_disagreement() {
    let (_d, mut store) = project();
    annotate(&mut store, 1, "ana", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    annotate(&mut store, 2, "ana", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    annotate(&mut store, 2, "ola", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    let refused = |r: Result<_, AuditError>| r.unwrap_err().to_string();
    let err = refused(adjudicate(
        &mut store,
        2,
        "adam",
        &answer(YesNo::Yes),
        &Provenance::CLI,
    ));
    assert!(err.contains("nothing to adjudicate"), "{err}");
    annotate(&mut store, 1, "ola", &answer(YesNo::No), &Provenance::CLI).unwrap();
    assert_eq!(adjudication_queue(&store), [1]);
    let err = refused(adjudicate(
        &mut store,
        1,
        "ana",
        &answer(YesNo::Yes),
        &Provenance::CLI,
    ));
    assert!(err.contains("not an adjudicator"), "{err}");
    set_adjudicator(&store, "jan", true).unwrap();
    let err = refused(adjudicate(
        &mut store,
        1,
        "jan",
        &answer(YesNo::Yes),
        &Provenance::CLI,
    ));
    assert!(err.contains("not the sample's language pl"), "{err}");
    let bad = QueueQuery {
        reviewer: Some("ana".into()),
        adjudicate: true,
        ..QueueQuery::default()
    };
    assert!(queue::list(store.conn(), &bad).is_err());

    let first = adjudicate(&mut store, 1, "adam", &answer(YesNo::No), &Provenance::CLI).unwrap();
    let second = adjudicate(&mut store, 1, "adam", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    assert!(second.is_final && second.reviewer == "adam");
    assert_eq!(adjudication_queue(&store), Vec::<i64>::new());
    let all = history(&store, 1).unwrap();
    let finals: Vec<i64> = all
        .iter()
        .filter(|a| a.is_final)
        .map(|a| a.version)
        .collect();
    assert_eq!(
        (all.len(), finals),
        (4, vec![1, 2]),
        "both kept, marked final"
    );
    assert!(
        store
            .conn()
            .execute("DELETE FROM final_answers", [])
            .is_err(),
        "append-only"
    );
    assert_eq!(
        disagreement(&store, 1)
            .unwrap()
            .final_answer
            .unwrap()
            .version,
        2
    );
}

fn passed(store: &Store) -> Vec<i64> {
    let sql = format!(
        "SELECT s.id FROM samples AS s WHERE {} ORDER BY s.id",
        PassRule::default().condition()
    );
    let mut stmt = store.conn().prepare(&sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn measurement_reads_individual_answers_for_agreement_and_final_ones_for_pass_rates() {
    let (_d, mut store) = project();
    for (sample, ana, ola) in [(1, YesNo::Yes, YesNo::No), (2, YesNo::Yes, YesNo::Yes)] {
        let mut a = answer(ana);
        a.seconds = Some(10.0 * sample as f64);
        annotate(&mut store, sample, "ana", &a, &Provenance::CLI).unwrap();
        annotate(&mut store, sample, "ola", &answer(ola), &Provenance::CLI).unwrap();
    }
    annotate(
        &mut store,
        3,
        "ana",
        &Answer {
            seconds: Some(60.0),
            ..answer(YesNo::No)
        },
        &Provenance::CLI,
    )
    .unwrap();
    let pl = |store: &Store| {
        results(store, &Default::default())
            .unwrap()
            .questions
            .into_iter()
            .find(|q| q.language.as_deref() == Some("pl"))
            .unwrap()
    };
    let before = pl(&store);
    assert_eq!((before.audited, before.pending), (3, 1));
    assert_eq!((before.q1.successes, before.q1.n), (1, 2), "sample 1 waits");
    assert_eq!(passed(&store), [2], "the disagreement holds sample 1 back");

    adjudicate(&mut store, 1, "adam", &answer(YesNo::Yes), &Provenance::CLI).unwrap();
    let after = pl(&store);
    assert_eq!(after.pending, 0);
    assert_eq!(
        (after.q1.successes, after.q1.n),
        (2, 3),
        "the final answer counts"
    );
    assert_eq!(passed(&store), [1, 2]);

    let ratings = Ratings::load(&store, &Default::default()).unwrap();
    let q1 = agreement(&ratings)
        .into_iter()
        .find(|r| r.what == What::Q1 && r.scope == Default::default() && r.raters == ["ana", "ola"])
        .unwrap();
    assert_eq!(
        (q1.n, q1.percent_agreement),
        (2, Some(0.5)),
        "individual answers"
    );
    assert!(matches!(q1.coefficients, Coefficients::Pair { .. }));

    // The final answer decides alone: an adjudicated exclusion holds the sample back.
    adjudicate(
        &mut store,
        1,
        "adam",
        &Answer {
            exclude: true,
            ..answer(YesNo::Yes)
        },
        &Provenance::CLI,
    )
    .unwrap();
    assert_eq!(passed(&store), [2]);

    let times = results(&store, &Default::default()).unwrap().time_per_item;
    let ana: Vec<(Option<&str>, u64, f64)> = times
        .iter()
        .filter(|t| t.reviewer == "ana")
        .map(|t| (t.language.as_deref(), t.answers, t.median_seconds))
        .collect();
    assert_eq!(ana, [(None, 3, 20.0), (Some("pl"), 3, 20.0)]);
    assert!(times.iter().all(|t| t.reviewer != "ola"), "untimed answers");
}

#[test]
fn guard_accuracy_is_against_final_verdicts_not_a_vote() {
    let (_d, mut store) = project();
    store
        .conn()
        .execute_batch(
            "INSERT INTO guard_runs (id, profile, backend, status) VALUES (1, 'g', 'local', 'done');
             INSERT INTO verdicts (run_id, sample_id, field, verdict, raw_answer, latency_ms) VALUES
               (1, 1, 'chosen', 'safe', '', 0), (1, 2, 'chosen', 'unsafe', '', 0),
               (1, 3, 'chosen', 'unsafe', '', 0);",
        )
        .unwrap();
    use TextVerdict::{Safe, Unsafe};
    // Sample 1: two of three say unsafe, the adjudicator says safe. Sample 2: a tie. Sample 3:
    // one answer, safe.
    for (sample, reviewer, verdict) in [
        (1, "ana", Unsafe),
        (1, "ola", Unsafe),
        (1, "eva", Safe),
        (2, "ana", Safe),
        (2, "ola", Unsafe),
        (3, "ana", Safe),
    ] {
        annotate(
            &mut store,
            sample,
            reviewer,
            &on_chosen(verdict),
            &Provenance::CLI,
        )
        .unwrap();
    }
    let accuracy = |store: &Store| {
        let g = results(store, &Default::default())
            .unwrap()
            .guard_accuracy
            .into_iter()
            .find(|g| g.guard == "guard:1" && g.language.is_none())
            .unwrap();
        (g.accuracy.successes, g.accuracy.n, g.pending, g.confusion)
    };
    adjudicate(&mut store, 1, "adam", &on_chosen(Safe), &Provenance::CLI).unwrap();
    assert_eq!(
        accuracy(&store),
        (1, 2, 1, [[1, 0], [1, 0]]),
        "sample 1 as adjudicated, sample 2 pending, sample 3 wrong"
    );
    adjudicate(&mut store, 2, "adam", &on_chosen(Unsafe), &Provenance::CLI).unwrap();
    assert_eq!(accuracy(&store), (2, 3, 0, [[1, 0], [1, 1]]));
}
