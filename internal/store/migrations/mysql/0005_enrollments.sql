CREATE TABLE enrollments (
  clock VARCHAR(100) NOT NULL,
  clock_user_id VARCHAR(100) NOT NULL,
  staff_id VARCHAR(100) NOT NULL,
  PRIMARY KEY (clock, clock_user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
