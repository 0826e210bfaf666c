-- punches.unread: the line a PUSH clock sent when one of its optional fields (status, verify, work
-- code) could not be read; the punch is stored with PIN and time and those fields 0, and flagged
-- by this text ('' when every field was read).
ALTER TABLE punches ADD COLUMN unread TEXT NOT NULL DEFAULT '';
-- The OPERLOG and ATTPHOTO stamps a push clock's uploads reached, sent back in the handshake.
ALTER TABLE push_clocks ADD COLUMN operlog_stamp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE push_clocks ADD COLUMN attphoto_stamp INTEGER NOT NULL DEFAULT 0;
