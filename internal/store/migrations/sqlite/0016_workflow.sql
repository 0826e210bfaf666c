-- Issue 17: requests staff file themselves (leave, clock-failure reports, 补卡) and their
-- approvals; the notices outbox; annual leave balances; accounts for staff, center leaders and
-- unit leaders. Times are wall-clock TEXT 'YYYY-MM-DD HH:MM:SS', '' when not yet.
CREATE TABLE requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  staff_id TEXT NOT NULL,
  window_name TEXT NOT NULL,
  unit_name TEXT NOT NULL,
  window_staff INTEGER NOT NULL,
  leave_type TEXT NOT NULL DEFAULT '',
  punch TEXT NOT NULL DEFAULT '',
  start_at TEXT NOT NULL,
  end_at TEXT NOT NULL,
  filed_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  substitute TEXT NOT NULL DEFAULT '',
  steps TEXT NOT NULL,
  approved TEXT NOT NULL DEFAULT '',
  next_step TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  phone_notice_at TEXT NOT NULL DEFAULT '',
  phone_notice_by TEXT NOT NULL DEFAULT '',
  verdict TEXT NOT NULL DEFAULT '',
  slip_id INTEGER NOT NULL DEFAULT 0,
  failure_id INTEGER NOT NULL DEFAULT 0,
  filed_by TEXT NOT NULL,
  decided_at TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL
);
CREATE INDEX requests_staff ON requests (staff_id, start_at);
CREATE INDEX requests_next ON requests (state, next_step);
CREATE TABLE request_decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id INTEGER NOT NULL REFERENCES requests(id),
  step TEXT NOT NULL,
  actor TEXT NOT NULL,
  approve INTEGER NOT NULL,
  stamp INTEGER NOT NULL DEFAULT 0,
  comment TEXT NOT NULL DEFAULT '',
  at TEXT NOT NULL
);
CREATE INDEX request_decisions_request ON request_decisions (request_id, id);
CREATE TABLE request_attachments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id INTEGER NOT NULL REFERENCES requests(id),
  kind TEXT NOT NULL,
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  data BLOB,
  path TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE INDEX request_attachments_request ON request_attachments (request_id);
ALTER TABLE users ADD COLUMN staff_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN unit_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
-- The outbox: one row per delivery (a notice to one destination on one channel). dedupe_key makes
-- queueing the same notice twice a no-op (the scheduled notices of several daemons); a row is
-- claimed with a lease like a dirty day, and sent_at set once it went out.
CREATE TABLE notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  dedupe_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  not_before TEXT NOT NULL,
  claimed_by TEXT NOT NULL DEFAULT '',
  claimed_until TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  sent_at TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notices_pending ON notices (sent_at, not_before);
CREATE TABLE leave_balances (
  staff_id TEXT NOT NULL,
  year INTEGER NOT NULL,
  annual_days REAL NOT NULL,
  set_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (staff_id, year)
);
