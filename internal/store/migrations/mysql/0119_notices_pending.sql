CREATE INDEX notices_pending ON notices (sent_at, not_before)
