CREATE INDEX audit_log_at ON audit_log (at);
