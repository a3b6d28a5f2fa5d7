//! The domain vocabulary shared by every stage: sample fields, languages, harm categories,
//! attack styles and splits, with the normalisation rules applied on import.

use crate::import::Conversation;
use serde::{Deserialize, Serialize};

/// The named parts of a sample that an input column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Id,
    Language,
    Category,
    Style,
    Split,
    Prompt,
    Chosen,
    Rejected,
    Response,
    Model,
}

impl Field {
    pub const ALL: [Field; 10] = [
        Field::Id,
        Field::Language,
        Field::Category,
        Field::Style,
        Field::Split,
        Field::Prompt,
        Field::Chosen,
        Field::Rejected,
        Field::Response,
        Field::Model,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Language => "language",
            Field::Category => "category",
            Field::Style => "style",
            Field::Split => "split",
            Field::Prompt => "prompt",
            Field::Chosen => "chosen",
            Field::Rejected => "rejected",
            Field::Response => "response",
            Field::Model => "model",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Column names that mean this field in public datasets (matched case-insensitively).
    /// `row_id` is deliberately absent: RefusEU repeats it across languages, so it is metadata.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["id", "sample_id", "uid", "uuid", "_id"],
            Field::Language => &["language", "lang", "locale", "language_code", "lang_code"],
            Field::Category => &[
                "category",
                "hazard",
                "hazard_category",
                "harm_category",
                "harm",
            ],
            Field::Style => &[
                "style",
                "attack_style",
                "attack",
                "attack_type",
                "risk_style",
            ],
            Field::Split => &["split"],
            Field::Prompt => &[
                "prompt",
                "question",
                "instruction",
                "input",
                "query",
                "goal",
                "user_prompt",
            ],
            Field::Chosen => &["chosen", "chosen_response", "safe_response", "refusal"],
            Field::Rejected => &[
                "rejected",
                "rejected_response",
                "unsafe_response",
                "compliance",
            ],
            Field::Response => &[
                "response",
                "output",
                "completion",
                "generation",
                "model_output",
            ],
            Field::Model => &["model", "config", "model_name", "generator"],
        }
    }

    pub fn from_alias(column: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().iter().any(|a| a.eq_ignore_ascii_case(column)))
    }
}

/// Llama Guard 3 hazard taxonomy: code and name, S1..S14 in order.
pub const CATEGORIES: [(&str, &str); 14] = [
    ("S1", "Violent Crimes"),
    ("S2", "Non-Violent Crimes"),
    ("S3", "Sex Crimes"),
    ("S4", "Child Exploitation"),
    ("S5", "Defamation"),
    ("S6", "Specialized Advice"),
    ("S7", "Privacy"),
    ("S8", "Intellectual Property"),
    ("S9", "Indiscriminate Weapons"),
    ("S10", "Hate"),
    ("S11", "Self-Harm"),
    ("S12", "Sexual Content"),
    ("S13", "Elections"),
    ("S14", "Code Interpreter Abuse"),
];

/// Other spellings of category names seen in guard outputs and datasets.
const CATEGORY_NAME_VARIANTS: [(&str, usize); 4] = [
    ("sex related crimes", 3),
    ("child sexual exploitation", 4),
    ("specialised advice", 6),
    ("self harm", 11),
];

/// Rainbow Teaming attack styles, as RefusEU names them.
pub const STYLES: [&str; 10] = [
    "slang",
    "technical terms",
    "role play",
    "authority manipulation",
    "misspellings",
    "word play",
    "emotional manipulation",
    "hypotheticals",
    "historical scenario",
    "uncommon dialects",
];

/// Lowercase words separated by single spaces: how names are compared.
fn fold_words(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Accepts `S1`..`S14` (any case, leading zeros), `S1: Violent Crimes`, or a category name.
pub fn parse_category(raw: &str) -> Result<&'static str, String> {
    let s = raw.trim();
    let code = s.split(':').next().unwrap_or(s).trim();
    if let Some(digits) = code.strip_prefix(['S', 's'])
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return match digits.parse::<usize>() {
            Ok(n @ 1..=14) => Ok(CATEGORIES[n - 1].0),
            _ => Err(format!(
                "`{raw}` is not a category: codes run from S1 to S14"
            )),
        };
    }
    let folded = fold_words(s);
    CATEGORIES
        .iter()
        .position(|(_, name)| fold_words(name) == folded)
        .or_else(|| {
            CATEGORY_NAME_VARIANTS
                .iter()
                .find(|(name, _)| *name == folded)
                .map(|(_, n)| n - 1)
        })
        .map(|i| CATEGORIES[i].0)
        .ok_or_else(|| format!("`{raw}` is not S1–S14 or a Llama Guard 3 category name"))
}

