-- A staff member's first and last working day ('' = open): no result is computed outside them, so
-- a newcomer is not ABSENT before joining, nor a leaver after leaving.
ALTER TABLE staff ADD COLUMN start_date TEXT NOT NULL DEFAULT '';
ALTER TABLE staff ADD COLUMN end_date TEXT NOT NULL DEFAULT '';
