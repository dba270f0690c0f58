-- +goose Up
-- The same columns as PostgreSQL's revisions of a subject (its migration 00005), read by the
-- same queries. They stay 0 here: an embedded store keeps no subject between transactions (its
-- reads are local and cheap), so nothing compares them.
ALTER TABLE patients ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE professionals ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
