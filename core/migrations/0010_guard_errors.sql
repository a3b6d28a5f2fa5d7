-- A check a guard server could not answer (after its retries) is stored as an `error` verdict
-- with the reason, so the run goes on and `--resume` retries exactly those. SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt with the same columns plus `error`.
CREATE TABLE verdicts_new (
    run_id          INTEGER NOT NULL REFERENCES guard_runs (id) ON DELETE CASCADE,
    sample_id       INTEGER NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    field           TEXT NOT NULL CHECK (field IN ('prompt', 'chosen', 'rejected', 'response')),
    verdict         TEXT NOT NULL CHECK (verdict IN ('safe', 'unsafe', 'controversial', 'unparsed', 'error')),
    categories      TEXT NOT NULL DEFAULT '[]',
    p_unsafe        REAL,
    refusal         INTEGER,
    raw_answer      TEXT NOT NULL,
    truncated       INTEGER NOT NULL DEFAULT 0,
    latency_ms      REAL NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    p_controversial REAL,
    -- Why an `error` verdict has no answer; NULL for every other verdict.
    error           TEXT CHECK ((verdict = 'error') = (error IS NOT NULL)),
    PRIMARY KEY (run_id, sample_id, field)
) STRICT, WITHOUT ROWID;
INSERT INTO verdicts_new (run_id, sample_id, field, verdict, categories, p_unsafe, refusal, raw_answer,
                          truncated, latency_ms, created_at, p_controversial)
    SELECT run_id, sample_id, field, verdict, categories, p_unsafe, refusal, raw_answer,
           truncated, latency_ms, created_at, p_controversial
    FROM verdicts;
DROP TABLE verdicts;
ALTER TABLE verdicts_new RENAME TO verdicts;
CREATE INDEX verdicts_by_sample ON verdicts (sample_id);
