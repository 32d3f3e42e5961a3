-- Leases: at most one holder of a named role at a time (the warehouse streamer), for as long as it
-- keeps renewing before `expires_at`.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
