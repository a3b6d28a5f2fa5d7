//! Implicit-prompt pairs, TRL's layout: rows without a prompt where `chosen` and `rejected` each
//! carry the whole conversation, and the prompt is the part they share.
//!
//! TRL's `extract_prompt` (`trl/data_utils.py`) takes the longest common *character* prefix of
//! the two texts (less a final space) as the prompt, so when both answers begin alike ("I can't…"
//! / "I can…") their shared first word ends up in the prompt. Verdikt splits at turn boundaries
//! instead: both sides are read as turns (message lists as they are, plain text by its role
//! markers), the turns they share are the prompt, and each side's final assistant turn is its
//! answer, whole.
//!
//! A prompt with turns before its last user turn (a system message, earlier exchanges) is a
//! [`Conversation`]: stored in the sample's `turns` column (migration 0012) as the earlier turns
//! and the layout they came in, while `prompt` stays the last user turn, so that every query,
//! filter and report that reads `prompt` keeps working unchanged. One JSON column rather than a
//! `turns` table: the turns are only ever read whole, with their sample, and are never queried
//! one by one. The layout is kept so that export writes the row back the way it came (message
//! lists, or text with the same markers) and export → import → export gives the same bytes.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    fn from_name(name: &str) -> Option<Role> {
        [Role::System, Role::User, Role::Assistant]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

impl Turn {
    /// As a message of a TRL message list.
    pub fn message(&self) -> Value {
        json!({"role": self.role.name(), "content": self.content})
    }
}

/// How a plain-text conversation marks whose turn begins (`\n\nHuman:` / `\n\nAssistant:`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Markers {
    pub user: String,
    pub assistant: String,
}

/// The conventions recognised without `--roles`, tried in this order: Anthropic HH-RLHF's, the
/// `### Human:` / `### User:` headings of Alpaca-style data, and bare `Human:` / `User:` lines.
pub const CONVENTIONS: [(&str, &str); 5] = [
    ("\n\nHuman:", "\n\nAssistant:"),
    ("### Human:", "### Assistant:"),
    ("### User:", "### Assistant:"),
    ("Human:", "Assistant:"),
    ("User:", "Assistant:"),
];

impl fmt::Display for Markers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}/{:?}", self.user, self.assistant)
    }
}

impl std::str::FromStr for Markers {
    type Err = String;

    /// `user=MARKER,assistant=MARKER` (`--roles`); `\n` in a marker stands for a newline.
    fn from_str(spec: &str) -> Result<Markers, String> {
        let (mut user, mut assistant) = (None, None);
        for part in spec.split(',') {
            let (role, marker) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not ROLE=MARKER"))?;
            let marker = marker.replace("\\n", "\n");
            if marker.trim().is_empty() {
                return Err(format!("the marker of `{role}` is empty"));
            }
            match role.trim() {
                "user" => user = Some(marker),
                "assistant" => assistant = Some(marker),
                other => return Err(format!("unknown role `{other}`; give user and assistant")),
            }
        }
        match (user, assistant) {
            (Some(user), Some(assistant)) if user != assistant => Ok(Markers { user, assistant }),
            (Some(_), Some(_)) => Err("the user and assistant markers are the same".into()),
            _ => Err("give both roles: user=MARKER,assistant=MARKER".into()),
        }
    }
}

impl Markers {
    pub fn new(user: &str, assistant: &str) -> Markers {
        Markers {
            user: user.into(),
            assistant: assistant.into(),
        }
    }

    /// The first built-in convention under which both texts read as a conversation that ends
    /// with an assistant turn.
    pub fn detect(chosen: &str, rejected: &str) -> Option<Markers> {
        CONVENTIONS
            .iter()
            .map(|(user, assistant)| Markers::new(user, assistant))
            .find(|m| {
                [chosen, rejected].iter().all(|text| {
                    let turns = m.turns(text);
                    turns.iter().any(|t| t.role == Role::User)
                        && turns.last().is_some_and(|t| t.role == Role::Assistant)
                })
            })
    }

    fn marker(&self, role: Role) -> &str {
        match role {
            Role::User => &self.user,
            _ => &self.assistant,
        }
    }

