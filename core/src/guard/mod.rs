//! Guard pre-labelling. Profiles are data (which guard, how to ask it about a prompt or an
//! answer, how to read its verdict); `llama` runs a GGUF model in-process on the rendered
//! [`Segment`]s, `server` sends them as token ids to an OpenAI-compatible server; `run` turns a guard run into a resumable job whose verdicts land in the store.
//!
//! The profile format is described in `assets/guards/llama-guard-3-8b.toml`; users add or
//! override guards by dropping such files in a folder given to [`load_dir`].

pub mod batch;
pub mod catalog;
pub mod device;
pub mod gguf;
pub mod llama;
mod parse;
mod profile;
pub mod retry;
pub mod route;
pub mod run;
pub mod server;
pub mod tokens;
mod truncate;

#[cfg(test)]
mod conversation_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod parity_tests;

pub use parse::{Parsed, Verdict, VerdictLine, parse_answer};
pub use profile::{
    Category, ChatCheck, ChatForm, Check, Format, Keys, ParseSpec, Profile, ProfileError, Profiles,
    Reading, Role, RoleKeys, Score, Segment, join_segments, load_builtin, load_dir, load_installed,
};
pub use truncate::{MARKER as TRUNCATION_MARKER, shorten_middle};
