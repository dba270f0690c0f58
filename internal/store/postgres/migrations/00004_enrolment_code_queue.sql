-- +goose Up
-- Bulk enrolment queues each person's provisional code on their enrolment row, sealed, instead of
-- writing a whole message to the outbox: the outbox worker turns the queued codes into messages a
-- batch at a time, in one transaction with clearing them (no code lost, none sent twice by that
-- step). The partial index holds only the codes still waiting.
ALTER TABLE enrolments ADD COLUMN code_sealed BYTEA;
CREATE INDEX enrolments_code_pending ON enrolments (patient_id) WHERE code_sealed IS NOT NULL;
