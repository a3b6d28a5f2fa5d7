-- Where a local guard run's latest invocation computed: `CPU`, or the GPU device with its share
-- of the model's layers (`--gpu-layers`). NULL for server runs and runs from before this column.
ALTER TABLE guard_runs ADD COLUMN device TEXT;
