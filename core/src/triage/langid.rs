//! Which language each text is written in, with lingua restricted to the languages present in
//! the project plus English (the usual leftover of machine translation). Lingua is chosen over
//! whatlang for its accuracy on short texts (refusals are often one sentence) and on close
//! pairs (cs/sk, sl/hr) that the audited languages contain. Texts too short or too close to
//! call are stored as unsure (NULL), never as a mismatch; a sample whose language lingua does
//! not know is unsure too. Results are facts about immutable texts, so texts already
//! identified are skipped and each batch is committed on its own: a killed triage resumes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

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
        Some(Detector {
            lingua: LanguageDetectorBuilder::from_languages(&languages)
                .with_preloaded_language_models()
                .build(),
            known,
        })
    }

    /// (detected code or unsure, confidence of the top language).
    fn identify(&self, text: &str, sample_language: &str) -> (Option<String>, Option<f64>) {
        if !self.known.contains_key(sample_language)
            || text.chars().filter(|c| c.is_alphabetic()).count() < MIN_LETTERS
        {
            return (None, None);
        }
        let mut end = text.len().min(MAX_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let values = self.lingua.compute_language_confidence_values(&text[..end]);
        match values.first() {
            Some(&(language, confidence)) if confidence >= MIN_CONFIDENCE => (
                Some(language.iso_code_639_1().to_string()),
                Some(confidence),
            ),
            Some(&(_, confidence)) => (None, Some(confidence)),
            None => (None, None),
        }
    }
}

/// One text still to identify.
struct Text {
    sample_id: i64,
    field: &'static str,
    language: String,
    text: String,
}

const FIELDS: [&str; 4] = ["prompt", "chosen", "rejected", "response"];

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
                (SELECT group_concat(t.field) FROM text_languages AS t WHERE t.sample_id = s.id)
         FROM samples AS s
         WHERE ({scope}) AND s.id > ?{after}
           AND (SELECT count(*) FROM text_languages AS t WHERE t.sample_id = s.id)
               < 1 + 2 * (s.chosen IS NOT NULL) + (s.response IS NOT NULL)
         ORDER BY s.id LIMIT {limit}",
        after = params.len() + 1,
        limit = BATCH / 3,
    );
    let total: i64 = conn.query_row(
        &format!(
            "SELECT coalesce(sum(1 + 2 * (s.chosen IS NOT NULL) + (s.response IS NOT NULL)
                    - (SELECT count(*) FROM text_languages AS t WHERE t.sample_id = s.id)), 0)
             FROM samples AS s WHERE {scope}"
        ),
        params_from_iter(params),
        |r| r.get(0),
    )?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut after = 0i64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let mut texts = Vec::new();
        {
            let mut stmt = conn.prepare_cached(&select)?;
            let mut args = params.to_vec();
            args.push(rusqlite::types::Value::Integer(after));
            let mut rows = stmt.query(params_from_iter(&args))?;
            while let Some(r) = rows.next()? {
                after = r.get(0)?;
                let language = primary(&r.get::<_, String>(1)?);
                let done: String = r.get::<_, Option<String>>(6)?.unwrap_or_default();
                for (i, field) in FIELDS.into_iter().enumerate() {
                    if let Some(text) = r.get::<_, Option<String>>(2 + i)?
                        && !done.split(',').any(|d| d == field)
                    {
                        texts.push(Text {
                            sample_id: after,
                            field,
                            language: language.clone(),
                            text,
                        });
                    }
                }
            }
        }
        if texts.is_empty() {
            break;
        }
        let chunk = texts.len().div_ceil(workers);
        let results: Vec<(Option<String>, Option<f64>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = texts
                .chunks(chunk)
                .map(|part| {
                    let detector = &detector;
                    scope.spawn(move || {
                        part.iter()
                            .map(|t| detector.identify(&t.text, &t.language))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("language identification does not panic"))
                .collect()
        });
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
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_long_texts_and_is_unsure_of_short_or_unknown_ones() {
        let d =
            Detector::for_languages(&["de".into(), "pl".into(), "cs".into(), "sk".into()]).unwrap();
        let (lang, conf) = d.identify(
            "Ich kann dir dabei nicht helfen, weil es anderen Menschen schaden würde.",
            "pl",
        );
        assert_eq!(lang.as_deref(), Some("de"));
        assert!(conf.unwrap() >= MIN_CONFIDENCE);
        assert_eq!(
            d.identify(
                "I cannot help with that request because it could hurt people.",
                "de"
            )
            .0
            .as_deref(),
            Some("en"),
            "English is always a candidate"
        );
        assert_eq!(
            d.identify(
                "Nemohu vám s tím pomoci, protože by to mohlo ublížit jiným lidem.",
                "cs"
            )
            .0
            .as_deref(),
            Some("cs")
        );
        assert_eq!(d.identify("Nein.", "de"), (None, None), "too short");
        assert_eq!(
            d.identify("Dit is een Nederlandse zin die lang genoeg is.", "nl"),
            (None, None),
            "a language the detector lacks is unsure"
        );
        assert_eq!(primary("pt-BR"), "pt");
    }
}
