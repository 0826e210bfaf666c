CREATE INDEX manual_signins_staff ON manual_signins (staff_id, at);
