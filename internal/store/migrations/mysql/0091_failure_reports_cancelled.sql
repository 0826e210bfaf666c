ALTER TABLE failure_reports ADD COLUMN cancelled_at DATETIME NULL;
