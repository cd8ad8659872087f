import HearthStore

extension SnapshotLoader {
    /// The queued jobs the scheduler may consider, as a table named `jobs`: every queued job,
    /// except that of an array with a `%N` limit only its lowest-index queued elements that fit
    /// beside those already scheduled or running (N minus them). The scheduler itself stays
    /// unaware of arrays: elements over the limit are simply not pending yet.
    static let eligibleQueued: SQLFragment = """
        (SELECT j.* FROM jobs j WHERE j.state = 'queued' AND j.array_parallel IS NULL
         UNION ALL
         SELECT (q.j).* FROM (
             SELECT j, row_number() OVER (PARTITION BY j.array_id ORDER BY j.array_index) AS rank
             FROM jobs j WHERE j.state = 'queued' AND j.array_parallel IS NOT NULL
         ) q
         LEFT JOIN (
             SELECT array_id, count(*) AS n FROM jobs
             WHERE state IN ('scheduled', 'running') AND array_parallel IS NOT NULL GROUP BY array_id
         ) a ON a.array_id = (q.j).array_id
         WHERE q.rank <= (q.j).array_parallel - coalesce(a.n, 0)) AS jobs
        """
}
