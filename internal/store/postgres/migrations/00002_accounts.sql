-- +goose Up
-- Patient accounts: bulk enrolment, activation, sign-in (codes, sessions, passkeys), closing.
-- Secrets are kept only as keyed hashes (codes, Vitale serial), argon2id (passwords) or sealed
-- (TOTP secrets, codes waiting in the outbox until sent).

ALTER TABLE patients ADD COLUMN closed_at BIGINT;
ALTER TABLE outbox ADD COLUMN secret BYTEA;

CREATE TABLE enrolments (
    patient_id      TEXT PRIMARY KEY,
    vitale_hash     BYTEA NOT NULL,
    code_hash       BYTEA NOT NULL,
    code_expires_at BIGINT NOT NULL,
    auto_create_at  BIGINT NOT NULL,
    source          TEXT NOT NULL DEFAULT '',
    opposed_at      BIGINT,
    activated_at    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
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
    totp_sealed     BYTEA,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    passkey_handle  BYTEA,
    password_set_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Failure records of accounts, people and client addresses (keys are IDs or keyed hashes).
CREATE TABLE attempts (
    key          TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE one_time_codes (
    owner_id   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    code_hash  BYTEA NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    expires_at BIGINT NOT NULL,
    failures   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, purpose)
);

CREATE TABLE sessions (
    session_id BYTEA PRIMARY KEY,
    patient_id TEXT NOT NULL,
    state      TEXT NOT NULL,
    factor     TEXT NOT NULL DEFAULT '',
    data       BYTEA,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX sessions_by_patient ON sessions (patient_id);

CREATE TABLE passkeys (
    patient_id    TEXT NOT NULL,
    credential_id BYTEA NOT NULL,
    data          BYTEA NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (patient_id, credential_id)
);
CREATE UNIQUE INDEX passkeys_by_credential ON passkeys (credential_id);
