-- Firefly schema, version 2: users, sessions and the audit log, for the HTTP API.
-- Times are UTC text of fixed width (`YYYY-MM-DDTHH:MM:SSZ`, audit with milliseconds), so
-- that comparing the text compares the instants.
--
-- Login attempts are rate-limited in memory (server/ratelimit.rs), not here: a failed login
-- would otherwise be a write per attempt, and a restart forgetting the counters only resets
-- a 15-minute window.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('planner', 'officer', 'liaison', 'admin')),
    unit          TEXT,                     -- the officer's callsign, for their own itinerary
    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);

-- A session is found by the SHA-256 of its bearer token; the token itself is never stored,
-- so a copy of the database does not let anyone in.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    remote_addr  TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Who read or wrote what, when and from where (Data Protection Act 2018, Part 3 logging).
-- Append-only: the triggers below refuse every UPDATE and DELETE. AUTOINCREMENT so that an
-- id is never reused.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT,                       -- user name, `cli:<login>`, or NULL (anonymous)
    role        TEXT,
    action      TEXT NOT NULL,              -- e.g. `incidents.read`, `auth.login`
    target      TEXT,                       -- e.g. `incidents`, `premises:12`, `user:ana`
    detail      TEXT,                       -- JSON: the query, counts, outcome
    remote_addr TEXT
);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
