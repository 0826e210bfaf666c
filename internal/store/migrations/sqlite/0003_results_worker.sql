-- The recompute worker. A dirty day is claimed by one worker at a time (claimed_by, with a lease
-- until claimed_until, so that the day of a worker that died is taken up again), and provisional
-- results are found by the finalising pass without scanning every result.
ALTER TABLE dirty_days ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE dirty_days ADD COLUMN claimed_until TEXT NOT NULL DEFAULT '';
CREATE INDEX segment_results_final ON segment_results (final, day);
