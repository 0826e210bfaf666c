CREATE INDEX login_failures_user ON login_failures (user_name, at);
