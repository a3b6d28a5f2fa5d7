//! Guard pre-labelling. Profiles are data (which guard, how to ask it about a prompt or an
//! answer, how to read its verdict); `llama` runs a GGUF model in-process on the rendered
//! [`Segment`]s, `server` sends them as token ids to an OpenAI-compatible server; `run` turns a guard run into a resumable job whose verdicts land in the store.
//!
//! The profile format is described in `assets/guards/llama-guard-3-8b.toml`; users add or
//! override guards by dropping such files in a folder given to [`load_dir`].
//!
//! The parts:
//! - `profile.rs`/`parse.rs`: guard profiles as data (`assets/guards/*.toml`), rendered into
//!   template and data segments (a conversation's earlier turns through the profile's
//!   `[conversation]` form at `{turns}`, each turn's text data; `conversation_tests.rs`), answers
//!   read back
//! - `tokens.rs`: a check's ids on any tokenizer — template split at the vocabulary's special
//!   tokens as llama.cpp does, every run of ordinary text (template and data together) tokenized as
//!   one, user-defined token texts in data cut apart, so ids equal the whole-string reference and
//!   data never yields a special id; whitespace beside a token that strips it (`lstrip`/`rstrip`,
//!   llama.cpp's per-family attributes) dropped as the reference drops it (tested against
//!   `llama-tokenize` on llama.cpp's vocab-only GGUFs: the built-in profiles on Llama 3, Qwen2 and
//!   SentencePiece, and every one with a chat template in its own turn markers, `parity_tests.rs`)
//! - `llama.rs`: the model on its own thread, each role's template kept computed across waves,
//!   waves of checks as a prefix tree below them, one KV stream per check (a shared prefix copied
//!   from the stream that computed it; decodes cut on the check's own ubatch grid and started a few
//!   tokens early where needed, so llama.cpp's CPU kernels — repacked weights taking rows four at a
//!   time, attention tiled from 64 tokens — treat every row as in the check computed alone and its
//!   prompt logits match it bit for bit, on Q4_1 as on repacked K-quants; answers generated side by
//!   side; a triple's answers never split), P(unsafe) from the first answer token, answers decoded
//!   from their joined bytes
//! - `run.rs`: runs as resumable jobs in the store (a check that failed for good is an `error`
//!   verdict with its reason, migration 0010, and is what a later invocation checks again), refused
//!   when the model lacks the profile's special tokens, identified by model, profile and a
//!   fingerprint of the rendered profile and tokenizer
//! - `server.rs`: the same checks against OpenAI-compatible `/v1/completions` servers, prompts sent
//!   as token ids from a `tokenizer.json` (data encoded with special tokens off), or against
//!   `/v1/chat/completions` as the profile's chat form (a system and a user message; the provider
//!   renders its template, shortening on the tokenizer's counts or on UTF-8 bytes without one),
//!   P(unsafe) from logprobs in either layout (`content[].top_logprobs[]` of llama-server and
//!   OpenAI chat, by id or by text; `tokens`/`top_logprobs` of vLLM and SGLang, vLLM's `token_id:N`
//!   read as ids), an API key from the environment and extra headers (values hidden from `Debug`
//!   and scrubbed from error text), and before the first check each server's context (`/props`,
//!   `/v1/models`) and tokenizer (`/tokenize` on a test text
//! - `usage.prompt_tokens` of every answer) checked
//! - `batch.rs`: `--openai-batch` — a wave's request bodies as OpenAI Batch API JSONL (cut at
//!   50,000 requests and 190 MB), uploaded, polled, read back with the server backend's reader;
//!   each batch id journalled in `guard_batches` (migration 0011) before its first poll, keyed by
//!   its input's hash, so a killed run resumes by polling the same batch
//! - `retry.rs`: which failures are tried again (408/429/5xx/connections), which refuse the request
//!   (stored as an `error` verdict) and which refuse us (401/403/404), exponential backoff with
//!   jitter honouring `Retry-After`/`retry-after-ms` within a bound on tries and total wait
//! - `route.rs`: a wave's triples over several servers by rendezvous hashing, per-server workers as
//!   many as its concurrency, idle servers taking whole unstarted triples, a circuit breaker that
//!   takes a failing server out and moves its unfinished checks to each triple's next server (an
//!   answered check is never resent, an unanswered one never dropped), texts/s per server
//! - `gguf.rs`: a `tokenizer.json` from a GGUF's own vocabulary, with llama.cpp's per-family strip
//!   attributes (byte-level BPE; SentencePiece as BPE with merges ranked by the vocabulary's
//!   scores, as llama.cpp merges)
//! - `catalog.rs`: known guard GGUFs and resumable, checksummed downloads (`assets/models.toml`)
//! - `truncate.rs`: middle-out shortening at grapheme boundaries
//! - `device.rs`: the GPU backends compiled in (features `cuda`/`vulkan`, or those of llama.cpp's
//!   shared libraries found at run time with `dynamic-link`), the devices llama.cpp
//!   sees, and where a run's layers go (`--gpu-layers`: one GPU, or the CPU with an empty device
//!   list so llama.cpp sends nothing to a GPU), recorded per run

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
