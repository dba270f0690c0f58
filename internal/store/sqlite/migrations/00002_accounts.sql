-- +goose Up
-- Patient accounts: bulk enrolment, activation, sign-in (codes, sessions, passkeys), closing.
-- Secrets are kept only as keyed hashes (codes, Vitale serial), argon2id (passwords) or sealed
-- (TOTP secrets, codes waiting in the outbox until sent).

ALTER TABLE patients ADD COLUMN closed_at INTEGER;
ALTER TABLE outbox ADD COLUMN secret BLOB;

CREATE TABLE enrolments (
    patient_id      TEXT PRIMARY KEY,
    vitale_hash     BLOB NOT NULL,
    code_hash       BLOB NOT NULL,
    code_expires_at INTEGER NOT NULL,
    auto_create_at  INTEGER NOT NULL,
    source          TEXT NOT NULL DEFAULT '',
    opposed_at      INTEGER,
    activated_at    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- The automatic creation job reads the due ones; done ones have auto_create_at = 0.
CREATE INDEX enrolments_due ON enrolments (auto_create_at) WHERE auto_create_at > 0;

CREATE TABLE accounts (
    patient_id      TEXT PRIMARY KEY,
    login           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    otp_channel     TEXT NOT NULL,
    email           TEXT NOT NULL DEFAULT '',
    mobile          TEXT NOT NULL DEFAULT '',
    totp_sealed     BLOB,
    totp_last_step  INTEGER NOT NULL DEFAULT 0,
    passkey_handle  BLOB,
    password_set_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- Failure records of accounts, people and client addresses (keys are IDs or keyed hashes).
CREATE TABLE attempts (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);

CREATE TABLE one_time_codes (
    owner_id   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    code_hash  BLOB NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, purpose)
);

CREATE TABLE sessions (
    session_id BLOB PRIMARY KEY,
    patient_id TEXT NOT NULL,
    state      TEXT NOT NULL,
    factor     TEXT NOT NULL DEFAULT '',
    data       BLOB,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
CREATE INDEX sessions_by_patient ON sessions (patient_id);

CREATE TABLE passkeys (
    patient_id    TEXT NOT NULL,
    credential_id BLOB NOT NULL,
    data          BLOB NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (patient_id, credential_id)
);
CREATE UNIQUE INDEX passkeys_by_credential ON passkeys (credential_id);
