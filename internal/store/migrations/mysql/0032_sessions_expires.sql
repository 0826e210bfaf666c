CREATE INDEX sessions_expires ON sessions (expires_at);
