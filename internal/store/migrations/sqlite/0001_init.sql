-- The first schema. Times named *_at are local wall-clock times of the deployment's zone,
-- stored as TEXT 'YYYY-MM-DD HH:MM:SS'; days are 'YYYY-MM-DD'.
CREATE TABLE units (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE windows (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  unit_id INTEGER REFERENCES units(id)
);
CREATE TABLE staff (
  staff_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  window_id INTEGER NOT NULL REFERENCES windows(id),
  unit_id INTEGER NOT NULL REFERENCES units(id),
  active INTEGER NOT NULL DEFAULT 1,
  updated_at TEXT NOT NULL
);
CREATE TABLE clocks (
  name TEXT PRIMARY KEY,
  protocol TEXT NOT NULL,
  serial_number TEXT,
  added_at TEXT NOT NULL
);
CREATE TABLE enrollments (
  clock TEXT NOT NULL,
  clock_user_id TEXT NOT NULL,
  staff_id TEXT NOT NULL REFERENCES staff(staff_id),
  PRIMARY KEY (clock, clock_user_id)
);
CREATE INDEX enrollments_staff ON enrollments (staff_id);
CREATE TABLE punches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  clock TEXT NOT NULL,
  clock_user_id TEXT NOT NULL,
  punched_at TEXT NOT NULL,
  verify INTEGER NOT NULL,
  state INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  skewed INTEGER NOT NULL DEFAULT 0,
  UNIQUE (clock, clock_user_id, punched_at)
);
CREATE INDEX punches_time ON punches (punched_at);
CREATE TABLE clock_cursors (
  clock TEXT PRIMARY KEY,
  position INTEGER NOT NULL DEFAULT 0,
  anchor_user TEXT NOT NULL DEFAULT '',
  anchor_at TEXT NOT NULL DEFAULT '',
  last_read_at TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL
);
CREATE TABLE leave_slips (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  staff_id TEXT NOT NULL,
  type TEXT NOT NULL,
  start_at TEXT NOT NULL,
  end_at TEXT NOT NULL,
  filed_at TEXT NOT NULL,
  approvals TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  recorded_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  cancelled_at TEXT
);
CREATE INDEX leave_slips_staff ON leave_slips (staff_id, start_at);
CREATE TABLE patrols (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  staff_id TEXT NOT NULL,
  from_at TEXT NOT NULL,
  to_at TEXT NOT NULL,
  observation TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  recorded_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX patrols_staff ON patrols (staff_id, from_at);
CREATE TABLE failure_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  staff_id TEXT NOT NULL,
  clock TEXT NOT NULL DEFAULT '',
  from_at TEXT NOT NULL,
  to_at TEXT NOT NULL,
  reported_at TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  recorded_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX failure_reports_time ON failure_reports (from_at);
CREATE TABLE manual_signins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  staff_id TEXT NOT NULL,
  at TEXT NOT NULL,
  reason TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX manual_signins_staff ON manual_signins (staff_id, at);
CREATE TABLE segment_results (
  staff_id TEXT NOT NULL,
  day TEXT NOT NULL,
  segment TEXT NOT NULL,
  findings TEXT NOT NULL,
  late_minutes INTEGER NOT NULL,
  early_minutes INTEGER NOT NULL,
  off_post INTEGER NOT NULL,
  leave_type TEXT NOT NULL,
  sign_in TEXT NOT NULL,
  sign_out TEXT NOT NULL,
  evidence TEXT NOT NULL,
  final INTEGER NOT NULL,
  computed_at TEXT NOT NULL,
  PRIMARY KEY (staff_id, day, segment)
);
CREATE INDEX segment_results_day ON segment_results (day);
CREATE TABLE dirty_days (
  staff_id TEXT NOT NULL,
  day TEXT NOT NULL,
  marked_at TEXT NOT NULL,
  PRIMARY KEY (staff_id, day)
);
CREATE TABLE month_closings (
  month TEXT PRIMARY KEY,
  closed_by TEXT NOT NULL,
  closed_at TEXT NOT NULL
);
CREATE TABLE corrections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  staff_id TEXT NOT NULL,
  day TEXT NOT NULL,
  segment TEXT NOT NULL,
  findings TEXT NOT NULL,
  late_minutes INTEGER NOT NULL DEFAULT 0,
  early_minutes INTEGER NOT NULL DEFAULT 0,
  off_post INTEGER NOT NULL DEFAULT 0,
  leave_type TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX corrections_day ON corrections (staff_id, day);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  old_value TEXT NOT NULL DEFAULT '',
  new_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
