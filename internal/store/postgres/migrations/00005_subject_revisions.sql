-- +goose Up
-- Revisions of what a decision reads, so that a server may keep a patient's subject (patient,
-- settings, key, blocks, consents and emergency sessions) and a professional's directory entry,
-- and check with one cheap read that nothing of it changed. Every change to these rows takes a
-- new value from one sequence, in the same transaction as the change: a value is never given
-- twice, even by a transaction that rolls back, so an equal revision means the same rows.
CREATE SEQUENCE subject_revisions;
ALTER TABLE patients ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE professionals ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE FUNCTION subject_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.rev := nextval('subject_revisions');
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION subject_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE patients SET rev = rev WHERE patient_id = OLD.patient_id;
    ELSE
        UPDATE patients SET rev = rev WHERE patient_id = NEW.patient_id;
        IF TG_OP = 'UPDATE' AND OLD.patient_id <> NEW.patient_id THEN
            UPDATE patients SET rev = rev WHERE patient_id = OLD.patient_id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- The patient's own row and the professional's: a new revision at every update.
CREATE TRIGGER patients_revision BEFORE UPDATE ON patients FOR EACH ROW EXECUTE FUNCTION subject_revision();
CREATE TRIGGER professionals_revision BEFORE UPDATE ON professionals FOR EACH ROW EXECUTE FUNCTION subject_revision();
-- The rows read with the patient: any change updates the patient's row (whose trigger above
-- gives the revision).
CREATE TRIGGER settings_revision AFTER INSERT OR UPDATE OR DELETE ON settings FOR EACH ROW EXECUTE FUNCTION subject_changed();
CREATE TRIGGER consents_revision AFTER INSERT OR UPDATE OR DELETE ON consents FOR EACH ROW EXECUTE FUNCTION subject_changed();
CREATE TRIGGER blocks_revision AFTER INSERT OR UPDATE OR DELETE ON blocks FOR EACH ROW EXECUTE FUNCTION subject_changed();
CREATE TRIGGER emergency_sessions_revision AFTER INSERT OR UPDATE OR DELETE ON emergency_sessions FOR EACH ROW
    EXECUTE FUNCTION subject_changed();
CREATE TRIGGER data_keys_revision AFTER UPDATE OR DELETE ON data_keys FOR EACH ROW EXECUTE FUNCTION subject_changed();

-- A data key is inserted with its patient (creation, bulk enrolment): in the transaction that
-- inserted the patient's row, no subject of that patient can have been read, and bulk enrolment
-- should not update every row it has just inserted. Any other insert renews the revision.
-- +goose StatementBegin
CREATE FUNCTION data_keys_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k record;
BEGIN
    -- One primary-key probe per key (a join could scan the whole table at each statement).
    FOR k IN SELECT patient_id FROM inserted LOOP
        UPDATE patients SET rev = rev WHERE patient_id = k.patient_id AND xmin <> pg_current_xact_id()::xid;
    END LOOP;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER data_keys_inserted AFTER INSERT ON data_keys REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION data_keys_inserted();
