-- The OpenAI Batch API batches of a guard run (`--openai-batch`). A batch is written down as soon
-- as it is created, before it is polled: a run killed while the provider works on it resumes by
-- polling the same batch, instead of paying for the same checks twice.
CREATE TABLE guard_batches (
    run_id       INTEGER NOT NULL REFERENCES guard_runs (id) ON DELETE CASCADE,
    -- Of the uploaded JSONL of requests: the same checks sent the same way are the same batch.
    input_sha256 TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    requests     INTEGER NOT NULL,
    -- The provider's last reported status (validating, in_progress, completed, failed, …).
    status       TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, input_sha256)
) STRICT;
