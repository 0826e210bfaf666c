-- Any entry can be withdrawn, not only a leave slip (issue 15): a withdrawn patrol record,
-- failure report or manual sign-in is kept (with when it was withdrawn; the reason is in the
-- audit log) but counts for nothing.
ALTER TABLE patrols ADD COLUMN cancelled_at TEXT;
ALTER TABLE failure_reports ADD COLUMN cancelled_at TEXT;
ALTER TABLE manual_signins ADD COLUMN cancelled_at TEXT;
