CREATE TABLE push_commands (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  clock VARCHAR(100) NOT NULL,
  command VARCHAR(1000) NOT NULL,
  queued_at VARCHAR(19) NOT NULL,
  queued_by VARCHAR(100) NOT NULL,
  sent_at VARCHAR(19) NOT NULL DEFAULT '',
  done_at VARCHAR(19) NOT NULL DEFAULT '',
  return_code BIGINT NOT NULL DEFAULT 0,
  result TEXT NOT NULL,
  INDEX push_commands_clock (clock, sent_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
