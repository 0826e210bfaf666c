CREATE TABLE month_closings (
  month CHAR(7) PRIMARY KEY,
  closed_by VARCHAR(100) NOT NULL,
  closed_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
