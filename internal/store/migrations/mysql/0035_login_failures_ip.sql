CREATE INDEX login_failures_ip ON login_failures (ip, at);
