CREATE TABLE segment_results (
  staff_id VARCHAR(100) NOT NULL,
  day DATE NOT NULL,
  segment CHAR(2) NOT NULL,
  findings VARCHAR(255) NOT NULL,
  late_minutes INT NOT NULL,
  early_minutes INT NOT NULL,
  off_post INT NOT NULL,
  leave_type VARCHAR(100) NOT NULL,
  sign_in CHAR(5) NOT NULL,
  sign_out CHAR(5) NOT NULL,
  evidence TEXT NOT NULL,
  final INT NOT NULL,
  computed_at DATETIME NOT NULL,
  PRIMARY KEY (staff_id, day, segment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
