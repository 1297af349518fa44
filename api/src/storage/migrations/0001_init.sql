-- Firefly schema, version 1: imports, incidents, premises, training records.
-- Times are RFC 3339 UTC text; coordinates WGS84 degrees.

CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('incidents', 'premises', 'training')),
    files           TEXT NOT NULL,          -- JSON array of file names
    format          TEXT NOT NULL,
    actor           TEXT NOT NULL,          -- who ran it: `cli:<user>` or a user name
    started_at      TEXT NOT NULL,
    rows_read       INTEGER NOT NULL,
    added           INTEGER NOT NULL,
    already_present INTEGER NOT NULL,
    skipped         INTEGER NOT NULL,       -- documented skips (e.g. no location)
    rejected        INTEGER NOT NULL        -- invalid rows left out with --skip-invalid
);

CREATE TABLE incidents (
    id             INTEGER PRIMARY KEY,
    source_id      TEXT NOT NULL UNIQUE,
    source         TEXT NOT NULL,
    occurred_utc   TEXT,                    -- exact instant, or NULL
    occurred_month TEXT,                    -- YYYY-MM when only the month is known
    lon            REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat            REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    category       TEXT NOT NULL,
    category_raw   TEXT NOT NULL,
    location       TEXT,
    area_code      TEXT,
    area_name      TEXT,
    import_id      INTEGER NOT NULL REFERENCES imports(id),
    CHECK ((occurred_utc IS NULL) <> (occurred_month IS NULL))
);
-- No secondary indexes: scoring reads all incidents into memory, and every index slows
-- the bulk imports that matter more.

CREATE TABLE premises (
    id          INTEGER PRIMARY KEY,
    source_id   TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    address     TEXT,
    postcode    TEXT,
    kind        TEXT NOT NULL,
    lon         REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    licence_ref TEXT,
    closing     TEXT NOT NULL,              -- JSON: 7 closing times (Mon..Sun) or null
    safe_space  INTEGER NOT NULL DEFAULT 0,
    district    TEXT,
    import_id   INTEGER NOT NULL REFERENCES imports(id)
);

CREATE TABLE training_records (
    id            INTEGER PRIMARY KEY,
    premises_id   INTEGER NOT NULL REFERENCES premises(id),
    date          TEXT NOT NULL,            -- YYYY-MM-DD
    course        TEXT NOT NULL,
    staff_trained INTEGER NOT NULL CHECK (staff_trained >= 0),
    trainer       TEXT NOT NULL,
    notes         TEXT,
    fictional     INTEGER NOT NULL DEFAULT 0, -- demo data, labelled wherever shown
    import_id     INTEGER REFERENCES imports(id),
    UNIQUE (premises_id, date, course, trainer)
);
