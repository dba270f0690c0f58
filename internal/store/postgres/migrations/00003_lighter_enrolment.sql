-- +goose Up
-- Two indexes that every enrolled person paid for and no query needs: key rotation walks the
-- data keys by patient (its primary key) and skips those already re-wrapped; a patient's history
-- is read through its primary key (patient_id, seq), and its period filters apply to those rows.
DROP INDEX data_keys_by_kek;
DROP INDEX audit_events_by_time;
