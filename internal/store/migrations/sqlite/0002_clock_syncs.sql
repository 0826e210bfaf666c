-- When the daemon last set each clock's time (time_sync: auto corrects at most once a day).
CREATE TABLE clock_syncs (
  clock TEXT PRIMARY KEY,
  synced_at TEXT NOT NULL
);