    /// Reads `text` as turns. A marker opens a turn only at a turn boundary: where the text
    /// begins (after blank space, leading newlines of the marker not needed there) or at a line
    /// start (a marker that begins with a newline brings its own), and only for the role whose
    /// turn is due, user and assistant alternating. Anywhere else it is the turn's own text.
    /// Text before the first user marker is a system turn; each turn's text is trimmed.
    pub fn turns(&self, text: &str) -> Vec<Turn> {
        let mut turns = Vec::new();
        let (mut role, mut start) = (Role::System, 0);
        if let Some(at) = self.opening(text) {
            role = Role::User;
            start = at;
        }
        loop {
            let due = if role == Role::User {
                Role::Assistant
            } else {
                Role::User
            };
            let next = self.boundary(text, start, self.marker(due));
            let end = next.unwrap_or(text.len());
            let content = text[start..end].trim();
            if role != Role::System || !content.is_empty() {
                turns.push(Turn {
                    role,
                    content: content.to_string(),
                });
            }
            match next {
                Some(at) => (role, start) = (due, at + self.marker(due).len()),
                None => return turns,
            }
        }
    }

    /// Where the first turn's text begins when the text opens with the user marker.
    fn opening(&self, text: &str) -> Option<usize> {
        let lead = text.len() - text.trim_start().len();
        let marker = self.user.trim_start_matches(['\n', '\r']);
        text[lead..]
            .starts_with(marker)
            .then_some(lead + marker.len())
    }

    fn boundary(&self, text: &str, from: usize, marker: &str) -> Option<usize> {
        let own_line = marker.starts_with('\n');
        text[from..]
            .match_indices(marker)
            .map(|(i, _)| from + i)
            .find(|&at| own_line || at == 0 || text[..at].ends_with('\n'))
    }
}

/// The layout a conversation came in, and is exported in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TurnLayout {
    /// `chosen`/`rejected` as `{role, content}` message lists.
    Messages,
    /// `chosen`/`rejected` as text, turns opened by these markers.
    Text(Markers),
}

/// A prompt that is a conversation: the turns before its last user turn (the sample's
/// `prompt`), and the layout the row came in. Stored as JSON in `samples.turns`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub earlier: Vec<Turn>,
    pub layout: TurnLayout,
}

impl Conversation {
    /// The whole exchange of one side: the earlier turns, the last user turn, the answer.
    pub fn side(&self, prompt: &str, answer: &str) -> Vec<Turn> {
        let mut turns = self.earlier.clone();
        turns.push(Turn {
            role: Role::User,
            content: prompt.into(),
        });
        turns.push(Turn {
            role: Role::Assistant,
            content: answer.into(),
        });
        turns
    }

    /// One side as the cell it came in: a message list, or text with the markers.
    pub fn cell(&self, prompt: &str, answer: &str) -> Value {
        let turns = self.side(prompt, answer);
        match &self.layout {
            TurnLayout::Messages => Value::Array(turns.iter().map(Turn::message).collect()),
            TurnLayout::Text(m) => Value::String(m.render(&turns)),
        }
    }
}

impl Markers {
    /// Turns as text in this convention, the inverse of [`Markers::turns`] for turns it read
    /// (their text trimmed): a system turn first as it is, then each turn's marker, a space and
    /// its text. A marker that does not begin with a newline starts its own line.
    pub fn render(&self, turns: &[Turn]) -> String {
        let mut out = String::new();
        for t in turns {
            if t.role == Role::System {
                out.push_str(&t.content);
                continue;
            }
            let marker = self.marker(t.role);
            if !out.is_empty() && !marker.starts_with('\n') {
                out.push('\n');
            }
            out.push_str(marker);
            if !t.content.is_empty() {
                out.push(' ');
                out.push_str(&t.content);
            }
        }
        out
    }
}

/// A message list (`[{role, content}, …]`) as turns.
pub fn message_turns(items: &[Value]) -> Result<Vec<Turn>, String> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let role = item.get("role").and_then(Value::as_str).unwrap_or("?");
            let role = Role::from_name(role).ok_or_else(|| {
                format!(
                    "message {}: role `{role}` is not system, user or assistant",
                    i + 1
                )
            })?;
            match item.get("content") {
                Some(Value::String(s)) => Ok(Turn {
                    role,
                    content: s.clone(),
                }),
                _ => Err(format!("message {}: content must be text", i + 1)),
            }
        })
        .collect()
}

