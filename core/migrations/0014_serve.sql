-- Serving the review to browsers (`verdikt serve`), and where every answer came from.
-- (Numbered after the last migration on this branch; migrations run by their place in the
-- list in store.rs, so a merge puts this one last.)

-- Where an answer came from: `cli`, `window`, `pack` or `session:<id>` (a browser session of
-- `serve_sessions`). NULL for answers stored before sources were kept.
ALTER TABLE annotations ADD COLUMN source TEXT;
ALTER TABLE final_answers ADD COLUMN source TEXT;

-- The id the sender made for an answer (a browser's UUID): a request sent again after a
-- dropped connection finds its answer stored and stores nothing more.
ALTER TABLE annotations ADD COLUMN answer_id TEXT CHECK (answer_id IS NULL OR length(answer_id) BETWEEN 1 AND 100);
ALTER TABLE final_answers ADD COLUMN answer_id TEXT CHECK (answer_id IS NULL OR length(answer_id) BETWEEN 1 AND 100);
CREATE UNIQUE INDEX annotations_by_answer_id ON annotations (answer_id) WHERE answer_id IS NOT NULL;
CREATE UNIQUE INDEX final_answers_by_answer_id ON final_answers (answer_id) WHERE answer_id IS NOT NULL;

-- Single-use invites to a reviewer's browser session. Only the SHA-256 of the code is kept.
CREATE TABLE serve_invites (
    id          INTEGER PRIMARY KEY,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers (id) ON DELETE CASCADE,
    code_sha256 TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
) STRICT;

-- A browser's session, bound to one reviewer. Only the SHA-256 of the token is kept.
CREATE TABLE serve_sessions (
    id           INTEGER PRIMARY KEY,
    reviewer_id  INTEGER NOT NULL REFERENCES reviewers (id) ON DELETE CASCADE,
    invite_id    INTEGER NOT NULL REFERENCES serve_invites (id) ON DELETE CASCADE,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
) STRICT;
CREATE INDEX serve_sessions_by_reviewer ON serve_sessions (reviewer_id);
CREATE INDEX serve_invites_by_reviewer ON serve_invites (reviewer_id);
