ALTER TABLE manual_signins ADD COLUMN cancelled_at DATETIME NULL;
