CREATE INDEX failure_reports_time ON failure_reports (from_at);
