-- The ends of records' lives: archived playbooks, users removed from their organisation, edited
-- comments; and an organisation's settings (JSON: time zone, working days and hours, week start).
ALTER TABLE playbooks ADD COLUMN archived_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;
ALTER TABLE comments ADD COLUMN edited_at TIMESTAMPTZ;
ALTER TABLE organisations ADD COLUMN settings JSONB NOT NULL DEFAULT '{}';
