-- Identity, access control and the hash-chained audit trail (SQLite).

-- An organisation-level role: `owner` (the registrant), `admin` or `member`.
ALTER TABLE users ADD COLUMN org_role TEXT NOT NULL DEFAULT 'member';

-- Custom roles of an organisation: named sets of team permissions (JSON array of names).
CREATE TABLE roles (
    org_id       TEXT NOT NULL REFERENCES organisations(id),
    name         TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- Rotating refresh tokens, stored as SHA-256 of the token; one family per login.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- API keys: the secret is shown once; only its SHA-256 is kept.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organisations(id),
    team_id       TEXT NOT NULL REFERENCES teams(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    permissions   TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_keys_team ON api_keys (team_id, id);

-- TOTP (RFC 6238): the shared secret (base32), enabled once a first code verified; the last
-- time step accepted, so a code is never accepted twice.
CREATE TABLE user_totp (
    user_id     TEXT PRIMARY KEY REFERENCES users(id),
    secret      TEXT NOT NULL,
    enabled_at  TEXT,
    last_step   BIGINT NOT NULL DEFAULT 0
);

-- One-time recovery codes (SHA-256 of the code).
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id),
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- Failed logins per account (`account:<user id>`) and per client address (`address:<ip>`).
CREATE TABLE login_throttle (
    subject        TEXT PRIMARY KEY,
    org_id         TEXT,
    failures       BIGINT NOT NULL,
    first_failure  TEXT NOT NULL,
    last_failure   TEXT NOT NULL,
    locked_until   TEXT
);

-- The audit trail is hash-chained per organisation, in one or more parallel chains (so writers of
-- one organisation need not queue for a single head): `seq` counts a chain's entries from 1,
-- `hash` = SHA-256 over the previous entry's hash and this entry's content; `audit_heads` holds
-- each chain's last link, so removing the newest entries is detected too.
ALTER TABLE audit_log ADD COLUMN api_key_id TEXT;
ALTER TABLE audit_log ADD COLUMN source TEXT;
ALTER TABLE audit_log ADD COLUMN chain INTEGER;
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_chain ON audit_log (org_id, chain, seq);

CREATE TABLE audit_heads (
    org_id  TEXT NOT NULL REFERENCES organisations(id),
    chain   INTEGER NOT NULL,
    seq     BIGINT NOT NULL,
    hash    TEXT NOT NULL,
    PRIMARY KEY (org_id, chain)
);

-- Idempotency keys of creating requests: the first response, replayed to a retry with the same key
-- (owner: the user, or the API key, that sent it).
CREATE TABLE idempotency_keys (
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER,
    etag         TEXT,
    body         TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);

-- The audit trail is append-only: a chained entry can be neither changed nor removed (entries
-- written before the chain existed are chained once, at connect).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW WHEN OLD.seq IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
