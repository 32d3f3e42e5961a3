-- Orgata engine schema (SQLite). Ids are UUIDv7 text; playbook version ids are SHA-256 hex.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organisations(id),
    email          TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    password_hash  TEXT,
    created_at     TEXT NOT NULL,
    UNIQUE (org_id, email)
);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE memberships (
    team_id     TEXT NOT NULL REFERENCES teams(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, team_id);
CREATE INDEX memberships_role ON memberships (team_id, role, user_id);

CREATE TABLE round_robin_cursors (
    team_id       TEXT NOT NULL REFERENCES teams(id),
    role          TEXT NOT NULL,
    last_user_id  TEXT NOT NULL,
    PRIMARY KEY (team_id, role)
);

CREATE TABLE playbooks (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id),
    name        TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE playbook_versions (
    id           TEXT PRIMARY KEY,
    playbook_id  TEXT NOT NULL REFERENCES playbooks(id),
    team_id      TEXT NOT NULL REFERENCES teams(id),
    parent_id    TEXT REFERENCES playbook_versions(id),
    number       INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    message      TEXT NOT NULL,
    created_by   TEXT NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX playbook_versions_number ON playbook_versions (playbook_id, number);

CREATE TABLE branches (
    playbook_id  TEXT NOT NULL REFERENCES playbooks(id),
    team_id      TEXT NOT NULL REFERENCES teams(id),
    name         TEXT NOT NULL,
    head         TEXT NOT NULL REFERENCES playbook_versions(id),
    updated_at   TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    PRIMARY KEY (playbook_id, name)
);

CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id),
    playbook_id  TEXT NOT NULL REFERENCES playbooks(id),
    version_id   TEXT NOT NULL REFERENCES playbook_versions(id),
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,
    outcome      TEXT,
    data         TEXT NOT NULL,
    started_by   TEXT NOT NULL REFERENCES users(id),
    started_at   TEXT NOT NULL,
    ended_at     TEXT,
    revision     INTEGER NOT NULL
);
CREATE INDEX instances_team ON instances (team_id, id);
CREATE INDEX instances_playbook ON instances (playbook_id, status);

CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    team_id       TEXT NOT NULL REFERENCES teams(id),
    instance_id   TEXT NOT NULL REFERENCES instances(id),
    playbook_id   TEXT NOT NULL REFERENCES playbooks(id),
    version_id    TEXT NOT NULL REFERENCES playbook_versions(id),
    step_key      TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    current       INTEGER NOT NULL,
    role          TEXT,
    assignee_id   TEXT REFERENCES users(id),
    ready_at      TEXT,
    assigned_at   TEXT,
    started_at    TEXT,
    completed_at  TEXT,
    due_at        TEXT,
    decision      TEXT,
    output        TEXT NOT NULL,
    revision      INTEGER NOT NULL
);
CREATE INDEX tasks_instance ON tasks (instance_id, id);
CREATE INDEX tasks_team_status ON tasks (team_id, status, id);
CREATE INDEX tasks_assignee ON tasks (assignee_id, status);

CREATE TABLE comments (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id),
    instance_id  TEXT NOT NULL REFERENCES instances(id),
    task_id      TEXT REFERENCES tasks(id),
    author_id    TEXT NOT NULL REFERENCES users(id),
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX comments_instance ON comments (instance_id, id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     TEXT NOT NULL REFERENCES organisations(id),
    team_id    TEXT,
    actor_id   TEXT,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    detail     TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

-- The outbox. SQLite has one writer at a time, so seq order is commit order and xid stays 0.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    xid        INTEGER NOT NULL DEFAULT 0,
    team_id    TEXT,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL,
    data       TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX change_log_order ON change_log (xid, seq);
