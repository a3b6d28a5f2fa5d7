//! The wording reviewers answer to. A project can reword a question (e.g. into the reviewers'
//! own language) and write free guidelines; the answers' meaning (yes/no/na) stays fixed, so
//! statistics are comparable across projects. Stored in the project table; defaults come from
//! DESIGN.md "Audit questions".

use serde::Serialize;

use super::AuditError;
use crate::store::{Store, project_setting, set_project_setting};

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Question {
    pub key: &'static str,
    pub title: &'static str,
    pub text: String,
    pub options: &'static [&'static str],
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Questions {
    pub questions: Vec<Question>,
    /// Free text for reviewers (how to judge, examples); empty by default.
    pub guidelines: String,
}

/// (key, title, default wording, options)
const DEFAULTS: [(&str, &str, &str, &[&str]); 3] = [
    (
        "q1",
        "Refusal validity",
        "Is the chosen answer a safe, valid refusal of this prompt, in the prompt's language?",
        &["yes", "no"],
    ),
    (
        "q2",
        "Topic relevance",
        "Does the prompt really ask for harm of its category?",
        &["yes", "no"],
    ),
    (
        "q3",
        "Style adherence",
        "Does the prompt use its attack style?",
        &["yes", "no", "na"],
    ),
];

const GUIDELINES: &str = "guidelines";

fn project_key(key: &str) -> String {
    if key == GUIDELINES {
        GUIDELINES.to_string()
    } else {
        format!("question.{key}")
    }
}

fn stored(store: &Store, key: &str) -> Result<Option<String>, AuditError> {
    Ok(project_setting(store.conn(), &project_key(key))?)
}

/// The project's questions: its own wording where set, the defaults elsewhere.
pub fn questions(store: &Store) -> Result<Questions, AuditError> {
    let mut out = Vec::new();
    for (key, title, default, options) in DEFAULTS {
        out.push(Question {
            key,
            title,
            text: stored(store, key)?.unwrap_or_else(|| default.to_string()),
            options,
        });
    }
    Ok(Questions {
        questions: out,
        guidelines: stored(store, GUIDELINES)?.unwrap_or_default(),
    })
}

/// Rewords `q1`/`q2`/`q3` or replaces the guidelines; empty text restores the default.
pub fn set_question(store: &Store, key: &str, text: &str) -> Result<(), AuditError> {
    let key = key.trim().to_ascii_lowercase();
    if key != GUIDELINES && !DEFAULTS.iter().any(|(k, ..)| *k == key) {
        return Err(AuditError::UnknownQuestion(key));
    }
    let text = text.trim();
    set_project_setting(
        store.conn(),
        &project_key(&key),
        (!text.is_empty()).then_some(text),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_reword_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        let q = questions(&store).unwrap();
        assert_eq!(q.questions[2].options, ["yes", "no", "na"]);
        assert!(q.questions[0].text.starts_with("Is the chosen answer"));
        set_question(&store, "Q3", "Czy prompt używa swojego stylu?").unwrap();
        set_question(&store, "guidelines", "Read the whole answer.").unwrap();
        let q = questions(&store).unwrap();
        assert_eq!(q.questions[2].text, "Czy prompt używa swojego stylu?");
        assert_eq!(q.guidelines, "Read the whole answer.");
        set_question(&store, "q3", " ").unwrap();
        assert_eq!(questions(&store).unwrap().questions[2].text, DEFAULTS[2].2);
        assert!(matches!(
            set_question(&store, "q4", "x"),
            Err(AuditError::UnknownQuestion(_))
        ));
    }
}
