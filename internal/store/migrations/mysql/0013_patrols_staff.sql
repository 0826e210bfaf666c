CREATE INDEX patrols_staff ON patrols (staff_id, from_at);
