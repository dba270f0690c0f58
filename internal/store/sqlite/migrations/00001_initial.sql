-- +goose Up
-- Carnet's schema on SQLite. Every patient-owned table carries patient_id as the first column of
-- its primary key, the same shape as the PostgreSQL schema (where it is the distribution key).
-- Times are microseconds since the Unix epoch (UTC); dates are ISO 'YYYY-MM-DD'.

CREATE TABLE patients (
    patient_id       TEXT PRIMARY KEY,
    nir_sealed       BLOB NOT NULL,
    ins_oid          TEXT NOT NULL,
    birth_name       TEXT NOT NULL,
    given_names      TEXT NOT NULL,
    used_name        TEXT NOT NULL DEFAULT '',
    sex              TEXT NOT NULL,
    birth_date       TEXT NOT NULL,
    birth_place      TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    mobile           TEXT NOT NULL DEFAULT '',
    postal_address   TEXT NOT NULL DEFAULT '',
    rights_holder_id TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX patients_rights_holder ON patients (rights_holder_id) WHERE rights_holder_id <> '';
CREATE INDEX patients_status ON patients (status, created_at);

-- The keyed hash of the NIR, kept apart so that it can be distributed by its own key.
CREATE TABLE nir_index (
    nir_index  BLOB PRIMARY KEY,
    patient_id TEXT NOT NULL
);

CREATE TABLE professionals (
    professional_id TEXT PRIMARY KEY,
    rpps            TEXT NOT NULL UNIQUE,
    profession      TEXT NOT NULL,
    specialty       TEXT NOT NULL DEFAULT '',
    civility        TEXT NOT NULL DEFAULT '',
    family_name     TEXT NOT NULL,
    given_name      TEXT NOT NULL,
    structure_id    TEXT NOT NULL DEFAULT '',
    structure_name  TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX professionals_structure ON professionals (structure_id) WHERE structure_id <> '';
CREATE INDEX professionals_family_name ON professionals (lower(family_name));

CREATE TABLE documents (
    patient_id                  TEXT NOT NULL,
    document_id                 TEXT NOT NULL,
    type_code                   TEXT NOT NULL,
    class                       TEXT NOT NULL,
    title_sealed                BLOB NOT NULL,
    author_kind                 TEXT NOT NULL,
    author_id                   TEXT NOT NULL,
    author_name                 TEXT NOT NULL DEFAULT '',
    structure_id                TEXT NOT NULL DEFAULT '',
    service_date                INTEGER NOT NULL,
    status                      TEXT NOT NULL,
    replaces_id                 TEXT NOT NULL DEFAULT '',
    hidden_from_professionals   BOOLEAN NOT NULL,
    hidden_from_patient         BOOLEAN NOT NULL,
    hidden_from_representatives BOOLEAN NOT NULL,
    content_hash                BLOB NOT NULL,
    size                        INTEGER NOT NULL,
    media_type                  TEXT NOT NULL,
    blob_key                    TEXT NOT NULL,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL,
    PRIMARY KEY (patient_id, document_id)
);
CREATE INDEX documents_by_date ON documents (patient_id, service_date DESC);

-- Where a document lives, by its ID alone (FHIR reads address a document by ID), kept apart so
-- that it can be distributed by its own key.
CREATE TABLE document_index (
    document_id TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL
);

CREATE TABLE profile_entries (
    patient_id  TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    entry_date  INTEGER NOT NULL,
    end_date    INTEGER,
    author_kind TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    deleted     BOOLEAN NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (patient_id, entry_id)
);
CREATE INDEX profile_entries_by_kind ON profile_entries (patient_id, kind, entry_date);

CREATE TABLE wishes (
    patient_id TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE settings (
    patient_id         TEXT PRIMARY KEY,
    hide_all           BOOLEAN NOT NULL,
    regulation_allowed BOOLEAN NOT NULL,
    break_glass_allowed BOOLEAN NOT NULL,
    treating_doctor_id TEXT NOT NULL DEFAULT '',
    administrator_id   TEXT NOT NULL DEFAULT '',
    notify_access      TEXT NOT NULL,
    notify_action      TEXT NOT NULL,
    notify_emergency   TEXT NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE consents (
    patient_id      TEXT NOT NULL,
    consent_id      TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    purpose         TEXT NOT NULL DEFAULT '',
    declared_at     INTEGER NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER,
    PRIMARY KEY (patient_id, consent_id)
);
CREATE INDEX consents_by_professional ON consents (patient_id, professional_id);

CREATE TABLE blocks (
    patient_id      TEXT NOT NULL,
    block_id        TEXT NOT NULL,
    professional_id TEXT NOT NULL DEFAULT '',
    structure_id    TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    removed_at      INTEGER,
    PRIMARY KEY (patient_id, block_id)
);

-- Emergency sessions (centre 15, bris de glace) of professionals on a patient's record.
CREATE TABLE emergency_sessions (
    patient_id      TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    mode            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    ends_at         INTEGER NOT NULL,
    PRIMARY KEY (patient_id, professional_id)
);

CREATE TABLE data_keys (
    patient_id   TEXT PRIMARY KEY,
    wrapped      BLOB NOT NULL,
    kek_id       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    destroyed_at INTEGER
);
CREATE INDEX data_keys_by_kek ON data_keys (kek_id, patient_id);

CREATE TABLE audit_events (
    patient_id       TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    event_id         TEXT NOT NULL,
    at               INTEGER NOT NULL,
    actor_kind       TEXT NOT NULL,
    actor_id         TEXT NOT NULL,
    actor_name       TEXT NOT NULL,
    actor_profession TEXT NOT NULL,
    actor_structure  TEXT NOT NULL,
    on_behalf_of     TEXT NOT NULL,
    action           TEXT NOT NULL,
    target_type      TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    mode             TEXT NOT NULL,
    decision         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    prev_hash        BLOB NOT NULL,
    hash             BLOB NOT NULL,
    PRIMARY KEY (patient_id, seq)
);
CREATE INDEX audit_events_by_time ON audit_events (patient_id, at);
CREATE INDEX audit_events_by_actor ON audit_events (patient_id, actor_id, seq);

CREATE TABLE audit_heads (
    patient_id TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    updated_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_heads_by_update ON audit_heads (updated_at, patient_id);

-- Signed checkpoints of the chain heads (internal/audit encodes the body).
CREATE TABLE audit_checkpoints (
    checkpoint_id TEXT PRIMARY KEY,
    at            INTEGER NOT NULL,
    body          BLOB NOT NULL
);
CREATE INDEX audit_checkpoints_by_time ON audit_checkpoints (at);

CREATE TABLE outbox (
    message_id      TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_patient ON outbox (patient_id, created_at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
