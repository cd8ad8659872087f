-- Autovacuum visits `jobs` after 1 % of its rows changed or were inserted, not PostgreSQL's 20 %
-- (issue 16). The listings read queued jobs through index-only scans, which must look at each
-- row's heap page until a vacuum marks the page all-visible; dead index entries (a cancelled
-- array's elements) are walked until a vacuum removes them. With the defaults, a listing over
-- 100,000 just-written array elements took 60-110 ms for about 70 s, then 15-24 ms once
-- autovacuum came round; with these settings and a 10 s naptime, 15-25 ms within seconds.
-- (The embedded cluster sets the naptime; Docs/configuration.md advises it for others.)
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01,
                      autovacuum_analyze_scale_factor = 0.02);
