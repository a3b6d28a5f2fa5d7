//! Which language each text is written in, restricted to the languages present in the project
//! plus English (the usual leftover of machine translation). Two detectors, cheapest first:
//! whatlang (trigrams only, about 15× faster) confirms the texts it reliably finds in their
//! sample's own language, which is nearly all of them; every other text (another language, a
//! close pair such as cs/sk too near to call, short or mixed text) goes to lingua, chosen for its
//! accuracy on short texts and close pairs. So every mismatch and every unsure text is lingua's
//! finding, and a first triage of a RefusEU-size project takes seconds instead of minutes.
//! Texts too short or too close to call are stored as unsure (NULL), never as a mismatch; a
//! sample whose language lingua does not know is unsure too. Results are facts about immutable
//! texts, so texts already identified are skipped and each batch is committed on its own: a
//! killed triage resumes.
//!
//! A conversation's earlier user and assistant turns are texts of their own (`turn1`, `turn2`,
//! … by position among the earlier turns), each checked against the sample's language, so a
//! jailbreak that switches language mid-conversation shows which turn did. A system message is
//! not checked: it is instructions, often English boilerplate over any language's data.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

use crate::import::Role as TurnRole;
use crate::sample::read_turns;

/// Fewer letters than this are too little evidence to call a language.
const MIN_LETTERS: usize = 12;
/// Below this confidence the top language is a guess, not a finding.
const MIN_CONFIDENCE: f64 = 0.6;
/// The first bytes carry the language; longer texts only cost time.
const MAX_BYTES: usize = 1000;
/// Texts per committed batch.
const BATCH: usize = 4000;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LangidReport {
    /// Texts identified by this run.
    pub identified: u64,
    /// Of those, how many were left unsure (short, ambiguous, or a language lingua lacks).
    pub unsure: u64,
    /// The languages the detector chose between.
    pub languages: Vec<String>,
}

/// The primary subtag of a BCP-47 code (`pt-BR` → `pt`), as lingua's ISO 639-1 codes are.
pub(crate) fn primary(code: &str) -> String {
    code.split('-').next().unwrap_or(code).to_ascii_lowercase()
}

struct Detector {
    lingua: LanguageDetector,
    /// The first look, over the same languages (where whatlang knows them).
    whatlang: whatlang::Detector,
    known: HashMap<String, Language>,
}

impl Detector {
    /// `None`: lingua knows none of the languages (nothing to decide).
    fn for_languages(codes: &[String]) -> Option<Detector> {
        let known: HashMap<String, Language> = Language::all()
            .into_iter()
            .map(|l| (l.iso_code_639_1().to_string(), l))
            .filter(|(code, _)| code == "en" || codes.contains(code))
            .collect();
        let languages: Vec<Language> = known.values().copied().collect();
        if languages.is_empty() {
            return None;
        }
        let whatlang = whatlang::Detector::with_allowlist(
            languages
                .iter()
                .filter_map(|l| whatlang::Lang::from_code(l.iso_code_639_3().to_string()))
                .collect(),
        );
        Some(Detector {
            lingua: LanguageDetectorBuilder::from_languages(&languages)
                .with_preloaded_language_models()
                .build(),
            whatlang,
            known,
        })
    }

