-- Firefly schema, version 5: a tamper-evident audit log, and retention as the one way
-- past the append-only triggers (Data Protection Act 2018, Part 3: s.62 logging, s.39
-- storage limitation).
--
-- Each audit row carries `prev_hash` (the previous row's `hash`; 64 zeros before the first
-- row, or the retention anchor once old rows are deleted) and `hash` = SHA-256 over a tag,
-- `prev_hash` and the row's own fields, each length-prefixed (storage/audit.rs). The rows
-- already here are hashed by the migration itself (in Rust, at the `@backfill` marker
-- below, inside this migration's transaction).

ALTER TABLE audit ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);
ALTER TABLE audit ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);

-- When a session was last used (at most a minute stale), for the idle timeout.
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;

DROP TRIGGER audit_no_update;
DROP TRIGGER audit_no_delete;
DROP TRIGGER checkins_no_delete;

-- One row per retention run (`firefly retention`). While a run deletes, its row is
-- `active` (set and cleared inside the run's own transaction, so an active row is never
-- committed): the delete triggers below let a row go only then, and only when it is older
-- than the run's cut-off. A plain DELETE, with no active run, still fails.
CREATE TABLE retention_runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                TEXT NOT NULL,
    actor             TEXT NOT NULL,
    before_utc        TEXT NOT NULL,         -- rows older than this instant may go
    checkins          INTEGER NOT NULL DEFAULT 0,
    sessions          INTEGER NOT NULL DEFAULT 0,
    audit             INTEGER NOT NULL DEFAULT 0,
    -- The last audit row deleted: the retained chain starts from its hash.
    audit_anchor_id   INTEGER,
    audit_anchor_hash TEXT CHECK (audit_anchor_hash IS NULL OR length(audit_anchor_hash) = 64),
    active            INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
);

CREATE TRIGGER retention_runs_no_delete BEFORE DELETE ON retention_runs
BEGIN
    SELECT RAISE(ABORT, 'retention runs are append-only');
END;

-- The only update allowed: a run finishing (its counts, its anchor, active 1 -> 0).
CREATE TRIGGER retention_runs_no_update BEFORE UPDATE ON retention_runs
WHEN NOT (OLD.active = 1 AND NEW.active = 0 AND NEW.id = OLD.id AND NEW.at = OLD.at
          AND NEW.actor = OLD.actor AND NEW.before_utc = OLD.before_utc)
BEGIN
    SELECT RAISE(ABORT, 'retention runs are append-only');
END;

-- Training records corrected or withdrawn through the API: the record before (and after a
-- correction), who, when and why. Append-only. A withdrawn record leaves
-- `training_records` (so no read counts it) and lives on here.
CREATE TABLE training_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    training_id INTEGER NOT NULL,           -- the record's id (gone once withdrawn)
    premises_id INTEGER NOT NULL REFERENCES premises(id),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    change      TEXT NOT NULL CHECK (change IN ('corrected', 'withdrawn')),
    old         TEXT NOT NULL,              -- JSON: the record before
    new         TEXT,                       -- JSON: the record after; NULL when withdrawn
    reason      TEXT NOT NULL,
    CHECK ((change = 'withdrawn') = (new IS NULL))
);
CREATE INDEX training_history_by_record ON training_history (training_id);

CREATE TRIGGER training_history_no_update BEFORE UPDATE ON training_history
BEGIN
    SELECT RAISE(ABORT, 'the training history is append-only');
END;

CREATE TRIGGER training_history_no_delete BEFORE DELETE ON training_history
BEGIN
    SELECT RAISE(ABORT, 'the training history is append-only');
END;

-- @backfill

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN NOT EXISTS (SELECT 1 FROM retention_runs WHERE active = 1 AND OLD.at < before_utc)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER checkins_no_delete BEFORE DELETE ON checkins
WHEN NOT EXISTS (SELECT 1 FROM retention_runs WHERE active = 1 AND OLD.received_at < before_utc)
BEGIN
    SELECT RAISE(ABORT, 'check-ins are append-only');
END;
