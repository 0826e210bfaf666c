CREATE INDEX leave_slips_staff ON leave_slips (staff_id, start_at);
