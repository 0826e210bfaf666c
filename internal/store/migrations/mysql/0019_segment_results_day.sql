CREATE INDEX segment_results_day ON segment_results (day);
