-- Verdikt project schema, version 1: the whole workflow, import to export.
-- Timestamps are UTC RFC 3339 text; JSON columns hold UTF-8 JSON text.

-- Project-wide settings (project id, question wording, which runs are "the guards").
CREATE TABLE project (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
INSERT INTO project (key, value) VALUES ('project_id', lower(hex(randomblob(16))));

CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    format      TEXT NOT NULL,
    sources     TEXT NOT NULL,          -- JSON list of the imported paths
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- One DPO triple (prompt, chosen, rejected), a prompt alone, or a prompt with a model's response.
-- Text columns hold the text exactly as imported.
CREATE TABLE samples (
    id         INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    ext_id     TEXT NOT NULL,           -- the id as imported, or a content-derived one
    language   TEXT NOT NULL,           -- normalised BCP-47 code
    category   TEXT CHECK (category IS NULL OR category GLOB 'S[1-9]' OR category GLOB 'S1[0-4]'),
    style      TEXT,
    split      TEXT,
    prompt     TEXT NOT NULL,
    chosen     TEXT,
    rejected   TEXT,
    response   TEXT,                    -- a model's generation, for ASR measurement
    generator  TEXT,                    -- the model or config that wrote `response`
    group_key  TEXT,                    -- links the per-language samples of one wide-table row
    metadata   TEXT NOT NULL DEFAULT '{}',
    CHECK ((chosen IS NULL) = (rejected IS NULL)),
    UNIQUE (dataset_id, ext_id)
) STRICT;
CREATE INDEX samples_by_language ON samples (language, dataset_id);

CREATE TABLE guard_runs (
    id            INTEGER PRIMARY KEY,
    profile       TEXT NOT NULL,
    backend       TEXT NOT NULL CHECK (backend IN ('local', 'server')),
    model_path    TEXT,
    model_size    INTEGER,
    model_sha256  TEXT,
    server_url    TEXT,
    server_model  TEXT,
    params        TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    texts_total   INTEGER NOT NULL DEFAULT 0,
    busy_seconds  REAL NOT NULL DEFAULT 0,
    error         TEXT,
    started_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at   TEXT
) STRICT;

-- One guard's verdict on one text of a sample; written as soon as it is computed.
CREATE TABLE verdicts (
    run_id     INTEGER NOT NULL REFERENCES guard_runs (id) ON DELETE CASCADE,
    sample_id  INTEGER NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    field      TEXT NOT NULL CHECK (field IN ('prompt', 'chosen', 'rejected', 'response')),
    verdict    TEXT NOT NULL CHECK (verdict IN ('safe', 'unsafe', 'controversial', 'unparsed')),
    categories TEXT NOT NULL DEFAULT '[]',
    p_unsafe   REAL,
    refusal    INTEGER,
    raw_answer TEXT NOT NULL,
    truncated  INTEGER NOT NULL DEFAULT 0,
    latency_ms REAL NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, sample_id, field)
) STRICT, WITHOUT ROWID;
CREATE INDEX verdicts_by_sample ON verdicts (sample_id);

-- Detected language of each text (NULL detected = unsure, e.g. too short).
CREATE TABLE text_languages (
    sample_id  INTEGER NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    field      TEXT NOT NULL CHECK (field IN ('prompt', 'chosen', 'rejected', 'response')),
    detected   TEXT,
    confidence REAL,
    PRIMARY KEY (sample_id, field)
) STRICT, WITHOUT ROWID;

CREATE TABLE reviewers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    languages  TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Why a sample needs a human; recomputed by triage, never touching answers.
CREATE TABLE triage_reasons (
    sample_id INTEGER NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    reason    TEXT NOT NULL CHECK (reason IN ('guard_disagreement', 'guard_vs_expected', 'uncertain',
                  'language_mismatch', 'degenerate_pair', 'not_refusal', 'audit_sample')),
    detail    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (sample_id, reason)
) STRICT, WITHOUT ROWID;
CREATE INDEX triage_by_reason ON triage_reasons (reason, sample_id);

-- Reviewers' answers. Append-only: a change is a new version, so history is never lost;
-- the current answer is the highest version per (sample, reviewer).
CREATE TABLE annotations (
    id          INTEGER PRIMARY KEY,
    sample_id   INTEGER NOT NULL REFERENCES samples (id) ON DELETE RESTRICT,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers (id) ON DELETE RESTRICT,
    version     INTEGER NOT NULL,
    q1          TEXT CHECK (q1 IN ('yes', 'no')),
    q2          TEXT CHECK (q2 IN ('yes', 'no')),
    q3          TEXT CHECK (q3 IN ('yes', 'no', 'na')),
    verdicts    TEXT NOT NULL DEFAULT '{}',  -- reviewer's own verdict per disputed text
    note        TEXT NOT NULL DEFAULT '',
    exclude     INTEGER NOT NULL DEFAULT 0,
    origin      TEXT NOT NULL DEFAULT 'local', -- 'local' or the review pack it came from
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (sample_id, reviewer_id, version)
) STRICT;
CREATE TRIGGER annotations_no_update BEFORE UPDATE ON annotations
BEGIN SELECT RAISE(ABORT, 'annotations are append-only'); END;
CREATE TRIGGER annotations_no_delete BEFORE DELETE ON annotations
BEGIN SELECT RAISE(ABORT, 'annotations are append-only'); END;
