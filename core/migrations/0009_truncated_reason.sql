-- `truncated`: a guard saw a text only in part (shortened in the middle to fit its limit), so
-- its verdict on that text is doubt, not evidence: a human must look. Ranked with `uncertain`.
INSERT INTO triage_priority (reason, priority) VALUES ('truncated', 6);
