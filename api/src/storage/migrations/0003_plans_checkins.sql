-- Firefly schema, version 3: plans (drafts and published rotas, their versions and their
-- assignments, normalised) and officers' check-ins, for the HTTP API.
-- Times are UTC text of fixed width (`YYYY-MM-DDTHH:MM:SSZ`), so that comparing the text
-- compares the instants.

-- One plan per row. `document` is the plan JSON of the contract (what `firefly plan -o`
-- writes), the current version of it; a re-plan updates the row in place, bumps `version`
-- and keeps the document it replaces in `plan_versions`.
CREATE TABLE plans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    night        TEXT NOT NULL,              -- YYYY-MM-DD, the local date the night starts on
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    published_by TEXT,
    published_at TEXT,
    start_utc    TEXT NOT NULL,              -- the first slot's start
    end_utc      TEXT NOT NULL,              -- the last slot's end
    objective    REAL NOT NULL,
    bound        REAL NOT NULL,
    gap          REAL NOT NULL,
    document     TEXT NOT NULL CHECK (json_valid(document)),
    CHECK ((status = 'published') = (published_at IS NOT NULL)),
    CHECK (start_utc < end_utc)
);
CREATE INDEX plans_by_time ON plans (status, end_utc);

-- Earlier versions of a plan, append-only: version N's document as it was before the
-- re-plan that made version N + 1.
CREATE TABLE plan_versions (
    plan_id     INTEGER NOT NULL REFERENCES plans(id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    created_by  TEXT NOT NULL,              -- who made this version
    created_at  TEXT NOT NULL,
    replaced_by TEXT NOT NULL,              -- who re-planned it
    replaced_at TEXT NOT NULL,
    document    TEXT NOT NULL CHECK (json_valid(document)),
    PRIMARY KEY (plan_id, version)
);

CREATE TRIGGER plan_versions_no_update BEFORE UPDATE ON plan_versions
BEGIN
    SELECT RAISE(ABORT, 'plan versions are append-only');
END;

CREATE TRIGGER plan_versions_no_delete BEFORE DELETE ON plan_versions
BEGIN
    SELECT RAISE(ABORT, 'plan versions are append-only');
END;

-- The current version's assignments, one row per unit per slot: derived from `document`
-- (rewritten with it), so that "where is LN-FF1 at 23:00" is a query. For `travel`,
-- `from_zone` and `to_zone` are zone ids, NULL meaning the unit's station.
CREATE TABLE plan_assignments (
    plan_id   INTEGER NOT NULL REFERENCES plans(id),
    callsign  TEXT NOT NULL,
    slot      INTEGER NOT NULL CHECK (slot >= 0),
    start_utc TEXT NOT NULL,
    end_utc   TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('zone', 'travel', 'break', 'off')),
    zone_id   TEXT,
    from_zone TEXT,
    to_zone   TEXT,
    PRIMARY KEY (plan_id, callsign, slot),
    CHECK ((kind = 'zone') = (zone_id IS NOT NULL)),
    CHECK (kind = 'travel' OR (from_zone IS NULL AND to_zone IS NULL))
) WITHOUT ROWID;
CREATE INDEX plan_assignments_by_unit ON plan_assignments (callsign COLLATE NOCASE, start_utc);

-- Where officers said they were. Append-only (they are records of what happened): the
-- triggers refuse UPDATE and DELETE. `zone_id` is the plan's zone the point lies in (or
-- within the GPS tolerance of: `matched` says which), `planned_zone` the zone the unit was
-- planned to be in at that slot; both NULL when there is none.
CREATE TABLE checkins (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    unit         TEXT NOT NULL,
    plan_id      INTEGER REFERENCES plans(id),
    plan_version INTEGER,
    slot         INTEGER,
    zone_id      TEXT,
    planned_zone TEXT,
    on_plan      INTEGER NOT NULL CHECK (on_plan IN (0, 1)),
    matched      TEXT NOT NULL CHECK (matched IN ('inside', 'near', 'none')),
    lon          REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat          REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    at           TEXT NOT NULL,              -- when the officer was there
    received_at  TEXT NOT NULL,              -- when the server got it
    CHECK ((matched = 'none') = (zone_id IS NULL)),
    CHECK (plan_id IS NOT NULL OR (slot IS NULL AND zone_id IS NULL AND on_plan = 0))
);
CREATE INDEX checkins_by_plan ON checkins (plan_id, zone_id);

CREATE TRIGGER checkins_no_update BEFORE UPDATE ON checkins
BEGIN
    SELECT RAISE(ABORT, 'check-ins are append-only');
END;

CREATE TRIGGER checkins_no_delete BEFORE DELETE ON checkins
BEGIN
    SELECT RAISE(ABORT, 'check-ins are append-only');
END;
