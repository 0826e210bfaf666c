CREATE TABLE punches (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  clock VARCHAR(100) NOT NULL,
  clock_user_id VARCHAR(100) NOT NULL,
  punched_at DATETIME NOT NULL,
  verify INT NOT NULL,
  state INT NOT NULL,
  received_at DATETIME NOT NULL,
  skewed INT NOT NULL DEFAULT 0,
  UNIQUE (clock, clock_user_id, punched_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
