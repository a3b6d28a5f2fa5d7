//! OpenAI Batch API mode (`--openai-batch`) for paid judges: half the price, answered within a
//! day. A wave's checks are written as one JSONL file of the very requests the server backend
//! would POST, uploaded, turned into a batch (at most 50,000 requests and 190 MB each), polled
//! until it ends, and its output lines read back as the checks' outcomes with the same reader.
//!
//! The batch id is written to the project (`guard_batches`) as soon as the batch exists and
//! before it is polled, keyed by the hash of its input: a run killed while the provider works
//! resumes by polling that batch, instead of paying for the same checks twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::llama::{CheckOutcome, CheckRequest, EngineError, Scoring, WaveStats};
use super::retry::GaveUp;
use super::route::Checked;
use super::server::{ScoreTokens, ServerEngine, WaveOutcomes};
use crate::store::Store;

/// How batches are cut and watched.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchOptions {
    /// Seconds between two looks at a running batch.
    pub poll: Duration,
    /// The provider's limits on one batch.
    pub max_requests: usize,
    pub max_bytes: usize,
}

impl Default for BatchOptions {
    fn default() -> BatchOptions {
        BatchOptions {
            poll: Duration::from_secs(30),
            // OpenAI: 50,000 requests and 200 MB per input file; the bytes keep a margin.
            max_requests: 50_000,
            max_bytes: 190 << 20,
        }
    }
}

/// What a finished batch handed over.
struct Answered {
    /// Each request's answer by `custom_id`: its body, or why it has none.
    by_id: HashMap<String, Result<Value, String>>,
    /// Why the batch failed as a whole, when it answered nothing.
    failed: Option<String>,
}

/// Statuses after which a batch changes no more.
const FINAL: [&str; 4] = ["completed", "failed", "expired", "cancelled"];

/// A server engine whose checks travel as batches, with the run's journal of them.
pub struct BatchEngine {
    server: ServerEngine,
    options: BatchOptions,
    project: PathBuf,
    run_id: i64,
}

impl BatchEngine {
    pub fn new(server: ServerEngine, options: BatchOptions, project: &Path, run_id: i64) -> Self {
        BatchEngine {
            server,
            options,
            project: project.to_path_buf(),
            run_id,
        }
    }

    /// The wave's checks as batches. `keys[i]` (the sample) names check `i` in its request's
    /// `custom_id`. A check the batch did not answer is `Failed` with the provider's reason;
    /// all are `NotRun` when cancelled (the batch goes on and a resume polls it again).
    pub fn evaluate(
        &self,
        checks: &[CheckRequest],
        keys: &[u64],
        scoring: &Scoring,
        cancel: Arc<AtomicBool>,
    ) -> (WaveOutcomes, Option<EngineError>) {
        let score = ScoreTokens::of(scoring, self.server.tokenizer());
        let mut outcomes: Vec<Checked<CheckOutcome>> = vec![Checked::NotRun; checks.len()];
        let mut sent = HashMap::new();
        let mut lines: Vec<(usize, Vec<u8>)> = Vec::new();
        for (i, check) in checks.iter().enumerate() {
            match self.server.request_body(check) {
                Ok(request) => {
                    let line = json!({
                        "custom_id": format!("{}-{i}", keys[i]),
                        "method": "POST",
                        "url": self.server.options().api.path(),
                        "body": request.body,
                    });
                    lines.push((i, format!("{line}\n").into_bytes()));
                    sent.insert(i, request);
                }
                Err(gave_up) => outcomes[i] = Checked::Failed(gave_up.reason),
            }
        }
        let sizes: Vec<usize> = lines.iter().map(|(_, l)| l.len()).collect();
        let mut stats = WaveStats::default();
        let journal = match Store::open(&self.project) {
            Ok(journal) => journal,
            Err(e) => return ((outcomes, stats), Some(self.fault(e.to_string()))),
        };
        for range in cut(&sizes, self.options.max_requests, self.options.max_bytes) {
            let part = &lines[range];
            let input: Vec<u8> = part.iter().flat_map(|(_, l)| l.iter().copied()).collect();
            let answered = match self.answers(&journal, &input, part.len(), &cancel) {
                Ok(answered) => answered,
                Err(e) => return ((outcomes, stats), Some(e)),
            };
            for (i, _) in part {
                let custom_id = format!("{}-{i}", keys[*i]);
                outcomes[*i] = match answered.by_id.get(&custom_id) {
                    Some(Ok(reply)) => {
                        match self
                            .server
                            .read_reply(reply, &checks[*i], &score, &sent[i], 1)
                        {
                            Ok(outcome) => {
                                outcome.add_server_cost(&mut stats);
                                Checked::Done(outcome)
                            }
                            Err(gave_up) => Checked::Failed(gave_up.reason),
                        }
                    }
                    Some(Err(reason)) => Checked::Failed(reason.clone()),
                    None => Checked::Failed(answered.failed.clone().unwrap_or_else(|| {
                        "the batch ended without an answer for this check".into()
                    })),
                };
            }
        }
        ((outcomes, stats), None)
    }

