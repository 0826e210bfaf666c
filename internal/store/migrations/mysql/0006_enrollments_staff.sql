CREATE INDEX enrollments_staff ON enrollments (staff_id);
