CREATE INDEX corrections_day ON corrections (staff_id, day);
