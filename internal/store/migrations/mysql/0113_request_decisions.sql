CREATE TABLE request_decisions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  request_id BIGINT NOT NULL,
  step VARCHAR(20) NOT NULL,
  actor VARCHAR(100) NOT NULL,
  approve TINYINT NOT NULL,
  stamp TINYINT NOT NULL DEFAULT 0,
  comment TEXT NOT NULL,
  at DATETIME NOT NULL,
  KEY request_decisions_request (request_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
