-- Raw text pushed with `hearth dataset push FILE` (not shards made by `hearth-worker prepare`) is
-- kept as an artifact of kind `text`, owned by its pusher, until the job that prepares it on a
-- node has stored the shards as the next version of the dataset (Docs/artifacts.md). Being an
-- artifact, its blob is not collected while the job waits in the queue.
ALTER TABLE artifacts DROP CONSTRAINT artifacts_kind_check;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_kind_check CHECK (kind IN ('dataset', 'tokenizer', 'checkpoint', 'text'));
