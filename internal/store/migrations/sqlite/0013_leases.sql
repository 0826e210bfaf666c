-- One row per month that results and the closing both write, so that they are ordered (a closing
-- never lands between a result write's check and its commit).
CREATE TABLE month_locks (
  month TEXT PRIMARY KEY,
  writes INTEGER NOT NULL DEFAULT 0
);
-- Leases: who holds a clock, a singleton job or the migration, until when, and the token that
-- fences a holder that lost it. Also created by Migrate before any migration runs.
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL DEFAULT '',
  token INTEGER NOT NULL DEFAULT 0,
  expires_ms INTEGER NOT NULL DEFAULT 0,
  renewed_ms INTEGER NOT NULL DEFAULT 0,
  uses INTEGER NOT NULL DEFAULT 0
);