    /// What the batch of `input` answered. Submits `input` as a batch unless the journal knows
    /// one of this run with the same input still usable.
    fn answers(
        &self,
        journal: &Store,
        input: &[u8],
        requests: usize,
        cancel: &AtomicBool,
    ) -> Result<Answered, EngineError> {
        let sha = super::catalog::hex(&Sha256::digest(input));
        let known: Option<String> = journal
            .conn()
            .query_row(
                "SELECT batch_id FROM guard_batches WHERE run_id = ?1 AND input_sha256 = ?2
                   AND status NOT IN ('failed', 'expired', 'cancelled')",
                params![self.run_id, sha],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.fault(e.to_string()))?;
        let batch_id = match known {
            Some(id) => {
                log::info!("resuming OpenAI batch {id} ({requests} requests)");
                id
            }
            None => {
                let file = self.call("/v1/files", Some(multipart(&sha, input)))?;
                let file_id = self.string(&file, "id")?;
                let create = json!({
                    "input_file_id": file_id,
                    "endpoint": self.server.options().api.path(),
                    "completion_window": "24h",
                });
                let batch = self.call(
                    "/v1/batches",
                    Some(("application/json".into(), create.to_string().into_bytes())),
                )?;
                let id = self.string(&batch, "id")?;
                // Written before the first poll: from here on a resume polls, never re-sends.
                journal
                    .conn()
                    .execute(
                        "INSERT OR REPLACE INTO guard_batches (run_id, input_sha256, batch_id, requests, status)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![self.run_id, sha, id, requests as i64, batch["status"].as_str().unwrap_or("validating")],
                    )
                    .map_err(|e| self.fault(e.to_string()))?;
                log::info!("created OpenAI batch {id} ({requests} requests)");
                id
            }
        };
        let batch = loop {
            let batch = self.call(&format!("/v1/batches/{batch_id}"), None)?;
            let status = batch["status"].as_str().unwrap_or("").to_string();
            journal
                .conn()
                .execute(
                    "UPDATE guard_batches SET status = ?1 WHERE run_id = ?2 AND input_sha256 = ?3",
                    params![status, self.run_id, sha],
                )
                .map_err(|e| self.fault(e.to_string()))?;
            if FINAL.contains(&status.as_str()) {
                break batch;
            }
            let counts = &batch["request_counts"];
            log::info!(
                "OpenAI batch {batch_id}: {status}, {} of {} answered",
                counts["completed"].as_u64().unwrap_or(0),
                counts["total"].as_u64().unwrap_or(requests as u64)
            );
            let waited = std::time::Instant::now();
            while waited.elapsed() < self.options.poll {
                if cancel.load(Ordering::Relaxed) {
                    return Err(EngineError::Cancelled);
                }
                std::thread::sleep(Duration::from_millis(50).min(self.options.poll));
            }
        };
        let mut answers = HashMap::new();
        // An expired or cancelled batch still hands over what it finished.
        for key in ["output_file_id", "error_file_id"] {
            let Some(file) = batch[key].as_str().filter(|f| !f.is_empty()) else {
                continue;
            };
            let text = self.fetch(&format!("/v1/files/{file}/content"))?;
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let line: Value = serde_json::from_str(line).map_err(|e| {
                    self.fault(format!(
                        "line {} of the batch's {key} file is not JSON: {e}",
                        n + 1
                    ))
                })?;
                let Some(custom_id) = line["custom_id"].as_str() else {
                    continue;
                };
                answers.insert(custom_id.to_string(), answer_of(&line));
            }
        }
        let failed = (answers.is_empty() && batch["status"] != "completed").then(|| {
            let why = batch["errors"]["data"][0]["message"]
                .as_str()
                .unwrap_or("no reason given");
            let status = batch["status"].as_str().unwrap_or("");
            format!("the batch {batch_id} {status}: {why}")
        });
        Ok(Answered {
            by_id: answers,
            failed,
        })
    }

    /// A JSON call to the provider, with the run's retries.
    fn call(&self, path: &str, body: Option<(String, Vec<u8>)>) -> Result<Value, EngineError> {
        let text = self.with_retries(path, body)?;
        serde_json::from_str(&text)
            .map_err(|e| self.fault(format!("{path}: the answer is not JSON ({e})")))
    }

    fn fetch(&self, path: &str) -> Result<String, EngineError> {
        self.with_retries(path, None)
    }

    fn with_retries(
        &self,
        path: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<String, EngineError> {
        let url = format!("{}{path}", self.base());
        let never = AtomicBool::new(false);
        self.server
            .options()
            .retry
            .run(&never, || {
                self.server
                    .exchange(&url, body.as_ref().map(|(t, b)| (t.as_str(), b.as_slice())))
            })
            .map_err(|GaveUp { reason, .. }| self.fault(format!("{path}: {reason}")))
    }

    /// `value[key]` as text, or an error saying the provider's answer lacks it.
    fn string(&self, value: &Value, key: &str) -> Result<String, EngineError> {
        value[key]
            .as_str()
            .map(String::from)
            .ok_or_else(|| self.fault(format!("no `{key}` in the provider's answer {value}")))
    }

    fn base(&self) -> &str {
        &self.server.options().servers[0].url
    }

    fn fault(&self, message: String) -> EngineError {
        EngineError::Server {
            url: self.base().to_string(),
            message,
        }
    }
}

