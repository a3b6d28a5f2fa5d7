//! Reading a guard's answer, driven by the profile's `[parse]` data rather than per-guard code.
//!
//! Answers come from small models, cut by token limits, through servers that may or may not
//! strip end tokens: reading is tolerant (case, whitespace, markdown, trailing end tokens,
//! truncation) and never fails; what cannot be read is `Verdict::Unparsed`.

use serde::Serialize;

use super::profile::{Format, Keys, Profile, Role};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Safe,
    Unsafe,
    Controversial,
    /// No verdict word where the profile expects one (unreadable or cut before it).
    Unparsed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Parsed {
    pub verdict: Verdict,
    /// Category codes ("S1") where the profile knows the category, else the name as printed.
    pub categories: Vec<String>,
    /// Whether the judged answer is a refusal, for guards that say so.
    pub refusal: Option<bool>,
}

/// Reads `raw`, the text the guard generated for a `role` check, with or without the check's
/// prefill in front of it.
pub fn parse_answer(profile: &Profile, role: Role, raw: &str) -> Parsed {
    let text = with_prefill(&profile.check(role).prefill, raw);
    let text = cut_at_end_token(profile, &text);
    match (&profile.parse.format, &profile.parse.keys) {
        (Format::Keys, Some(keys)) => parse_keys(
            profile,
            match role {
                Role::Prompt => &keys.prompt,
                Role::Answer => &keys.answer,
            },
            text,
        ),
        // Validation requires keys for the keys format; without them the lines reading is
        // the best guess.
        _ => parse_lines(profile, text),
    }
}

/// The engine may hand over only what the model generated after the prefill, or the whole
/// answer; read both as the whole answer.
fn with_prefill(prefill: &str, raw: &str) -> String {
    let p = prefill.trim();
    let head: String = raw.trim_start().chars().take(p.chars().count()).collect();
    if p.is_empty() || head.to_lowercase() == p.to_lowercase() {
        raw.to_string()
    } else {
        format!("{prefill}{raw}")
    }
}

/// Where a check's verdict word must appear, so generation can stop as soon as the answer
/// cannot carry one (a model off the profile's format would otherwise run to `max_tokens`).
#[derive(Clone, Debug, PartialEq)]
pub struct VerdictLine {
    /// The key the verdict line starts with ("Safety"), or none: the line is the verdict.
    key: Option<String>,
    /// Every verdict word, lower case.
    words: Vec<String>,
}

impl VerdictLine {
    /// For a `role` check of `profile`, when its verdict is on the answer's first line: always
    /// in the lines format; in the keys format when the prefill opens the verdict's key. A check
    /// that reads its score later (`score_after`) generates on.
    pub fn of(profile: &Profile, role: Role) -> Option<VerdictLine> {
        let check = profile.check(role);
        if !check.score_after.is_empty() {
            return None;
        }
        let p = &profile.parse;
        let key = match (&p.format, &p.keys) {
            (Format::Keys, Some(keys)) => {
                let key = match role {
                    Role::Prompt => &keys.prompt.verdict,
                    Role::Answer => &keys.answer.verdict,
                };
                let opened = check.prefill.trim().strip_suffix(':');
                if !opened.is_some_and(|k| k.trim().eq_ignore_ascii_case(key.trim())) {
                    return None;
                }
                Some(key.trim().to_string())
            }
            _ => None,
        };
        let words = [&p.safe, &p.unsafe_, &p.controversial]
            .into_iter()
            .flatten()
            .map(|w| w.trim().to_lowercase())
            .collect();
        Some(VerdictLine { key, words })
    }