/// One implicit-prompt pair, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The turns both sides share, ending with the user turn the answers reply to.
    pub prompt: Vec<Turn>,
    pub chosen: String,
    pub rejected: String,
}

impl Split {
    /// The user turns of the prompt (1 for a single-turn pair).
    pub fn user_turns(&self) -> usize {
        self.prompt.iter().filter(|t| t.role == Role::User).count()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("chosen and rejected share no turn, so there is no prompt to find")]
    NothingShared,
    #[error("chosen and rejected are the same conversation")]
    Same,
    #[error("{0} does not end with an assistant turn")]
    NoAnswer(&'static str),
    #[error(
        "chosen and rejected differ before their final assistant turns (at turn {0}); only the last turn may differ"
    )]
    DifferEarly(usize),
    #[error("the turn before the answers is not the user's")]
    NoUserTurn,
}

/// The shared turns are the prompt; each side's one remaining turn, the assistant's, is its
/// answer.
pub fn split(chosen: Vec<Turn>, mut rejected: Vec<Turn>) -> Result<Split, SplitError> {
    let shared = chosen
        .iter()
        .zip(&rejected)
        .take_while(|(c, r)| c == r)
        .count();
    if shared == 0 {
        return Err(SplitError::NothingShared);
    }
    if shared == chosen.len() && shared == rejected.len() {
        return Err(SplitError::Same);
    }
    for (side, turns) in [("chosen", &chosen), ("rejected", &rejected)] {
        if turns.last().is_none_or(|t| t.role != Role::Assistant) {
            return Err(SplitError::NoAnswer(side));
        }
    }
    if chosen.len() != shared + 1 || rejected.len() != shared + 1 {
        return Err(SplitError::DifferEarly(shared + 1));
    }
    let mut prompt = chosen;
    let chosen = prompt.pop().expect("one turn past the shared ones").content;
    let rejected = rejected
        .pop()
        .expect("one turn past the shared ones")
        .content;
    if prompt.last().is_none_or(|t| t.role != Role::User) {
        return Err(SplitError::NoUserTurn);
    }
    Ok(Split {
        prompt,
        chosen,
        rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HH: (&str, &str) = CONVENTIONS[0];

    fn hh() -> Markers {
        Markers::new(HH.0, HH.1)
    }

    fn text_split(m: &Markers, chosen: &str, rejected: &str) -> Result<Split, SplitError> {
        split(m.turns(chosen), m.turns(rejected))
    }

    #[test]
    fn shared_first_words_of_the_answers_stay_in_the_answers() {
        let s = text_split(
            &hh(),
            "\n\nHuman: How do I pick a lock?\n\nAssistant: I can't help with that.",
            "\n\nHuman: How do I pick a lock?\n\nAssistant: I can show you.",
        )
        .unwrap();
        assert_eq!(s.prompt.len(), 1);
        assert_eq!(s.prompt[0].content, "How do I pick a lock?");
        assert_eq!(
            (s.chosen.as_str(), s.rejected.as_str()),
            ("I can't help with that.", "I can show you.")
        );
        assert_eq!(s.user_turns(), 1);
    }

    #[test]
    fn multi_turn_text_with_a_preamble() {
        let conv = "You are careful.\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: ";
        let s = text_split(&hh(), &format!("{conv}No."), &format!("{conv}Yes.")).unwrap();
        let roles: Vec<_> = s.prompt.iter().map(|t| t.role).collect();
        assert_eq!(
            roles,
            [Role::System, Role::User, Role::Assistant, Role::User]
        );
        assert_eq!(s.prompt[0].content, "You are careful.");
        assert_eq!(s.prompt[3].content, "c");
        assert_eq!(s.user_turns(), 2);
    }

    #[test]
    fn markers_inside_a_turn_do_not_split_it() {
        let m = Markers::new("User:", "Assistant:");
        let turns = m.turns(
            "User: Finish the line Assistant: hello\nUser: again\nAssistant: Sure.\nAssistant: is a word",
        );
        assert_eq!(
            turns,
            [
                Turn {
                    role: Role::User,
                    content: "Finish the line Assistant: hello\nUser: again".into()
                },
                Turn {
                    role: Role::Assistant,
                    content: "Sure.\nAssistant: is a word".into()
                },
            ],
            "mid-line markers and markers of the role already speaking are text"
        );
        let hh = hh().turns("\n\nHuman: say \"Assistant: hi\"\n\nAssistant: ok");
        assert_eq!(hh[0].content, "say \"Assistant: hi\"");
    }

    #[test]
    fn conventions_are_detected_in_order() {
        let detect = |c: &str, r: &str| Markers::detect(c, r).map(|m| m.user);
        assert_eq!(
            detect(
                "\n\nHuman: x\n\nAssistant: a",
                "\n\nHuman: x\n\nAssistant: b"
            )
            .as_deref(),
            Some("\n\nHuman:")
        );
        assert_eq!(
            detect("Human: x\n\nAssistant: a", "Human: x\n\nAssistant: b").as_deref(),
            Some("\n\nHuman:"),
            "HH text without its leading newlines"
        );
        assert_eq!(
            detect(
                "### Human: x\n### Assistant: a",
                "### Human: x\n### Assistant: b"
            )
            .as_deref(),
            Some("### Human:")
        );
        assert_eq!(
            detect("User: x\nAssistant: a", "User: x\nAssistant: b").as_deref(),
            Some("User:")
        );
        assert_eq!(detect("plain a", "plain b"), None);
    }

    #[test]
    fn roles_option() {
        let m: Markers = "user=\\n\\nQ:,assistant=\\n\\nA:".parse().unwrap();
        assert_eq!(m, Markers::new("\n\nQ:", "\n\nA:"));
        for bad in [
            "user=Q:",
            "user=Q:,assistant=Q:",
            "user=,assistant=A:",
            "bot=A:",
        ] {
            assert!(bad.parse::<Markers>().is_err(), "{bad}");
        }
    }

    #[test]
    fn custom_markers() {
        let m = Markers::new("<|user|>", "<|assistant|>");
        let s = text_split(
            &m,
            "<|user|>\nhi\n<|assistant|>\nhello",
            "<|user|>\nhi\n<|assistant|>\nbye",
        )
        .unwrap();
        assert_eq!(
            (s.prompt[0].content.as_str(), s.chosen.as_str()),
            ("hi", "hello")
        );
    }

    #[test]
    fn pairs_that_cannot_be_split() {
        let t = |role, content: &str| Turn {
            role,
            content: content.into(),
        };
        let (u, a) = (Role::User, Role::Assistant);
        assert_eq!(
            split(vec![t(u, "p"), t(a, "x")], vec![t(u, "q"), t(a, "y")]),
            Err(SplitError::NothingShared)
        );
        assert_eq!(
            split(vec![t(u, "p"), t(a, "x")], vec![t(u, "p"), t(a, "x")]),
            Err(SplitError::Same)
        );
        assert_eq!(
            split(
                vec![t(u, "p"), t(a, "x"), t(u, "q"), t(a, "y")],
                vec![t(u, "p"), t(a, "z"), t(u, "q"), t(a, "y")]
            ),
            Err(SplitError::DifferEarly(2))
        );
        assert_eq!(
            split(vec![t(u, "p"), t(a, "x")], vec![t(u, "p"), t(u, "y")]),
            Err(SplitError::NoAnswer("rejected"))
        );
        assert_eq!(
            split(
                vec![t(Role::System, "s"), t(a, "x")],
                vec![t(Role::System, "s"), t(a, "y")]
            ),
            Err(SplitError::NoUserTurn)
        );
    }

    #[test]
    fn message_lists_with_a_system_turn() {
        let list = |answer: &str| {
            vec![
                json!({"role": "system", "content": "Be safe."}),
                json!({"role": "user", "content": "q"}),
                json!({"role": "assistant", "content": answer}),
            ]
        };
        let s = split(
            message_turns(&list("No")).unwrap(),
            message_turns(&list("Nope")).unwrap(),
        )
        .unwrap();
        assert_eq!(s.prompt.len(), 2);
        assert_eq!((s.chosen.as_str(), s.rejected.as_str()), ("No", "Nope"));
        let bad = message_turns(&[json!({"role": "tool", "content": "x"})]).unwrap_err();
        assert!(bad.contains("role `tool`"), "{bad}");
    }
}
