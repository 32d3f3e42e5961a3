-- The ends of records' lives: archived playbooks, users removed from their organisation, edited
-- comments; and an organisation's settings (JSON: time zone, working days and hours, week start).
ALTER TABLE playbooks ADD COLUMN archived_at TEXT;
ALTER TABLE users ADD COLUMN deactivated_at TEXT;
ALTER TABLE comments ADD COLUMN edited_at TEXT;
ALTER TABLE organisations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
