-- A prompt that is a conversation: the turns before its last user turn (a system message,
-- earlier exchanges) and the layout the row came in, as JSON
-- ({"earlier": [{"role", "content"}, …], "layout": {"kind": "messages"} or
-- {"kind": "text", "user": MARKER, "assistant": MARKER}}). NULL for a single prompt. `prompt`
-- stays the last user turn, so every query that reads it keeps working.
ALTER TABLE samples ADD COLUMN turns TEXT CHECK (turns IS NULL OR json_valid(turns));

-- The language check looks at a conversation's earlier user and assistant turns one by one:
-- `turnN` is the turn's position (from 1) among the earlier turns. SQLite cannot change a CHECK
-- in place, so the table is rebuilt with its rows.
CREATE TABLE text_languages_turns (
    sample_id  INTEGER NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    field      TEXT NOT NULL CHECK (field IN ('prompt', 'chosen', 'rejected', 'response')
                                    OR (field GLOB 'turn[1-9]*' AND NOT substr(field, 5) GLOB '*[^0-9]*')),
    detected   TEXT,
    confidence REAL,
    PRIMARY KEY (sample_id, field)
) STRICT, WITHOUT ROWID;
INSERT INTO text_languages_turns SELECT sample_id, field, detected, confidence FROM text_languages;
DROP TABLE text_languages;
ALTER TABLE text_languages_turns RENAME TO text_languages;