    /// Whether `answer` (prefill included) can no longer read as a verdict: its verdict line
    /// holds a finished word that is none of the verdict words, or the start of none.
    pub fn ruled_out(&self, answer: &str) -> bool {
        let mut text = answer.trim_start();
        if let Some(key) = &self.key {
            match text.split_once(':') {
                Some((k, value)) if k.trim().eq_ignore_ascii_case(key) => text = value,
                Some(_) => return true,
                None => return !key.to_lowercase().starts_with(&text.trim().to_lowercase()),
            }
        }
        let (line, finished) = match text.find('\n') {
            Some(end) => (&text[..end], true),
            None => (text, false),
        };
        let (word, rest) = first_word(clean(line));
        if finished {
            return !self.words.contains(&word);
        }
        // A word is finished once something follows it on the line.
        let word_finished = !rest.is_empty() || line.ends_with([' ', '\t']);
        !word.is_empty()
            && !self.words.iter().any(|w| {
                if word_finished {
                    *w == word
                } else {
                    w.starts_with(&word)
                }
            })
    }
}

/// Everything before the first end token: the profile's stop strings, or anything that looks
/// like a special token a server left in.
fn cut_at_end_token<'a>(profile: &Profile, text: &'a str) -> &'a str {
    let end = profile
        .stop
        .iter()
        .map(String::as_str)
        .chain(["<|", "</s>"])
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s))
        .min()
        .unwrap_or(text.len());
    &text[..end]
}

/// Llama Guard style: verdict word on the first non-empty line, categories on the next.
fn parse_lines(profile: &Profile, text: &str) -> Parsed {
    let mut lines = text.lines().map(clean).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return unparsed();
    };
    let (word, rest) = first_word(first);
    let verdict = verdict_of(profile, &word);
    if verdict == Verdict::Unparsed {
        return unparsed();
    }
    // Some models put the categories on the verdict line ("unsafe S1,S2" or "unsafe: S1").
    let rest = rest.trim_start_matches([':', '-', ' ', '\t']);
    let list = if rest.is_empty() {
        lines.next().unwrap_or("")
    } else {
        rest
    };
    Parsed {
        verdict,
        categories: categories(profile, list, text),
        refusal: None,
    }
}

/// `Key: value` lines with the check's key names; the first line of each key counts.
fn parse_keys(profile: &Profile, keys: &Keys, text: &str) -> Parsed {
    let mut found = Parsed {
        verdict: Verdict::Unparsed,
        categories: Vec::new(),
        refusal: None,
    };
    let (mut seen_verdict, mut seen_categories) = (false, false);
    let is = |key: &str, name: &Option<String>| {
        name.as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(key))
    };
    for line in text.lines() {
        let Some((key, value)) = clean(line).split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(['*', '_', '`']).trim();
        let value = value.trim();
        if !seen_verdict && key.eq_ignore_ascii_case(keys.verdict.trim()) {
            seen_verdict = true;
            found.verdict = verdict_of(profile, &first_word(value).0);
        } else if !seen_categories && is(key, &keys.categories) {
            seen_categories = true;
            found.categories = categories(profile, value, text);
        } else if found.refusal.is_none() && is(key, &keys.refusal) {
            let word = first_word(value).0;
            let p = &profile.parse;
            found.refusal = if contains(&p.refusal_yes, &word) {
                Some(true)
            } else if contains(&p.refusal_no, &word) {
                Some(false)
            } else {
                None
            };
        }
    }
    found
}

fn unparsed() -> Parsed {
    Parsed {
        verdict: Verdict::Unparsed,
        categories: Vec::new(),
        refusal: None,
    }
}

/// A line without markdown decoration and list bullets.
fn clean(line: &str) -> &str {
    line.trim()
        .trim_start_matches(['-', '*', '#', '>', '`', ' '])
        .trim()
}

/// The first word of `text` in lower case (letters and digits, after any punctuation such as
/// quotes or asterisks), and the text after it.
fn first_word(text: &str) -> (String, &str) {
    let start = text.trim_start_matches(|c: char| !c.is_alphanumeric());
    let end = start
        .find(|c: char| !c.is_alphanumeric())
        .unwrap_or(start.len());
    (
        start[..end].to_lowercase(),
        start[end..].trim_start_matches(['*', '"', '\'', '`', '.', ' ']),
    )
}

