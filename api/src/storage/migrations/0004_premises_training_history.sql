-- Firefly schema, version 4: the history of every change to a premises, and who added each
-- training record when, for the HTTP API's premises and training endpoints.
-- Times are UTC text of fixed width (`YYYY-MM-DDTHH:MM:SSZ`).

-- One row per changed field of a premises: by `PATCH /api/v1/premises/{id}`, by
-- `POST /api/v1/premises` (field `created`, the whole record as `new_value`), or by a
-- re-import that brought a different value. `old_value` and `new_value` are JSON (so a
-- cleared field, `null`, differs from the text "null"). `import_id` is the `imports` row of
-- the change: the import, or the API change that bumped the data version.
-- Append-only: the triggers refuse UPDATE and DELETE.
CREATE TABLE premises_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    premises_id INTEGER NOT NULL REFERENCES premises(id),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,              -- user name, or `cli:<login>` for a CLI import
    field       TEXT NOT NULL,
    old_value   TEXT CHECK (old_value IS NULL OR json_valid(old_value)),
    new_value   TEXT CHECK (new_value IS NULL OR json_valid(new_value)),
    import_id   INTEGER REFERENCES imports(id)
);
CREATE INDEX premises_history_by_premises ON premises_history (premises_id, id);

CREATE TRIGGER premises_history_no_update BEFORE UPDATE ON premises_history
BEGIN
    SELECT RAISE(ABORT, 'the premises history is append-only');
END;

CREATE TRIGGER premises_history_no_delete BEFORE DELETE ON premises_history
BEGIN
    SELECT RAISE(ABORT, 'the premises history is append-only');
END;

-- Who added a training record, and when: set for records added through the API. Imported
-- records leave them NULL; their `imports` row (actor, started_at) says.
ALTER TABLE training_records ADD COLUMN created_by TEXT;
ALTER TABLE training_records ADD COLUMN created_at TEXT;
CREATE INDEX training_by_premises ON training_records (premises_id, date);
