CREATE INDEX segment_results_final ON segment_results (final, day)
