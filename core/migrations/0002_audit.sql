-- Review packs this project has handed out. A pack is checked against its row here on import:
-- a pack this project never made, or whose manifest no longer hashes to what was recorded, is
-- refused.
CREATE TABLE pack_exports (
    pack_id         TEXT PRIMARY KEY NOT NULL,
    reviewer_id     INTEGER NOT NULL REFERENCES reviewers (id) ON DELETE RESTRICT,
    language        TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    samples         INTEGER NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Merging a pack looks up the answers that already came from it.
CREATE INDEX annotations_by_origin ON annotations (origin, sample_id, reviewer_id);

-- The current answer of each reviewer to each sample: the highest version of the pair.
-- Statistics, export and the app read answers through this view.
CREATE VIEW current_annotations AS
SELECT a.*
FROM annotations AS a
WHERE a.version = (SELECT max(b.version) FROM annotations AS b
                   WHERE b.sample_id = a.sample_id AND b.reviewer_id = a.reviewer_id);