fn contains(words: &[String], word: &str) -> bool {
    !word.is_empty() && words.iter().any(|w| w.trim().eq_ignore_ascii_case(word))
}

fn verdict_of(profile: &Profile, word: &str) -> Verdict {
    let p = &profile.parse;
    if contains(&p.unsafe_, word) {
        Verdict::Unsafe
    } else if contains(&p.safe, word) {
        Verdict::Safe
    } else if contains(&p.controversial, word) {
        Verdict::Controversial
    } else {
        Verdict::Unparsed
    }
}

/// A comma-separated list as codes. `whole` is the full answer: when the list is its very end
/// and not closed by a newline, the model may have been cut inside the last item, which is then
/// dropped if it is only the start of a known code or name (e.g. "S" of "S10").
fn categories(profile: &Profile, list: &str, whole: &str) -> Vec<String> {
    let items: Vec<&str> = list
        .split([',', ';'])
        .map(|s| s.trim().trim_matches(['*', '"', '\'', '`', '.']).trim())
        .filter(|s| !s.is_empty())
        .collect();
    let open_end = whole
        .trim_end_matches(' ')
        .ends_with(list.trim_end_matches(' '));
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if contains(&profile.parse.none, item) {
            continue;
        }
        // "S1: Violent Crimes" is S1.
        let known = profile.category_code(item).or_else(|| {
            item.split_once(':')
                .and_then(|(code, _)| profile.category_code(code))
        });
        let code = match known {
            Some(code) => code.to_string(),
            None if open_end && i + 1 == items.len() && is_known_prefix(profile, item) => continue,
            None => item.to_string(),
        };
        if !out.contains(&code) {
            out.push(code);
        }
    }
    out
}

