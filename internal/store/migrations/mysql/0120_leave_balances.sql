CREATE TABLE leave_balances (
  staff_id VARCHAR(100) NOT NULL,
  year INT NOT NULL,
  annual_days DECIMAL(5,1) NOT NULL,
  set_by VARCHAR(100) NOT NULL,
  updated_at DATETIME NOT NULL,
  PRIMARY KEY (staff_id, year)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
