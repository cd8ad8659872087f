-- The two halves of `hearth queue`'s default listing (GET /v1/jobs?group=arrays), each on an
-- index of its own, so that neither reads the other's rows as the queue grows.
--
-- Measured with 100,000 queued elements in ten arrays (Docs/BENCHMARKS.md, issue 16): the jobs
-- listed one by one were found by walking jobs_unfinished_by_id past all 100,000 elements (42 ms),
-- and the arrays' pending indexes were sorted and windowed row by row (180 ms).

-- Jobs listed on a line of their own: unfinished, and not a queued array element. Its predicate
-- is spelled exactly as the listing's condition (APIQueries.jobPage), so the planner can use it.
CREATE INDEX jobs_listed_one_by_one ON jobs (id)
    WHERE state IN ('queued', 'scheduled', 'running') AND (array_id IS NULL OR state <> 'queued');

-- Queued array elements by array and index (the id included: an array's first job), read in
-- order to count each array's pending elements and find their bounds without touching the table.
CREATE INDEX jobs_queued_elements ON jobs (array_id, array_index) INCLUDE (id)
    WHERE state = 'queued' AND array_id IS NOT NULL;