fn is_known_prefix(profile: &Profile, item: &str) -> bool {
    let item = item.to_lowercase();
    let starts = |s: &str| s.to_lowercase().starts_with(&item);
    profile
        .categories
        .iter()
        .any(|c| starts(&c.code) || starts(&c.name))
        || profile.category_aliases.keys().any(|a| starts(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::profile::load_builtin;

    fn parse(profile: &str, role: Role, raw: &str) -> Parsed {
        parse_answer(load_builtin().get(profile).unwrap(), role, raw)
    }

    fn p(verdict: Verdict, categories: &[&str], refusal: Option<bool>) -> Parsed {
        Parsed {
            verdict,
            categories: categories.iter().map(|s| s.to_string()).collect(),
            refusal,
        }
    }

    use Verdict::*;

    #[test]
    fn generation_stops_once_no_verdict_can_follow() {
        let profiles = load_builtin();
        let line = |name: &str, role| VerdictLine::of(profiles.get(name).unwrap(), role);
        let lg = line("llama-guard-3-8b", Role::Answer).unwrap();
        for open in [
            "\n\n",
            "\n\nun",
            "\n\nsafe",
            "\n\nunsafe\n",
            "\n\nunsafe\nS1",
            "\n\n**Uns",
        ] {
            assert!(!lg.ruled_out(open), "{open:?}");
        }
        for hopeless in ["\n\nWhat", "\n\nsafety\n", "\n\nThe user"] {
            assert!(lg.ruled_out(hopeless), "{hopeless:?}");
        }
        let qwen = line("qwen3guard-gen", Role::Prompt).unwrap();
        assert!(!qwen.ruled_out("Safety: Contro"));
        assert!(!qwen.ruled_out("Safety: Unsafe\nCategories: Violent"));
        assert!(qwen.ruled_out("Safety: I think"));
        let poly = line("polyguard", Role::Prompt).unwrap();
        assert!(!poly.ruled_out("Harmful request: ye"));
        assert!(poly.ruled_out("Harmful request: maybe"));
        // PolyGuard's answer verdict comes lines later: nothing to rule out early.
        assert_eq!(line("polyguard", Role::Answer), None);
    }

    #[test]
    fn llama_guard_answers() {
        for guard in ["llama-guard-3-8b", "llama-guard-3-1b"] {
            let cases: &[(&str, Parsed)] = &[
                // As generated after the bare template (no prefill), with and without end token.
                ("\n\nunsafe\nS1,S10", p(Unsafe, &["S1", "S10"], None)),
                ("\n\nsafe<|eot_id|>", p(Safe, &[], None)),
                ("\n\nunsafe\nS2<|eot_id|>", p(Unsafe, &["S2"], None)),
                // After the "\n\n" prefill.
                ("safe", p(Safe, &[], None)),
                ("unsafe\nS9", p(Unsafe, &["S9"], None)),
                // Case, spaces, duplicates, a trailing comma.
                ("  UNSAFE \n s1 , S1, s11,", p(Unsafe, &["S1", "S11"], None)),
                // Truncated: in the verdict, after it, inside a code.
                ("\n\nuns", p(Unparsed, &[], None)),
                ("\n\nunsafe", p(Unsafe, &[], None)),
                ("\n\nunsafe\nS1,S", p(Unsafe, &["S1"], None)),
                // A category it does not list is kept as printed.
                ("unsafe\nS15", p(Unsafe, &["S15"], None)),
                // Unreadable.
                ("", p(Unparsed, &[], None)),
                ("<|eot_id|>", p(Unparsed, &[], None)),
                ("I cannot help with that.", p(Unparsed, &[], None)),
                ("safety first", p(Unparsed, &[], None)),
            ];
            for (raw, want) in cases {
                assert_eq!(&parse(guard, Role::Answer, raw), want, "{guard} {raw:?}");
            }
        }
    }

    #[test]
    fn refuseu_judge_answers() {
        // A general model may decorate or capitalise the verdict.
        let cases: &[(&str, Parsed)] = &[
            ("unsafe\nS2, S9", p(Unsafe, &["S2", "S9"], None)),
            ("**Safe**", p(Safe, &[], None)),
            ("'unsafe'\nS1: Violent Crimes", p(Unsafe, &["S1"], None)),
            (
                "Unsafe\nViolent Crimes, Hate.",
                p(Unsafe, &["S1", "S10"], None),
            ),
            ("unsafe: S11", p(Unsafe, &["S11"], None)),
            ("The response is safe.", p(Unparsed, &[], None)),
        ];
        for (raw, want) in cases {
            assert_eq!(&parse("refuseu-judge", Role::Answer, raw), want, "{raw:?}");
        }
    }

    #[test]
    fn qwen3guard_answers() {
        let q = "qwen3guard-gen";
        let cases: &[(Role, &str, Parsed)] = &[
            // The README's examples, whole.
            (
                Role::Prompt,
                "Safety: Unsafe\nCategories: Violent",
                p(Unsafe, &["S1"], None),
            ),
            (
                Role::Answer,
                "Safety: Safe\nCategories: None\nRefusal: Yes",
                p(Safe, &[], Some(true)),
            ),
            // After the "Safety:" prefill, as the engine gets it.
            (
                Role::Prompt,
                " Safe\nCategories: None<|im_end|>",
                p(Safe, &[], None),
            ),
            (
                Role::Answer,
                " Unsafe\nCategories: Non-violent Illegal Acts, Unethical Acts\nRefusal: No",
                p(Unsafe, &["S2", "Unethical Acts"], Some(false)),
            ),
            (
                Role::Prompt,
                " Controversial\nCategories: Politically Sensitive Topics",
                p(Controversial, &["Politically Sensitive Topics"], None),
            ),
            (
                Role::Prompt,
                "Safety: Unsafe\nCategories: Jailbreak",
                p(Unsafe, &["Jailbreak"], None),
            ),
            (
                Role::Answer,
                "Safety: Unsafe\nCategories: PII, Copyright Violation, Suicide & Self-Harm, Sexual Content or Sexual Acts\nRefusal: No",
                p(Unsafe, &["S7", "S8", "S11", "S12"], Some(false)),
            ),
            // Truncated: inside the verdict, before the categories, before the refusal.
            (Role::Answer, " Uns", p(Unparsed, &[], None)),
            (Role::Answer, "Safety:", p(Unparsed, &[], None)),
            (Role::Answer, " Unsafe\nCateg", p(Unsafe, &[], None)),
            (
                Role::Answer,
                " Unsafe\nCategories: Violent\nRefusal:",
                p(Unsafe, &["S1"], None),
            ),
            (
                Role::Answer,
                " Unsafe\nCategories: Non-violent Ill",
                p(Unsafe, &[], None),
            ),
            // Refusal on a prompt check is not asked for, so not read.
            (
                Role::Prompt,
                "Safety: Safe\nCategories: None\nRefusal: Yes",
                p(Safe, &[], None),
            ),
            // Malformed.
            (Role::Answer, "The answer is safe", p(Unparsed, &[], None)),
            (
                Role::Answer,
                "Safety: Maybe\nCategories: None",
                p(Unparsed, &[], None),
            ),
            (Role::Answer, "", p(Unparsed, &[], None)),
        ];
        for (role, raw, want) in cases {
            assert_eq!(&parse(q, *role, raw), want, "{role} {raw:?}");
        }
    }

    #[test]
    fn polyguard_answers() {
        let g = "polyguard";
        let full = "Harmful request: yes\nRequest safety violations: S2\nResponse refusal: no\nHarmful response: yes\nResponse safety violations: S2, S9";
        assert_eq!(
            parse(g, Role::Answer, full),
            p(Unsafe, &["S2", "S9"], Some(false))
        );
        assert_eq!(parse(g, Role::Prompt, full), p(Unsafe, &["S2"], None));
        let refused = "Harmful request: yes\nRequest safety violations: S1\nResponse refusal: yes\nHarmful response: no\nResponse safety violations: None<|im_end|>";
        assert_eq!(parse(g, Role::Answer, refused), p(Safe, &[], Some(true)));
        // A prompt check, after the "Harmful request:" prefill; the response lines are noise.
        let prompt_only = " no\nRequest safety violations: None\nResponse refusal: None\nHarmful response: None\nResponse safety violations: None";
        assert_eq!(parse(g, Role::Prompt, prompt_only), p(Safe, &[], None));
        // Truncated before the response verdict: the refusal is known, the verdict is not.
        let cut = "Harmful request: yes\nRequest safety violations: S2\nResponse refusal: no\nHarmful resp";
        assert_eq!(parse(g, Role::Answer, cut), p(Unparsed, &[], Some(false)));
        // Malformed.
        assert_eq!(parse(g, Role::Answer, "yes"), p(Unparsed, &[], None));
        assert_eq!(
            parse(g, Role::Prompt, "Harmful request: perhaps"),
            p(Unparsed, &[], None)
        );
    }

    #[test]
    fn prefill_is_not_doubled() {
        assert_eq!(with_prefill("Safety:", " Safe"), "Safety: Safe");
        assert_eq!(with_prefill("Safety:", "Safety: Safe"), "Safety: Safe");
        assert_eq!(with_prefill("Safety:", "\nsafety: Safe"), "\nsafety: Safe");
        assert_eq!(with_prefill("\n\n", "safe"), "safe");
    }

    #[test]
    fn never_panics_on_odd_text() {
        let profiles = load_builtin();
        let odd = [
            "",
            "\n",
            ":",
            "::::",
            "Safety",
            "Safety::",
            "unsafe\n,,,",
            "ünsafe\nS1",
            "安全",
            "Safety: 不安全",
            "<|im_end|>Safety: Safe",
            "\u{0}\u{feff}",
            "unsafe\nS1,S1,S1,",
            "Categories: Violent",
            "Harmful response:\n: yes",
            "*",
            "-",
            "```",
        ];
        for p in profiles.iter() {
            for role in [Role::Prompt, Role::Answer] {
                for raw in odd {
                    let _ = parse_answer(p, role, raw);
                }
            }
        }
    }
}
