-- When each browser session of `verdikt serve` was last used, for the curator's "who is
-- working". Written by the server's session lookup at most once a minute per session, and
-- never while another writer holds the project. NULL: not used since it opened.
ALTER TABLE serve_sessions ADD COLUMN last_seen_at TEXT;
