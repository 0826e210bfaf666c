-- ZKTeco PUSH clocks. Times are wall-clock TEXT 'YYYY-MM-DD HH:MM:SS', '' when not yet.
-- push_unknown: serial numbers that called but are not configured (kaoqin devices unknown).
CREATE TABLE push_unknown (
  serial TEXT PRIMARY KEY,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  remote_addr TEXT NOT NULL,
  requests INTEGER NOT NULL
);
-- push_clocks: per configured clock, the stamp (packed time) up to which its uploads are stored
-- and its last contact.
CREATE TABLE push_clocks (
  clock TEXT PRIMARY KEY,
  attlog_stamp INTEGER NOT NULL DEFAULT 0,
  last_contact TEXT NOT NULL DEFAULT '',
  remote_addr TEXT NOT NULL DEFAULT ''
);
-- push_commands: the per-clock command queue and the results the clocks sent back.
CREATE TABLE push_commands (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  clock TEXT NOT NULL,
  command TEXT NOT NULL,
  queued_at TEXT NOT NULL,
  queued_by TEXT NOT NULL,
  sent_at TEXT NOT NULL DEFAULT '',
  done_at TEXT NOT NULL DEFAULT '',
  return_code INTEGER NOT NULL DEFAULT 0,
  result TEXT NOT NULL DEFAULT ''
);
CREATE INDEX push_commands_clock ON push_commands (clock, sent_at, id);
