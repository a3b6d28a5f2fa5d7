-- The queue knows how many answers each sample has and needs, so a reviewer's "next" is one
-- walk of an index over the samples still open, instead of a walk over every queued sample
-- that counts each one's answers (under 50 served reviewers that walk grew with every answer
-- and was half the server's time).
--
-- `needed` follows the team settings (`config.answers-per-sample`, `config.overlap-share`,
-- which the app has validated): the overlap share of samples, drawn by a multiplicative hash of
-- the id so it never changes under a reviewer, needs that many answers; the rest need one.
-- `answers` counts the distinct reviewers who answered (annotations are append-only).

CREATE VIEW sample_needs AS
SELECT s.id AS sample_id,
       CASE WHEN (s.id * 2654435761) % 10000 < CAST(round(o.share * 10000) AS INTEGER)
            THEN o.answers ELSE 1 END AS needed
FROM samples s,
     (SELECT coalesce((SELECT CAST(value AS INTEGER) FROM project
                       WHERE key = 'config.answers-per-sample'), 1) AS answers,
             coalesce((SELECT CAST(value AS REAL) FROM project
                       WHERE key = 'config.overlap-share'), 1.0) AS share) o;

ALTER TABLE triage_queue ADD COLUMN answers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE triage_queue ADD COLUMN needed INTEGER NOT NULL DEFAULT 1;

UPDATE triage_queue SET
    answers = (SELECT count(DISTINCT a.reviewer_id) FROM annotations a
               WHERE a.sample_id = triage_queue.sample_id),
    needed = (SELECT n.needed FROM sample_needs n WHERE n.sample_id = triage_queue.sample_id);

-- The samples still open, in queue order per language.
CREATE INDEX triage_queue_open ON triage_queue (language, priority, sample_id)
    WHERE answers < needed;

DROP TRIGGER triage_queue_add;
CREATE TRIGGER triage_queue_add AFTER INSERT ON triage_reasons
BEGIN
    INSERT INTO triage_queue (sample_id, language, dataset_id, priority, answers, needed)
    SELECT s.id, s.language, s.dataset_id, p.priority,
           (SELECT count(DISTINCT a.reviewer_id) FROM annotations a WHERE a.sample_id = s.id),
           (SELECT n.needed FROM sample_needs n WHERE n.sample_id = s.id)
    FROM samples s, triage_priority p WHERE s.id = new.sample_id AND p.reason = new.reason
    ON CONFLICT (sample_id) DO UPDATE SET priority = min(priority, excluded.priority);
END;

CREATE TRIGGER triage_queue_answered AFTER INSERT ON annotations
BEGIN
    UPDATE triage_queue SET answers = (SELECT count(DISTINCT a.reviewer_id) FROM annotations a
                                       WHERE a.sample_id = new.sample_id)
    WHERE sample_id = new.sample_id;
END;

CREATE TRIGGER triage_queue_needs_set AFTER INSERT ON project
WHEN new.key IN ('config.answers-per-sample', 'config.overlap-share')
BEGIN
    UPDATE triage_queue SET needed = (SELECT n.needed FROM sample_needs n WHERE n.sample_id = triage_queue.sample_id);
END;

CREATE TRIGGER triage_queue_needs_changed AFTER UPDATE OF value ON project
WHEN new.key IN ('config.answers-per-sample', 'config.overlap-share')
BEGIN
    UPDATE triage_queue SET needed = (SELECT n.needed FROM sample_needs n WHERE n.sample_id = triage_queue.sample_id);
END;

CREATE TRIGGER triage_queue_needs_reset AFTER DELETE ON project
WHEN old.key IN ('config.answers-per-sample', 'config.overlap-share')
BEGIN
    UPDATE triage_queue SET needed = (SELECT n.needed FROM sample_needs n WHERE n.sample_id = triage_queue.sample_id);
END;