/// Known styles get their canonical spelling (`role_play` → `role play`); others are kept trimmed.
pub fn normalise_style(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    let folded = fold_words(trimmed);
    let squashed = folded.replace(' ', "");
    let known = STYLES.iter().find(|style| {
        let canon = style.replace(' ', "");
        squashed == canon
            || squashed.strip_suffix('s') == Some(canon.as_str())
            || canon.strip_suffix('s') == Some(squashed.as_str())
    });
    Some(known.map_or_else(|| trimmed.to_string(), |s| s.to_string()))
}

/// Normalises a BCP-47 tag's case (`PT_br` → `pt-BR`) and checks that its primary subtag is a
/// real ISO 639 language, so typos like `en-UK` pass but `english` or `xx` do not.
pub fn normalise_language(raw: &str) -> Result<String, String> {
    let tag = raw.trim().replace('_', "-");
    let bad = |why: &str| Err(format!("`{raw}` is not a language code ({why})"));
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default().to_ascii_lowercase();
    let known = match primary.len() {
        2 => isolang::Language::from_639_1(&primary).is_some(),
        3 => isolang::Language::from_639_3(&primary).is_some(),
        _ => false,
    };
    if !primary.bytes().all(|b| b.is_ascii_alphabetic()) || !known {
        return bad("expected an ISO 639 code such as `pl` or `pt-BR`");
    }
    let mut out = primary;
    let mut private = false;
    for sub in parts {
        if sub.is_empty() || sub.len() > 8 || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return bad("malformed subtag");
        }
        out.push('-');
        let alpha = sub.bytes().all(|b| b.is_ascii_alphabetic());
        if private || sub.len() == 1 {
            private |= sub.eq_ignore_ascii_case("x");
            out.push_str(&sub.to_ascii_lowercase());
        } else if sub.len() == 4 && alpha {
            out.push_str(&sub[..1].to_ascii_uppercase());
            out.push_str(&sub[1..].to_ascii_lowercase());
        } else if (sub.len() == 2 && alpha)
            || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit()))
        {
            out.push_str(&sub.to_ascii_uppercase());
        } else {
            out.push_str(&sub.to_ascii_lowercase());
        }
    }
    Ok(out)
}