    /// The part of `text` worth identifying, or `None` when there is nothing to decide: the
    /// sample's language is one lingua lacks, or the text has too few letters.
    fn evidence<'t>(&self, text: &'t str, sample_language: &str) -> Option<&'t str> {
        let letters = text
            .chars()
            .filter(|c| c.is_alphabetic())
            .take(MIN_LETTERS)
            .count();
        if !self.known.contains_key(sample_language) || letters < MIN_LETTERS {
            return None;
        }
        let mut end = text.len().min(MAX_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Some(&text[..end])
    }

    /// whatlang's confidence when it reliably finds `text` in the sample's own language.
    fn confirmed(&self, text: &str, sample_language: &str) -> Option<f64> {
        let info = self.whatlang.detect(text)?;
        let own = self
            .known
            .get(sample_language)?
            .iso_code_639_3()
            .to_string();
        (info.is_reliable() && info.lang().code() == own).then(|| info.confidence())
    }

    /// For each (text, sample language): the detected code or unsure, and the confidence of
    /// the top language. Both detectors spread the texts over every core.
    fn identify_all(&self, texts: &[(&str, &str)]) -> Vec<(Option<String>, Option<f64>)> {
        let evidence: Vec<Option<&str>> = texts
            .iter()
            .map(|(text, language)| self.evidence(text, language))
            .collect();
        let confirmed = self.confirm_all(texts, &evidence);
        let for_lingua: Vec<&str> = evidence
            .iter()
            .zip(&confirmed)
            .filter_map(|(e, c)| e.filter(|_| c.is_none()))
            .collect();
        let mut values = self
            .lingua
            .compute_language_confidence_values_in_parallel(&for_lingua)
            .into_iter();
        texts
            .iter()
            .zip(evidence.iter().zip(&confirmed))
            .map(|((_, language), (e, confirmed))| {
                if let Some(confidence) = confirmed {
                    return (Some(language.to_string()), Some(*confidence));
                }
                let Some(values) = e.and_then(|_| values.next()) else {
                    return (None, None);
                };
                match values.first() {
                    Some(&(language, confidence)) if confidence >= MIN_CONFIDENCE => (
                        Some(language.iso_code_639_1().to_string()),
                        Some(confidence),
                    ),
                    Some(&(_, confidence)) => (None, Some(confidence)),
                    None => (None, None),
                }
            })
            .collect()
    }

    /// [`Detector::confirmed`] for every text with evidence, one share of the texts per core.
    fn confirm_all(&self, texts: &[(&str, &str)], evidence: &[Option<&str>]) -> Vec<Option<f64>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let share = texts.len().div_ceil(cores).max(1);
        std::thread::scope(|scope| {
            let shares: Vec<_> = texts
                .chunks(share)
                .zip(evidence.chunks(share))
                .map(|(texts, evidence)| {
                    scope.spawn(move || {
                        texts
                            .iter()
                            .zip(evidence)
                            .map(|((_, language), e)| e.and_then(|e| self.confirmed(e, language)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            shares
                .into_iter()
                .flat_map(|h| h.join().expect("language identification does not panic"))
                .collect()
        })
    }
}

/// One text still to identify.
struct Text {
    sample_id: i64,
    /// A field name, or `turnN` for a conversation's earlier turn.
    field: String,
    language: String,
    text: String,
}

const FIELDS: [&str; 4] = ["prompt", "chosen", "rejected", "response"];

/// How many texts of sample `s` get a language: its fields and its earlier non-system turns.
const TEXTS_OF_SAMPLE: &str = "1 + 2 * (s.chosen IS NOT NULL) + (s.response IS NOT NULL)
    + (SELECT count(*) FROM json_each(s.turns, '$.earlier') AS j
       WHERE json_extract(j.value, '$.role') <> 'system')";

/// Identifies every text of the samples in `scope` (over `samples AS s`) that has no row in
/// `text_languages` yet, using all cores.
pub(crate) fn identify_missing(
    conn: &mut Connection,
    scope: &str,
    params: &[rusqlite::types::Value],
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> rusqlite::Result<LangidReport> {
    let present: Vec<String> = {
        let mut stmt = conn.prepare("SELECT DISTINCT language FROM samples")?;
        let mut codes: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .map(|c| c.map(|c| primary(&c)))
            .collect::<Result<_, _>>()?;
        codes.sort();
        codes.dedup();
        codes
    };
    let mut report = LangidReport::default();
    let Some(detector) = Detector::for_languages(&present) else {
        return Ok(report);
    };
    report.languages = detector.known.keys().cloned().collect();
    report.languages.sort();
    // Samples with fewer rows in text_languages than texts; keyset-paged by id.
    let select = format!(
        "SELECT s.id, s.language, s.prompt, s.chosen, s.rejected, s.response,
                (SELECT group_concat(t.field) FROM text_languages AS t WHERE t.sample_id = s.id),
                s.turns
         FROM samples AS s
         WHERE ({scope}) AND s.id > ?{after}
           AND (SELECT count(*) FROM text_languages AS t WHERE t.sample_id = s.id)
               < {TEXTS_OF_SAMPLE}
         ORDER BY s.id LIMIT {limit}",
        after = params.len() + 1,
        limit = BATCH / 3,
    );
    let total: i64 = conn.query_row(
        &format!(
            "SELECT coalesce(sum({TEXTS_OF_SAMPLE}
                    - (SELECT count(*) FROM text_languages AS t WHERE t.sample_id = s.id)), 0)
             FROM samples AS s WHERE {scope}"
        ),
        params_from_iter(params),
        |r| r.get(0),
    )?;
    let read_batch = |conn: &Connection, after: &mut i64| -> rusqlite::Result<Vec<Text>> {
        let mut stmt = conn.prepare_cached(&select)?;
        let mut args = params.to_vec();
        args.push(rusqlite::types::Value::Integer(*after));
        let mut rows = stmt.query(params_from_iter(&args))?;
        let mut texts = Vec::new();
        while let Some(r) = rows.next()? {
            *after = r.get(0)?;
            let language = primary(&r.get::<_, String>(1)?);
            let done: String = r.get::<_, Option<String>>(6)?.unwrap_or_default();
            let mut fields = Vec::new();
            for (i, field) in FIELDS.into_iter().enumerate() {
                if let Some(text) = r.get::<_, Option<String>>(2 + i)? {
                    fields.push((field.to_string(), text));
                }
            }
            if let Some(conversation) = read_turns(r.get(7)?)? {
                for (i, turn) in conversation.earlier.into_iter().enumerate() {
                    if turn.role != TurnRole::System {
                        fields.push((format!("turn{}", i + 1), turn.content));
                    }
                }
            }
            for (field, text) in fields {
                if !done.split(',').any(|d| d == field) {
                    texts.push(Text {
                        sample_id: *after,
                        field,
                        language: language.clone(),
                        text,
                    });
                }
            }
        }
        Ok(texts)
    };
    let detect = |texts: Vec<Text>| {
        let pairs: Vec<(&str, &str)> = texts
            .iter()
            .map(|t| (t.text.as_str(), t.language.as_str()))
            .collect();
        let results = detector.identify_all(&pairs);
        (texts, results)
    };
    // The store is read and written on this thread while the batch before is identified on
    // the others, so the cores never wait for SQLite.
    let mut after = 0i64;
    std::thread::scope(|scope| -> rusqlite::Result<()> {
        let mut identifying = None;
        loop {
            let next = if cancel.load(Ordering::Relaxed) {
                Vec::new()
            } else {
                read_batch(conn, &mut after)?
            };
            let previous = identifying
                .take()
                .map(|h: std::thread::ScopedJoinHandle<'_, _>| {
                    h.join().expect("language identification does not panic")
                });
            if !next.is_empty() {
                identifying = Some(scope.spawn(move || detect(next)));
            }
            if let Some((texts, results)) = previous {
                let tx = conn.transaction()?;
                {
                    let mut insert = tx.prepare_cached(
                        "INSERT OR REPLACE INTO text_languages (sample_id, field, detected, confidence)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    for (t, (detected, confidence)) in texts.iter().zip(&results) {
                        insert.execute(rusqlite::params![
                            t.sample_id,
                            t.field,
                            detected,
                            confidence
                        ])?;
                        report.unsure += u64::from(detected.is_none());
                    }
                }
                tx.commit()?;
                report.identified += texts.len() as u64;
                progress(report.identified, total as u64);
            }
            if identifying.is_none() {
                return Ok(());
            }
        }
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_long_texts_and_is_unsure_of_short_or_unknown_ones() {
        let d =
            Detector::for_languages(&["de".into(), "pl".into(), "cs".into(), "sk".into()]).unwrap();
        let identify = |text: &str, language: &str| d.identify_all(&[(text, language)]).remove(0);
        let (lang, conf) = identify(
            "Ich kann dir dabei nicht helfen, weil es anderen Menschen schaden würde.",
            "pl",
        );
        assert_eq!(lang.as_deref(), Some("de"));
        assert!(conf.unwrap() >= MIN_CONFIDENCE);
        assert_eq!(
            identify(
                "I cannot help with that request because it could hurt people.",
                "de"
            )
            .0
            .as_deref(),
            Some("en"),
            "English is always a candidate"
        );
        assert_eq!(
            identify(
                "Nemohu vám s tím pomoci, protože by to mohlo ublížit jiným lidem.",
                "cs"
            )
            .0
            .as_deref(),
            Some("cs")
        );
        assert_eq!(
            identify(
                "Nemôžem vám s tým pomôcť, pretože by to mohlo ublížiť iným ľuďom.",
                "cs"
            )
            .0
            .as_deref(),
            Some("sk"),
            "a close pair is not confirmed by the first look"
        );
        let polish = "Nie mogę ci w tym pomóc, ponieważ mogłoby to zaszkodzić innym ludziom.";
        assert!(
            d.confirmed(polish, "pl").is_some(),
            "the first look confirms"
        );
        assert_eq!(identify(polish, "pl").0.as_deref(), Some("pl"));
        assert_eq!(identify("Nein.", "de"), (None, None), "too short");
        assert_eq!(
            identify("Dit is een Nederlandse zin die lang genoeg is.", "nl"),
            (None, None),
            "a language the detector lacks is unsure"
        );
        assert_eq!(primary("pt-BR"), "pt");
    }
}
