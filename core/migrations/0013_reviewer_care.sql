-- Reviewer care: the categories a reviewer has chosen to see unblurred on every sample. The
-- curator's care settings (which categories and texts are blurred, the break interval) are
-- `config.*` rows of `project`; this is each reviewer's own choice, kept with the project so it
-- follows them to every window, browser and review pack they review in.
CREATE TABLE reviewer_reveals (
    reviewer_id INTEGER NOT NULL REFERENCES reviewers (id) ON DELETE CASCADE,
    category    TEXT NOT NULL CHECK (category GLOB 'S[1-9]' OR category GLOB 'S1[0-4]'),
    PRIMARY KEY (reviewer_id, category)
) STRICT, WITHOUT ROWID;