/// Split names become file names on export, so they are restricted to a safe alphabet.
pub fn normalise_split(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{raw}` is not a split name (letters, digits, `_` and `-` only)"
        ))
    }
}

/// A sample ready to store, validated and normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSample {
    pub ext_id: String,
    pub language: String,
    pub category: Option<&'static str>,
    pub style: Option<String>,
    pub split: Option<String>,
    pub prompt: String,
    /// `chosen` and `rejected` are both present (a DPO triple) or both absent.
    pub pair: Option<(String, String)>,
    pub response: Option<String>,
    pub model: Option<String>,
    pub group_key: Option<String>,
    /// Unknown columns as a JSON object, key order as in the input.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The turns before `prompt` when the prompt is a conversation.
    pub turns: Option<Conversation>,
}

impl NewSample {
    /// A stable id for rows that carry none: the same content always gets the same id.
    pub fn content_id(
        language: &str,
        prompt: &str,
        pair: Option<(&str, &str)>,
        response: Option<&str>,
    ) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            Some(language),
            Some(prompt),
            pair.map(|p| p.0),
            pair.map(|p| p.1),
            response,
        ] {
            match part {
                Some(text) => {
                    h.update((text.len() as u64).to_le_bytes());
                    h.update(text.as_bytes());
                }
                None => h.update(u64::MAX.to_le_bytes()),
            }
        }
        let digest = h.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A stored sample, as the later stages read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub id: i64,
    pub ext_id: String,
    pub language: String,
    pub category: Option<String>,
    pub style: Option<String>,
    pub split: Option<String>,
    pub prompt: String,
    pub chosen: Option<String>,
    pub rejected: Option<String>,
    pub response: Option<String>,
    pub model: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The turns before `prompt` when the prompt is a conversation.
    pub turns: Option<Conversation>,
}

/// A `samples.turns` cell.
pub fn read_turns(json: Option<String>) -> rusqlite::Result<Option<Conversation>> {
    json.map(|j| serde_json::from_str(&j))
        .transpose()
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

impl Sample {
    /// The column list `from_row` expects, for `SELECT … FROM samples AS s`.
    pub const COLUMNS: &'static str = "s.id, s.ext_id, s.language, s.category, s.style, s.split, s.prompt, \
         s.chosen, s.rejected, s.response, s.generator, s.metadata, s.turns";

    pub fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Sample> {
        let metadata: String = row.get(11)?;
        let turns = read_turns(row.get(12)?)?;
        Ok(Sample {
            id: row.get(0)?,
            ext_id: row.get(1)?,
            language: row.get(2)?,
            category: row.get(3)?,
            style: row.get(4)?,
            split: row.get(5)?,
            prompt: row.get(6)?,
            chosen: row.get(7)?,
            rejected: row.get(8)?,
            response: row.get(9)?,
            model: row.get(10)?,
            metadata: serde_json::from_str(&metadata).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    11,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            turns,
        })
    }

    pub fn is_triple(&self) -> bool {
        self.chosen.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_normalise() {
        assert_eq!(normalise_language("PT-br").unwrap(), "pt-BR");
        assert_eq!(normalise_language("pt_BR").unwrap(), "pt-BR");
        assert_eq!(normalise_language("sr-latn-rs").unwrap(), "sr-Latn-RS");
        assert_eq!(normalise_language("es-419").unwrap(), "es-419");
        assert_eq!(normalise_language(" PL ").unwrap(), "pl");
        assert_eq!(normalise_language("fil").unwrap(), "fil");
        for bad in ["", "english", "xx", "pl-", "p1", "en--US", "en-US/../x"] {
            assert!(normalise_language(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn categories_parse() {
        assert_eq!(parse_category("S1"), Ok("S1"));
        assert_eq!(parse_category("s014"), Ok("S14"));
        assert_eq!(parse_category("S10: Hate"), Ok("S10"));
        assert_eq!(parse_category("violent_crimes"), Ok("S1"));
        assert_eq!(parse_category("Self-Harm"), Ok("S11"));
        assert_eq!(parse_category("Child Sexual Exploitation"), Ok("S4"));
        assert!(parse_category("S15").is_err());
        assert!(parse_category("S0").is_err());
        assert!(parse_category("weapons").is_err());
    }

    #[test]
    fn styles_normalise() {
        assert_eq!(normalise_style("role_play").as_deref(), Some("role play"));
        assert_eq!(normalise_style("Roleplay").as_deref(), Some("role play"));
        assert_eq!(
            normalise_style("hypothetical").as_deref(),
            Some("hypotheticals")
        );
        assert_eq!(
            normalise_style("Authority-Manipulation").as_deref(),
            Some("authority manipulation")
        );
        assert_eq!(normalise_style(" poetry ").as_deref(), Some("poetry"));
        assert_eq!(normalise_style("  "), None);
    }

    #[test]
    fn splits_are_file_safe() {
        assert_eq!(normalise_split(" test ").unwrap(), "test");
        assert!(normalise_split("../x").is_err());
        assert!(normalise_split("").is_err());
    }

    #[test]
    fn content_ids_are_stable_and_distinguish_fields() {
        let a = NewSample::content_id("en", "p", Some(("c", "r")), None);
        assert_eq!(a, NewSample::content_id("en", "p", Some(("c", "r")), None));
        assert_ne!(a, NewSample::content_id("en", "p", Some(("cr", "")), None));
        assert_ne!(a, NewSample::content_id("en", "p", None, None));
        assert_eq!(a.len(), 16);
    }
}
