CREATE TABLE dirty_days (
  staff_id VARCHAR(100) NOT NULL,
  day DATE NOT NULL,
  marked_at DATETIME NOT NULL,
  PRIMARY KEY (staff_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
