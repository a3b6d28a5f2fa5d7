//! Guard models as data: which guard to ask, how to ask it about a prompt or an answer, and how
//! to read its verdict. No inference here: the engine (llama.cpp or an OpenAI-compatible server)
//! takes the rendered [`Segment`]s and hands back the generated text for [`parse_answer`].
//!
//! The profile format is described in `assets/guards/llama-guard-3-8b.toml`; users add or
//! override guards by dropping such files in a folder given to [`load_dir`].

mod parse;
mod profile;

#[cfg(test)]
mod golden_tests;

pub use parse::{Parsed, Verdict, parse_answer};
pub use profile::{
    Category, Check, Format, Keys, ParseSpec, Profile, ProfileError, Profiles, Role, RoleKeys,
    Score, Segment, join_segments, load_builtin, load_dir,
};
