-- Triage: the review queue as one row per sample with a reason, kept in step with
-- `triage_reasons` by triggers, so the queue's index answers "next item" without grouping
-- the reasons on every call, whoever writes the reasons (triage, audit sample, a merged pack).

-- The queue's order: lower first. Hard evidence of a broken sample before doubt, doubt before
-- the random audit draw.
CREATE TABLE triage_priority (
    reason   TEXT PRIMARY KEY NOT NULL,
    priority INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO triage_priority (reason, priority) VALUES
    ('degenerate_pair', 1), ('guard_vs_expected', 2), ('guard_disagreement', 3),
    ('not_refusal', 4), ('language_mismatch', 5), ('uncertain', 6), ('audit_sample', 7);

CREATE TABLE triage_queue (
    sample_id  INTEGER PRIMARY KEY REFERENCES samples (id) ON DELETE CASCADE,
    language   TEXT NOT NULL,
    dataset_id INTEGER NOT NULL,
    priority   INTEGER NOT NULL
) STRICT;
CREATE INDEX triage_queue_order ON triage_queue (language, priority, sample_id);

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