/// A batch output line's answer: the response body on a 2xx, else the provider's reason.
fn answer_of(line: &Value) -> Result<Value, String> {
    let response = &line["response"];
    let status = response["status_code"].as_u64().unwrap_or(0);
    if (200..300).contains(&status) && line["error"].is_null() {
        return Ok(response["body"].clone());
    }
    let message = response["body"]["error"]["message"]
        .as_str()
        .or_else(|| line["error"]["message"].as_str())
        .unwrap_or("no reason given");
    Err(format!("the batch answered HTTP {status}: {message}"))
}

/// The `multipart/form-data` upload of an input file with `purpose=batch`. The boundary is
/// derived from the content's hash, so the content cannot contain it by chance.
fn multipart(sha: &str, input: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("verdikt-{}", &sha[..32]);
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"verdikt-batch.jsonl\"\r\n\
         Content-Type: application/jsonl\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(input);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Consecutive ranges of items with at most `max_items` items and `max_bytes` bytes each (an
/// item larger than `max_bytes` alone is a range of its own, for the provider to refuse).
fn cut(sizes: &[usize], max_items: usize, max_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start == max_items.max(1) || bytes + size > max_bytes) {
            ranges.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        ranges.push(start..sizes.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_to_the_providers_limits() {
        let sizes = [5, 5, 5, 20, 1, 1, 1, 1];
        let ranges = cut(&sizes, 3, 12);
        assert_eq!(ranges, [0..2, 2..3, 3..4, 4..7, 7..8]);
        for r in &ranges {
            assert!(r.len() <= 3);
            assert!(sizes[r.clone()].iter().sum::<usize>() <= 12 || r.len() == 1);
        }
        assert_eq!(cut(&[1; 120_000], 50_000, usize::MAX).len(), 3);
        assert!(cut(&[], 3, 12).is_empty());
    }

    #[test]
    fn batch_output_lines_give_answers_or_reasons() {
        let ok = json!({"custom_id": "1-0", "response": {"status_code": 200, "body": {"choices": []}}, "error": null});
        assert_eq!(answer_of(&ok), Ok(json!({"choices": []})));
        let refused = json!({"custom_id": "1-1", "response": {"status_code": 400, "body": {"error": {"message": "bad"}}}});
        assert_eq!(
            answer_of(&refused),
            Err("the batch answered HTTP 400: bad".into())
        );
        let expired = json!({"custom_id": "1-2", "response": null, "error": {"code": "batch_expired", "message": "expired"}});
        assert_eq!(
            answer_of(&expired),
            Err("the batch answered HTTP 0: expired".into())
        );
    }

    #[test]
    fn the_upload_is_multipart_with_the_purpose_first() {
        let (content_type, body) = multipart(&"ab".repeat(32), b"{\"x\":1}\n");
        let boundary = content_type.split("boundary=").nth(1).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
        let purpose = text.find("name=\"purpose\"\r\n\r\nbatch\r\n").unwrap();
        assert!(purpose < text.find("{\"x\":1}\n").unwrap());
    }
}
