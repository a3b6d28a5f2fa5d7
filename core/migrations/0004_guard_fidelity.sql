-- What produced a run's verdicts beside the model: a hash of the rendered profile, the
-- tokenizer and how check tokens are made. Runs from before have none, so they are continued
-- by none: a changed profile or tokenizer starts a new run.
ALTER TABLE guard_runs ADD COLUMN fingerprint TEXT;

-- Three-class guards (Qwen3Guard): P(controversial) beside P(unsafe), both over all three classes.
ALTER TABLE verdicts ADD COLUMN p_controversial REAL;
