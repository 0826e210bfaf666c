CREATE INDEX requests_staff ON requests (staff_id, start_at)
