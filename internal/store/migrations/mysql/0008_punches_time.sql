CREATE INDEX punches_time ON punches (punched_at);
