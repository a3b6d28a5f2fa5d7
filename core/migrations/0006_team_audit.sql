-- Team audit: adjudicators, final answers, time per item, and the `reviewers_disagree` reason.

-- An adjudicator records final answers for the languages they read.
ALTER TABLE reviewers ADD COLUMN adjudicator INTEGER NOT NULL DEFAULT 0 CHECK (adjudicator IN (0, 1));

-- Seconds from the sample being shown to the answer being submitted (NULL: not timed, e.g. the
-- CLI or an undo).
ALTER TABLE annotations ADD COLUMN seconds REAL CHECK (seconds IS NULL OR seconds >= 0);

-- An adjudicator's final answer where reviewers disagree. Append-only like answers: the current
-- final answer of a sample is its highest version, whoever gave it.
CREATE TABLE final_answers (
    id             INTEGER PRIMARY KEY,
    sample_id      INTEGER NOT NULL REFERENCES samples (id) ON DELETE RESTRICT,
    adjudicator_id INTEGER NOT NULL REFERENCES reviewers (id) ON DELETE RESTRICT,
    version        INTEGER NOT NULL,
    q1             TEXT NOT NULL CHECK (q1 IN ('yes', 'no')),
    q2             TEXT NOT NULL CHECK (q2 IN ('yes', 'no')),
    q3             TEXT NOT NULL CHECK (q3 IN ('yes', 'no', 'na')),
    verdicts       TEXT NOT NULL DEFAULT '{}',
    note           TEXT NOT NULL DEFAULT '',
    exclude        INTEGER NOT NULL DEFAULT 0,
    seconds        REAL CHECK (seconds IS NULL OR seconds >= 0),
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (sample_id, version)
) STRICT;
CREATE TRIGGER final_answers_no_update BEFORE UPDATE ON final_answers
BEGIN SELECT RAISE(ABORT, 'final answers are append-only'); END;
CREATE TRIGGER final_answers_no_delete BEFORE DELETE ON final_answers
BEGIN SELECT RAISE(ABORT, 'final answers are append-only'); END;

CREATE VIEW current_final_answers AS
SELECT f.*
FROM final_answers AS f
WHERE f.version = (SELECT max(g.version) FROM final_answers AS g WHERE g.sample_id = f.sample_id);

-- Reasons are checked against `triage_priority` instead of a fixed CHECK list, so adding a
-- reason is one INSERT there. The table is rebuilt (SQLite cannot drop a CHECK); its queue
-- triggers go with it and are recreated unchanged.
INSERT INTO triage_priority (reason, priority) VALUES ('reviewers_disagree', 8);
DROP TRIGGER triage_queue_add;
DROP TRIGGER triage_queue_remove;
CREATE TABLE triage_reasons_new (
    sample_id INTEGER NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    reason    TEXT NOT NULL REFERENCES triage_priority (reason),
    detail    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (sample_id, reason)
) STRICT, WITHOUT ROWID;
INSERT INTO triage_reasons_new (sample_id, reason, detail)
SELECT sample_id, reason, detail FROM triage_reasons;
DROP TABLE triage_reasons;
ALTER TABLE triage_reasons_new RENAME TO triage_reasons;
CREATE INDEX triage_by_reason ON triage_reasons (reason, sample_id);

CREATE TRIGGER triage_queue_add AFTER INSERT ON triage_reasons
BEGIN
    INSERT INTO triage_queue (sample_id, language, dataset_id, priority)
    SELECT s.id, s.language, s.dataset_id, p.priority
    FROM samples s, triage_priority p WHERE s.id = new.sample_id AND p.reason = new.reason
    ON CONFLICT (sample_id) DO UPDATE SET priority = min(priority, excluded.priority);
END;

CREATE TRIGGER triage_queue_remove AFTER DELETE ON triage_reasons
BEGIN
    DELETE FROM triage_queue WHERE sample_id = old.sample_id
        AND NOT EXISTS (SELECT 1 FROM triage_reasons r WHERE r.sample_id = old.sample_id);
    UPDATE triage_queue SET priority = (
        SELECT min(p.priority) FROM triage_reasons r JOIN triage_priority p ON p.reason = r.reason
        WHERE r.sample_id = old.sample_id)
    WHERE sample_id = old.sample_id;
END;
