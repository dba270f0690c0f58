// Package storetest is the conformance suite that every carnet.Store must pass: create, read,
// list and update of every entity, rollback on error, read-only views, concurrent writers, chain
// heads under concurrency, outbox claiming.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/google/uuid"
)

// Open returns a fresh, empty, migrated store; the suite closes it.
type Open func(t *testing.T) carnet.Store

// Run runs the whole suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, carnet.Store)
	}{
		{"Patients", testPatients},
		{"Professionals", testProfessionals},
		{"Documents", testDocuments},
		{"ProfileEntries", testProfileEntries},
		{"WishesAndSettings", testWishesAndSettings},
		{"ConsentsAndBlocks", testConsentsAndBlocks},
		{"DataKeys", testDataKeys},
		{"EmergencySessions", testEmergencySessions},
		{"Subject", testSubject},
		{"SubjectDocument", testSubjectDocument},
		{"Audit", testAudit},
		{"AuditConcurrentAppends", testAuditConcurrent},
		{"AuditLinked", testAuditLinked},
		{"AuditLinkedInTransactions", testAuditLinkedInTransactions},
		{"Checkpoints", testCheckpoints},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Meta", testMeta},
		{"Rollback", testRollback},
		{"ReadOnlyView", testReadOnly},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentMixedOutcomes", testConcurrentMixed},
		{"EnrolBatch", testEnrolBatch},
		{"PendingCodes", testPendingCodes},
		{"Enrolments", testEnrolments},
		{"Accounts", testAccounts},
		{"Attempts", testAttempts},
		{"OneTimeCodes", testOneTimeCodes},
		{"Sessions", testSessions},
		{"Passkeys", testPasskeys},
		{"OutboxSecret", testOutboxSecret},
		{"PatientClosedAndBornBefore", testPatientClosedAndBornBefore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var ctx = context.Background()

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func update(t *testing.T, s carnet.Store, fn func(carnet.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t *testing.T, s carnet.Store, fn func(carnet.Tx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := carnet.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// NewPatient returns a valid patient with its sealed fields filled with placeholder bytes.
func NewPatient(i int) *carnet.Patient {
	id := newID()
	return &carnet.Patient{
		ID: id, NIRIndex: []byte("idx-" + id), NIRSealed: []byte("sealed-" + id), INSOID: carnet.OIDINSNIRTest,
		BirthName: fmt.Sprintf("DUPONT%d", i), GivenNames: "Marie Anne", Sex: carnet.SexFemale,
		BirthDate: time.Date(1985, 3, 14, 0, 0, 0, 0, time.UTC), BirthPlace: "75056", Email: "marie@example.org",
		Mobile: "+33612345678", Status: carnet.PatientActive,
	}
}

func createPatient(t *testing.T, s carnet.Store) *carnet.Patient {
	t.Helper()
	p := NewPatient(0)
	update(t, s, func(tx carnet.Tx) error { return tx.CreatePatient(ctx, p) })
	return p
}

func testPatients(t *testing.T, s carnet.Store) {
	parent := NewPatient(1)
	child := NewPatient(2)
	child.RightsHolderID = parent.ID
	child.Status = carnet.PatientEnrolled
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.CreatePatient(ctx, parent); err != nil {
			return err
		}
		return tx.CreatePatient(ctx, child)
	})
	if parent.CreatedAt.IsZero() || !parent.CreatedAt.Equal(parent.UpdatedAt) {
		t.Fatalf("timestamps not set: %v %v", parent.CreatedAt, parent.UpdatedAt)
	}
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Patient(ctx, parent.ID)
		if err != nil {
			return err
		}
		if got.BirthName != parent.BirthName || got.GivenNames != parent.GivenNames || got.Sex != parent.Sex ||
			!got.BirthDate.Equal(parent.BirthDate) || got.Email != parent.Email || got.Mobile != parent.Mobile ||
			got.Status != parent.Status || got.INSOID != parent.INSOID || !bytes.Equal(got.NIRSealed, parent.NIRSealed) ||
			!got.CreatedAt.Equal(parent.CreatedAt) || got.NIR != "" {
			t.Errorf("read back %+v, want %+v", got, parent)
		}
		byIdx, err := tx.PatientByNIRIndex(ctx, child.NIRIndex)
		if err != nil || byIdx.ID != child.ID || byIdx.RightsHolderID != parent.ID {
			t.Errorf("by NIR index: %+v, %v", byIdx, err)
		}
		_, err = tx.PatientByNIRIndex(ctx, []byte("nope"))
		wantCode(t, err, carnet.ENOTFOUND)
		_, err = tx.Patient(ctx, newID())
		wantCode(t, err, carnet.ENOTFOUND)
		kids, err := tx.ListPatients(ctx, carnet.PatientFilter{RightsHolderID: parent.ID})
		if err != nil || len(kids) != 1 || kids[0].ID != child.ID {
			t.Errorf("children: %v %v", kids, err)
		}
		enrolled, err := tx.ListPatients(ctx, carnet.PatientFilter{Status: carnet.PatientEnrolled})
		if err != nil || len(enrolled) != 1 {
			t.Errorf("enrolled: %v %v", enrolled, err)
		}
		all, err := tx.ListPatients(ctx, carnet.PatientFilter{Limit: 1})
		if err != nil || len(all) != 1 {
			t.Fatalf("limit: %v %v", all, err)
		}
		rest, err := tx.ListPatients(ctx, carnet.PatientFilter{AfterID: all[0].ID})
		if err != nil || len(rest) != 1 || rest[0].ID == all[0].ID {
			t.Errorf("after: %v %v", rest, err)
		}
		return nil
	})
	// Same NIR index twice: conflict, and nothing of the second patient stays.
	dup := NewPatient(3)
	dup.NIRIndex = parent.NIRIndex
	err := s.Update(ctx, func(tx carnet.Tx) error { return tx.CreatePatient(ctx, dup) })
	wantCode(t, err, carnet.ECONFLICT)
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Patient(ctx, dup.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	// Update.
	parent.Email, parent.Status, parent.UsedName = "autre@example.org", carnet.PatientClosed, "MARTIN"
	update(t, s, func(tx carnet.Tx) error { return tx.UpdatePatient(ctx, parent) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Patient(ctx, parent.ID)
		if err != nil {
			return err
		}
		if got.Email != "autre@example.org" || got.Status != carnet.PatientClosed || got.UsedName != "MARTIN" {
			t.Errorf("after update: %+v", got)
		}
		return nil
	})
	missing := NewPatient(4)
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdatePatient(ctx, missing) }), carnet.ENOTFOUND)
}

// NewProfessional returns a valid professional.
func NewProfessional(rpps string, profession carnet.Profession) *carnet.Professional {
	return &carnet.Professional{
		ID: newID(), RPPS: rpps, Profession: profession, Civility: "Dr", FamilyName: "Martin", GivenName: "Paul",
		StructureID: "750000001", StructureName: "Cabinet Martin", Active: true,
	}
}

func testProfessionals(t *testing.T, s carnet.Store) {
	a := NewProfessional("10000000001", "10")
	a.Specialty = "SM54"
	b := NewProfessional("10000000002", "70")
	b.FamilyName, b.StructureID = "Durand", "750000002"
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.CreateProfessional(ctx, a); err != nil {
			return err
		}
		return tx.CreateProfessional(ctx, b)
	})
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.ProfessionalByRPPS(ctx, "10000000001")
		if err != nil {
			return err
		}
		if got.ID != a.ID || got.Specialty != "SM54" || got.Profession != "10" || !got.Active || got.StructureName != a.StructureName {
			t.Errorf("by RPPS: %+v", got)
		}
		got, err = tx.Professional(ctx, b.ID)
		if err != nil || got.RPPS != b.RPPS {
			t.Errorf("by ID: %+v %v", got, err)
		}
		list, err := tx.ListProfessionals(ctx, carnet.ProfessionalFilter{StructureID: "750000002"})
		if err != nil || len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("by structure: %v %v", list, err)
		}
		list, err = tx.ListProfessionals(ctx, carnet.ProfessionalFilter{FamilyName: "MARTIN"})
		if err != nil || len(list) != 1 || list[0].ID != a.ID {
			t.Errorf("by name: %v %v", list, err)
		}
		_, err = tx.ProfessionalByRPPS(ctx, "99999999999")
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	dup := NewProfessional("10000000001", "21")
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateProfessional(ctx, dup) }), carnet.ECONFLICT)
	a.Active = false
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateProfessional(ctx, a) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Professional(ctx, a.ID)
		if err != nil || got.Active {
			t.Errorf("deactivation not saved: %+v %v", got, err)
		}
		return nil
	})
}

// NewDocument returns a valid document of a patient.
func NewDocument(patientID, typeCode string, day int) *carnet.Document {
	id := newID()
	t, _ := carnet.LookupDocType(typeCode)
	return &carnet.Document{
		ID: id, PatientID: patientID, TypeCode: typeCode, Class: t.Class, TitleSealed: []byte("sealed title"),
		AuthorKind: carnet.AuthorProfessional, AuthorID: "author-1", AuthorName: "Dr Paul Martin",
		ServiceDate: time.Date(2026, 1, day, 0, 0, 0, 0, time.UTC), Status: carnet.DocCurrent,
		ContentHash: bytes.Repeat([]byte{7}, 32), Size: 1234, MediaType: "application/pdf", BlobKey: patientID + "/" + id,
	}
}

func testDocuments(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	other := createPatient(t, s)
	d1 := NewDocument(p.ID, "11488-4", 1)
	d2 := NewDocument(p.ID, "18748-4", 2)
	d2.HiddenFromProfessionals = true
	d3 := NewDocument(p.ID, "11502-2", 3)
	d3.AuthorID = "author-2"
	d3.ReplacesID = d1.ID
	d4 := NewDocument(other.ID, "11488-4", 4)
	update(t, s, func(tx carnet.Tx) error {
		for _, d := range []*carnet.Document{d1, d2, d3, d4} {
			if err := tx.CreateDocument(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Document(ctx, p.ID, d2.ID)
		if err != nil {
			return err
		}
		if got.TypeCode != "18748-4" || got.Class != "31" || !got.HiddenFromProfessionals || got.HiddenFromPatient ||
			!bytes.Equal(got.ContentHash, d2.ContentHash) || got.Size != 1234 || got.MediaType != "application/pdf" ||
			!got.ServiceDate.Equal(d2.ServiceDate) || got.BlobKey != d2.BlobKey || got.AuthorKind != carnet.AuthorProfessional ||
			!bytes.Equal(got.TitleSealed, d2.TitleSealed) || got.Title != "" {
			t.Errorf("read back %+v", got)
		}
		if owner, err := tx.DocumentPatient(ctx, d2.ID); err != nil || owner != p.ID {
			t.Errorf("document's patient: %q %v", owner, err)
		}
		_, err = tx.DocumentPatient(ctx, newID())
		wantCode(t, err, carnet.ENOTFOUND)
		// A document is only found under its own patient.
		_, err = tx.Document(ctx, other.ID, d2.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		all, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID})
		if err != nil || len(all) != 3 || all[0].ID != d3.ID || all[2].ID != d1.ID {
			t.Errorf("list, newest first: %v %v", ids(all), err)
		}
		imaging, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID, Classes: []carnet.DocClass{"31"}})
		if err != nil || len(imaging) != 1 || imaging[0].ID != d2.ID {
			t.Errorf("by class: %v %v", ids(imaging), err)
		}
		byType, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID, TypeCodes: []string{"11488-4", "11502-2"}})
		if err != nil || len(byType) != 2 {
			t.Errorf("by type: %v %v", ids(byType), err)
		}
		byAuthor, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID, AuthorID: "author-2"})
		if err != nil || len(byAuthor) != 1 || byAuthor[0].ID != d3.ID || byAuthor[0].ReplacesID != d1.ID {
			t.Errorf("by author: %v %v", ids(byAuthor), err)
		}
		period, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID,
			From: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)})
		if err != nil || len(period) != 1 || period[0].ID != d2.ID {
			t.Errorf("by period: %v %v", ids(period), err)
		}
		page, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID, Page: carnet.Page{Limit: 1, Offset: 1}})
		if err != nil || len(page) != 1 || page[0].ID != d2.ID {
			t.Errorf("page: %v %v", ids(page), err)
		}
		return nil
	})
	d1.Status, d1.HiddenFromPatient, d1.TitleSealed = carnet.DocDeprecated, true, []byte("new sealed")
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateDocument(ctx, d1) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Document(ctx, p.ID, d1.ID)
		if err != nil || got.Status != carnet.DocDeprecated || !got.HiddenFromPatient || string(got.TitleSealed) != "new sealed" {
			t.Errorf("after update: %+v %v", got, err)
		}
		cur, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID, Statuses: []carnet.DocStatus{carnet.DocCurrent}})
		if err != nil || len(cur) != 2 {
			t.Errorf("current only: %v %v", ids(cur), err)
		}
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateDocument(ctx, d1) }), carnet.ECONFLICT)
}

func ids(docs []*carnet.Document) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out
}

func testProfileEntries(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	end := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	a := &carnet.ProfileEntry{ID: newID(), PatientID: p.ID, Kind: carnet.ProfileAllergy, Sealed: []byte("x"),
		Date: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), AuthorKind: carnet.AuthorPatient, AuthorID: p.ID}
	tr := &carnet.ProfileEntry{ID: newID(), PatientID: p.ID, Kind: carnet.ProfileTreatment, Sealed: []byte("y"),
		Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), EndDate: &end, AuthorKind: carnet.AuthorProfessional, AuthorID: "pro"}
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.CreateProfileEntry(ctx, a); err != nil {
			return err
		}
		return tx.CreateProfileEntry(ctx, tr)
	})
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.ProfileEntry(ctx, p.ID, tr.ID)
		if err != nil || got.Kind != carnet.ProfileTreatment || got.EndDate == nil || !got.EndDate.Equal(end) ||
			string(got.Sealed) != "y" || got.AuthorID != "pro" || got.Label != "" {
			t.Errorf("read back: %+v %v", got, err)
		}
		all, err := tx.ListProfileEntries(ctx, p.ID, "")
		if err != nil || len(all) != 2 || all[0].ID != a.ID {
			t.Errorf("list all: %v", err)
		}
		allergies, err := tx.ListProfileEntries(ctx, p.ID, carnet.ProfileAllergy)
		if err != nil || len(allergies) != 1 || allergies[0].EndDate != nil {
			t.Errorf("list allergies: %v %v", allergies, err)
		}
		return nil
	})
	a.Deleted, a.Sealed = true, []byte("z")
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateProfileEntry(ctx, a) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.ProfileEntry(ctx, p.ID, a.ID)
		if err != nil || !got.Deleted || string(got.Sealed) != "z" {
			t.Errorf("after update: %+v %v", got, err)
		}
		return nil
	})
}

func testWishesAndSettings(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Wishes(ctx, p.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		st, err := tx.Settings(ctx, p.ID)
		if err != nil || *st != carnet.DefaultSettings(p.ID) {
			t.Errorf("default settings: %+v %v", st, err)
		}
		return nil
	})
	update(t, s, func(tx carnet.Tx) error {
		return tx.PutWishes(ctx, &carnet.Wishes{PatientID: p.ID, Sealed: []byte("v1")})
	})
	update(t, s, func(tx carnet.Tx) error {
		return tx.PutWishes(ctx, &carnet.Wishes{PatientID: p.ID, Sealed: []byte("v2")})
	})
	st := carnet.DefaultSettings(p.ID)
	st.HideAll, st.BreakGlassAllowed, st.TreatingDoctorID, st.NotifyAction = true, false, "doc-1", "sms"
	update(t, s, func(tx carnet.Tx) error { return tx.PutSettings(ctx, &st) })
	st.AdministratorID = "admin-1"
	update(t, s, func(tx carnet.Tx) error { return tx.PutSettings(ctx, &st) })
	view(t, s, func(tx carnet.Tx) error {
		w, err := tx.Wishes(ctx, p.ID)
		if err != nil || string(w.Sealed) != "v2" || w.UpdatedAt.IsZero() {
			t.Errorf("wishes: %+v %v", w, err)
		}
		got, err := tx.Settings(ctx, p.ID)
		if err != nil || !got.HideAll || got.BreakGlassAllowed || !got.RegulationAllowed || got.TreatingDoctorID != "doc-1" ||
			got.AdministratorID != "admin-1" || got.NotifyAction != "sms" || got.NotifyAccess != "email" {
			t.Errorf("settings: %+v %v", got, err)
		}
		return nil
	})
}

func testConsentsAndBlocks(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	c1 := &carnet.Consent{ID: newID(), PatientID: p.ID, ProfessionalID: "pro-1", Kind: carnet.ConsentOral}
	c2 := &carnet.Consent{ID: newID(), PatientID: p.ID, ProfessionalID: "pro-2", Kind: carnet.ConsentWritten,
		Purpose: "soins", ExpiresAt: &exp, DeclaredAt: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)}
	b1 := &carnet.Block{ID: newID(), PatientID: p.ID, ProfessionalID: "pro-3"}
	b2 := &carnet.Block{ID: newID(), PatientID: p.ID, StructureID: "750000009"}
	update(t, s, func(tx carnet.Tx) error {
		for _, c := range []*carnet.Consent{c1, c2} {
			if err := tx.CreateConsent(ctx, c); err != nil {
				return err
			}
		}
		for _, b := range []*carnet.Block{b1, b2} {
			if err := tx.CreateBlock(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	bad := &carnet.Block{ID: newID(), PatientID: p.ID}
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateBlock(ctx, bad) }), carnet.EINVALID)
	view(t, s, func(tx carnet.Tx) error {
		all, err := tx.Consents(ctx, p.ID, "")
		if err != nil || len(all) != 2 {
			t.Fatalf("consents: %v %v", all, err)
		}
		one, err := tx.Consents(ctx, p.ID, "pro-2")
		if err != nil || len(one) != 1 || one[0].Purpose != "soins" || one[0].ExpiresAt == nil || !one[0].ExpiresAt.Equal(exp) ||
			!one[0].DeclaredAt.Equal(c2.DeclaredAt) || one[0].Kind != carnet.ConsentWritten || one[0].RevokedAt != nil {
			t.Errorf("consent of pro-2: %+v %v", one, err)
		}
		blocks, err := tx.Blocks(ctx, p.ID)
		if err != nil || len(blocks) != 2 {
			t.Errorf("blocks: %v %v", blocks, err)
		}
		return nil
	})
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	c1.RevokedAt, b1.RemovedAt = &now, &now
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.UpdateConsent(ctx, c1); err != nil {
			return err
		}
		return tx.UpdateBlock(ctx, b1)
	})
	view(t, s, func(tx carnet.Tx) error {
		cs, _ := tx.Consents(ctx, p.ID, "pro-1")
		if len(cs) != 1 || cs[0].RevokedAt == nil || !cs[0].RevokedAt.Equal(now) {
			t.Errorf("revocation not saved: %+v", cs)
		}
		bs, _ := tx.Blocks(ctx, p.ID)
		for _, b := range bs {
			if b.ID == b1.ID && (b.RemovedAt == nil || !b.RemovedAt.Equal(now)) {
				t.Errorf("unblock not saved: %+v", b)
			}
			if b.ID == b2.ID && (b.StructureID != "750000009" || b.ProfessionalID != "") {
				t.Errorf("structure block: %+v", b)
			}
		}
		return nil
	})
}

func testDataKeys(t *testing.T, s carnet.Store) {
	var pats []*carnet.Patient
	for i := 0; i < 3; i++ {
		pats = append(pats, createPatient(t, s))
	}
	update(t, s, func(tx carnet.Tx) error {
		for i, p := range pats {
			kek := "old"
			if i == 2 {
				kek = "new"
			}
			if err := tx.CreateDataKey(ctx, &carnet.DataKey{PatientID: p.ID, Wrapped: []byte("w" + p.ID), KEKID: kek}); err != nil {
				return err
			}
		}
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error {
		return tx.CreateDataKey(ctx, &carnet.DataKey{PatientID: pats[0].ID, Wrapped: []byte("again"), KEKID: "old"})
	}), carnet.ECONFLICT)
	view(t, s, func(tx carnet.Tx) error {
		k, err := tx.DataKey(ctx, pats[0].ID)
		if err != nil || string(k.Wrapped) != "w"+pats[0].ID || k.KEKID != "old" || k.DestroyedAt != nil {
			t.Errorf("data key: %+v %v", k, err)
		}
		todo, err := tx.DataKeysNotWrappedBy(ctx, "new", "", 10)
		if err != nil || len(todo) != 2 {
			t.Errorf("to rotate: %v %v", todo, err)
		}
		return nil
	})
	now := time.Now()
	update(t, s, func(tx carnet.Tx) error {
		k, err := tx.DataKey(ctx, pats[0].ID)
		if err != nil {
			return err
		}
		k.Wrapped, k.KEKID = []byte("rewrapped"), "new"
		if err := tx.UpdateDataKey(ctx, k); err != nil {
			return err
		}
		k2, err := tx.DataKey(ctx, pats[1].ID)
		if err != nil {
			return err
		}
		k2.DestroyedAt = &now
		return tx.UpdateDataKey(ctx, k2)
	})
	view(t, s, func(tx carnet.Tx) error {
		k, _ := tx.DataKey(ctx, pats[1].ID)
		if k.DestroyedAt == nil || len(k.Wrapped) != 0 {
			t.Errorf("destroyed key still holds bytes: %+v", k)
		}
		todo, err := tx.DataKeysNotWrappedBy(ctx, "new", "", 10)
		if err != nil || len(todo) != 0 {
			t.Errorf("after rotation and destruction, to rotate: %v %v", todo, err)
		}
		return nil
	})
}

// unlinkedEvent is an event for AppendLinked, which sets its link.
func unlinkedEvent(patientID, action string) *carnet.AuditEvent {
	e := auditEvent(patientID, carnet.AuditHead{}, action)
	e.Seq, e.PrevHash, e.Hash = 0, nil, nil
	return e
}

func auditEvent(patientID string, head carnet.AuditHead, action string) *carnet.AuditEvent {
	e := &carnet.AuditEvent{ID: newID(), PatientID: patientID, Time: time.Now().UTC().Truncate(time.Microsecond),
		ActorKind: carnet.ActorProfessional, ActorID: "pro-1", ActorName: "Dr Paul Martin", ActorProfession: "10",
		Action: action, TargetType: "document", TargetID: "doc-1", Mode: carnet.ModeNormal, Decision: carnet.DecisionAllow,
		Reason: "grid", RequestID: "req-1"}
	e.Seq = head.Seq + 1
	e.PrevHash = head.Hash
	if e.PrevHash == nil {
		e.PrevHash = make([]byte, 32)
	}
	e.Hash = []byte(fmt.Sprintf("hash-%d-%s", e.Seq, e.ID))
	return e
}

func appendEvent(tx carnet.Tx, patientID, action string) error {
	head, err := tx.AuditHead(ctx, patientID)
	if err != nil {
		return err
	}
	return tx.AppendAudit(ctx, auditEvent(patientID, head, action))
}

func testAudit(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	view(t, s, func(tx carnet.Tx) error {
		h, err := tx.AuditHead(ctx, p.ID)
		if err != nil || h.Seq != 0 || h.Hash != nil {
			t.Errorf("empty head: %+v %v", h, err)
		}
		return nil
	})
	for i, action := range []string{"document.read", "document.list", "document.read"} {
		update(t, s, func(tx carnet.Tx) error {
			head, err := tx.AuditHead(ctx, p.ID)
			if err != nil {
				return err
			}
			if head.Seq != int64(i) {
				t.Errorf("head seq %d, want %d", head.Seq, i)
			}
			return tx.AppendAudit(ctx, auditEvent(p.ID, head, action))
		})
	}
	// A stale head is refused.
	err := s.Update(ctx, func(tx carnet.Tx) error {
		return tx.AppendAudit(ctx, auditEvent(p.ID, carnet.AuditHead{Seq: 1, Hash: []byte("x")}, "x"))
	})
	if code := carnet.ErrorCode(err); code != carnet.ECONFLICT {
		t.Errorf("stale head: %v", err)
	}
	view(t, s, func(tx carnet.Tx) error {
		evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID})
		if err != nil || len(evs) != 3 {
			t.Fatalf("list: %v %v", evs, err)
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) || (i > 0 && !bytes.Equal(e.PrevHash, evs[i-1].Hash)) {
				t.Errorf("chain broken at %d: %+v", i, e)
			}
		}
		e := evs[0]
		if e.ActorName != "Dr Paul Martin" || e.ActorProfession != "10" || e.Mode != carnet.ModeNormal || e.Reason != "grid" ||
			e.RequestID != "req-1" || e.TargetID != "doc-1" || e.Time.IsZero() {
			t.Errorf("fields: %+v", e)
		}
		reads, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID, Action: "document.read"})
		if len(reads) != 2 {
			t.Errorf("by action: %d", len(reads))
		}
		for _, tc := range []struct {
			typ, id string
			want    int
		}{{"document", "doc-1", 3}, {"", "doc-1", 3}, {"document", "doc-2", 0}, {"patient", "", 0}} {
			if got, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID, TargetType: tc.typ, TargetID: tc.id}); len(got) != tc.want {
				t.Errorf("by target %s/%s: %d events, want %d", tc.typ, tc.id, len(got), tc.want)
			}
		}
		desc, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID, Desc: true, Limit: 1})
		if len(desc) != 1 || desc[0].Seq != 3 {
			t.Errorf("newest: %+v", desc)
		}
		after, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID, AfterSeq: 2})
		if len(after) != 1 || after[0].Seq != 3 {
			t.Errorf("after seq: %+v", after)
		}
		head, _ := tx.AuditHead(ctx, p.ID)
		if head.Seq != 3 || !bytes.Equal(head.Hash, evs[2].Hash) {
			t.Errorf("head: %+v", head)
		}
		pats, err := tx.AuditPatients(ctx, "", 10)
		if err != nil || len(pats) != 1 || pats[0] != p.ID {
			t.Errorf("audit patients: %v %v", pats, err)
		}
		moved, err := tx.AuditHeadsChangedSince(ctx, time.Time{}, "", 10)
		if err != nil || len(moved) != 1 || moved[0].Seq != 3 || !bytes.Equal(moved[0].Hash, evs[2].Hash) {
			t.Errorf("heads changed since the epoch: %+v %v", moved, err)
		}
		later, err := tx.AuditHeadsChangedSince(ctx, time.Now().Add(time.Hour), "", 10)
		if err != nil || len(later) != 0 {
			t.Errorf("heads changed in the future: %+v %v", later, err)
		}
		return nil
	})
}

// testAuditConcurrent appends from many goroutines to one chain: every append must land at its
// own seq with no gap and no duplicate.
func testAuditConcurrent(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	const workers, each = 8, 10
	concurrently(t, "concurrent append", workers, each, func() error {
		return s.Update(ctx, func(tx carnet.Tx) error { return appendEvent(tx, p.ID, "document.read") })
	})
	view(t, s, func(tx carnet.Tx) error {
		evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID})
		if err != nil || len(evs) != workers*each {
			t.Fatalf("events: %d %v", len(evs), err)
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) || (i > 0 && !bytes.Equal(e.PrevHash, evs[i-1].Hash)) {
				t.Fatalf("chain broken at %d", i)
			}
		}
		return nil
	})
}

// testAuditLinked appends with AppendLinked (the store links the event): concurrent first
// events race to create the chain, then many goroutines append to it; the chain must verify
// with audit.VerifyChain, and the store must have set each event's link as audit.Link does.
func testAuditLinked(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	linked := func(action string) *carnet.AuditEvent { return unlinkedEvent(p.ID, action) }
	const workers, each = 8, 12
	concurrently(t, "linked append", workers, each, func() error {
		e := linked("document.read")
		err := s.Update(ctx, func(tx carnet.Tx) error { return tx.AppendLinked(ctx, e) })
		if err != nil {
			return err
		}
		// The link is set once the event is sent, at the latest by the commit.
		if e.Seq < 1 || len(e.PrevHash) != audit.HashSize || !bytes.Equal(e.Hash, audit.Hash(e)) {
			return fmt.Errorf("event not linked: seq %d prev %x hash %x", e.Seq, e.PrevHash, e.Hash)
		}
		return nil
	})
	// A linked append follows appends linked by the caller, and the other way round.
	update(t, s, func(tx carnet.Tx) error {
		head, err := tx.AuditHead(ctx, p.ID)
		if err != nil {
			return err
		}
		e := auditEvent(p.ID, head, "document.list")
		audit.Link(e, head)
		if err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
		return tx.AppendLinked(ctx, linked("document.read"))
	})
	view(t, s, func(tx carnet.Tx) error {
		evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID})
		if err != nil || len(evs) != workers*each+2 {
			t.Fatalf("events: %d %v", len(evs), err)
		}
		if probs := audit.VerifyChain(p.ID, evs, nil); len(probs) != 0 {
			t.Fatalf("chain does not verify: %v", probs)
		}
		if !bytes.Equal(evs[0].PrevHash, make([]byte, audit.HashSize)) {
			t.Errorf("first event's previous hash: %x", evs[0].PrevHash)
		}
		head, _ := tx.AuditHead(ctx, p.ID)
		if last := evs[len(evs)-1]; head.Seq != last.Seq || !bytes.Equal(head.Hash, last.Hash) {
			t.Errorf("head %d %x, last event %d %x", head.Seq, head.Hash, last.Seq, last.Hash)
		}
		return nil
	})
	// Long field values and non-ASCII text hash the same in the store as in Go.
	update(t, s, func(tx carnet.Tx) error {
		e := linked("document.read")
		e.ActorName, e.Reason = "Dr Zoé Lefèvre-Ångström", strings.Repeat("motif très long ", 400)
		return tx.AppendLinked(ctx, e)
	})
}

// concurrently runs fn each times in each of workers goroutines and fails the test (naming
// what) on the first error.
func concurrently(t *testing.T, what string, workers, each int, fn func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- fn()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

func testCheckpoints(t *testing.T, s carnet.Store) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx carnet.Tx) error {
		for i := 0; i < 3; i++ {
			if err := tx.CreateCheckpoint(ctx, &carnet.CheckpointRecord{ID: newID(), Time: t0.Add(time.Duration(i) * time.Hour), Body: []byte{byte(i)}}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx carnet.Tx) error {
		cps, err := tx.Checkpoints(ctx, t0, 10)
		if err != nil || len(cps) != 2 || cps[0].Body[0] != 1 || !cps[1].Time.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("checkpoints: %+v %v", cps, err)
		}
		return nil
	})
}

// testAuditLinkedInTransactions: an AppendLinked (which PostgreSQL sends with the
// transaction's next statement, or alone at its commit) is atomic with the rest of its
// transaction, seen by its later statements, and in order with other appends.
func testAuditLinkedInTransactions(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	linked := func(action string) *carnet.AuditEvent { return unlinkedEvent(p.ID, action) }
	events := func() []*carnet.AuditEvent {
		var evs []*carnet.AuditEvent
		view(t, s, func(tx carnet.Tx) error {
			var err error
			evs, err = tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID})
			return err
		})
		return evs
	}
	messages := func() int {
		var n int
		view(t, s, func(tx carnet.Tx) error {
			ms, err := tx.ListOutbox(ctx, p.ID)
			n = len(ms)
			return err
		})
		return n
	}
	// Alone, on a chain without a head row yet (a new chain).
	first := linked("document.read")
	update(t, s, func(tx carnet.Tx) error {
		if _, err := tx.Patient(ctx, p.ID); err != nil {
			return err
		}
		return tx.AppendLinked(ctx, first)
	})
	if evs := events(); len(evs) != 1 || first.Seq != 1 || evs[0].ID != first.ID {
		t.Fatalf("an append alone on a new chain: %d events, seq %d", len(evs), first.Seq)
	}
	// A failing transaction keeps neither its append nor its other writes.
	failed := errors.New("the transaction's own failure")
	err := s.Update(ctx, func(tx carnet.Tx) error {
		if err := tx.AppendLinked(ctx, linked("document.read")); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) || len(events()) != 1 {
		t.Fatalf("failing transaction: %v, %d events", err, len(events()))
	}
	err = s.Update(ctx, func(tx carnet.Tx) error {
		if err := tx.AppendLinked(ctx, linked("document.read")); err != nil {
			return err
		}
		if err := tx.EnqueueOutbox(ctx, newMessage(p.ID, "after-append")); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) || len(events()) != 1 || messages() != 0 {
		t.Fatalf("failing transaction with a write after the append: %v, %d events, %d messages", err, len(events()), messages())
	}
	// Later statements see the event; two appends keep their order; a write after them
	// commits with them.
	a, b := linked("document.list"), linked("document.read")
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.AppendLinked(ctx, a); err != nil {
			return err
		}
		evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID})
		if err != nil {
			return err
		}
		if len(evs) != 2 || evs[1].ID != a.ID {
			t.Errorf("the transaction does not see its append: %d events", len(evs))
		}
		if err := tx.AppendLinked(ctx, b); err != nil {
			return err
		}
		return tx.EnqueueOutbox(ctx, newMessage(p.ID, "with-appends"))
	})
	evs := events()
	if len(evs) != 3 || evs[1].ID != a.ID || evs[2].ID != b.ID || a.Seq != 2 || b.Seq != 3 || messages() != 1 {
		t.Fatalf("two appends and a message: %d events, seqs %d %d, %d messages", len(evs), a.Seq, b.Seq, messages())
	}
	view(t, s, func(tx carnet.Tx) error {
		head, err := tx.AuditHead(ctx, p.ID)
		if err != nil {
			return err
		}
		if probs := audit.VerifyChain(p.ID, evs, []audit.Anchor{audit.AnchorFromHead(head)}); len(probs) != 0 {
			t.Errorf("chain: %+v", probs)
		}
		return nil
	})
	// A read-only transaction refuses it.
	if err := s.View(ctx, func(tx carnet.Tx) error { return tx.AppendLinked(ctx, linked("document.read")) }); err == nil {
		t.Errorf("AppendLinked in a read-only transaction succeeded")
	}
}

func newMessage(patientID, key string) *carnet.OutboxMessage {
	return &carnet.OutboxMessage{ID: newID(), PatientID: patientID, Kind: "first_access", Channel: "email",
		Recipient: "marie@example.org", Subject: "Nouvel accès", Body: "Un professionnel a consulté votre profil.", IdempotencyKey: key}
}

func testOutbox(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	m := newMessage(p.ID, "k1")
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.EnqueueOutbox(ctx, m); err != nil {
			return err
		}
		// The same key again is ignored.
		return tx.EnqueueOutbox(ctx, newMessage(p.ID, "k1"))
	})
	later := newMessage(p.ID, "k2")
	later.NextAttemptAt = time.Now().Add(time.Hour)
	update(t, s, func(tx carnet.Tx) error { return tx.EnqueueOutbox(ctx, later) })
	var claimed []*carnet.OutboxMessage
	update(t, s, func(tx carnet.Tx) error {
		var err error
		claimed, err = tx.ClaimOutbox(ctx, 10, tx.Now().Add(time.Minute))
		return err
	})
	if len(claimed) != 1 || claimed[0].ID != m.ID || claimed[0].Body != m.Body || claimed[0].Status != carnet.OutboxPending {
		t.Fatalf("claimed: %+v", claimed)
	}
	// Leased: a second claim gets nothing.
	update(t, s, func(tx carnet.Tx) error {
		again, err := tx.ClaimOutbox(ctx, 10, tx.Now().Add(time.Minute))
		if len(again) != 0 {
			t.Errorf("claimed twice: %+v", again)
		}
		return err
	})
	sent := time.Now().UTC().Truncate(time.Microsecond)
	c := claimed[0]
	c.Status, c.Attempts, c.SentAt = carnet.OutboxSent, 1, &sent
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateOutbox(ctx, c) })
	view(t, s, func(tx carnet.Tx) error {
		all, err := tx.ListOutbox(ctx, p.ID)
		if err != nil || len(all) != 2 {
			t.Fatalf("list: %v %v", all, err)
		}
		if all[0].Status != carnet.OutboxSent || all[0].Attempts != 1 || all[0].SentAt == nil || !all[0].SentAt.Equal(sent) {
			t.Errorf("sent state: %+v", all[0])
		}
		return nil
	})
}

// testOutboxConcurrentClaims: workers claiming at once never get the same message.
func testOutboxConcurrentClaims(t *testing.T, s carnet.Store) {
	const n = 60
	update(t, s, func(tx carnet.Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.EnqueueOutbox(ctx, newMessage("", fmt.Sprintf("key-%d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got []*carnet.OutboxMessage
				err := s.Update(ctx, func(tx carnet.Tx) error {
					var err error
					got, err = tx.ClaimOutbox(ctx, 5, tx.Now().Add(time.Hour))
					return err
				})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct messages, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("message %s claimed %d times", id, c)
		}
	}
}

func testMeta(t *testing.T, s carnet.Store) {
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Meta(ctx, "k")
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	update(t, s, func(tx carnet.Tx) error { return tx.PutMeta(ctx, "k", []byte("v1")) })
	update(t, s, func(tx carnet.Tx) error { return tx.PutMeta(ctx, "k", []byte("v2")) })
	view(t, s, func(tx carnet.Tx) error {
		v, err := tx.Meta(ctx, "k")
		if err != nil || string(v) != "v2" {
			t.Errorf("meta: %q %v", v, err)
		}
		return nil
	})
}

// testRollback: an error returned by fn undoes every write of the transaction, across tables.
func testRollback(t *testing.T, s carnet.Store) {
	p := NewPatient(9)
	boom := errors.New("boom")
	var docID string
	err := s.Update(ctx, func(tx carnet.Tx) error {
		if err := tx.CreatePatient(ctx, p); err != nil {
			return err
		}
		d := NewDocument(p.ID, "11488-4", 1)
		docID = d.ID
		if err := tx.CreateDocument(ctx, d); err != nil {
			return err
		}
		if err := appendEvent(tx, p.ID, "document.deposit"); err != nil {
			return err
		}
		if err := tx.EnqueueOutbox(ctx, newMessage(p.ID, "rollback-key")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Patient(ctx, p.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		_, err = tx.PatientByNIRIndex(ctx, p.NIRIndex)
		wantCode(t, err, carnet.ENOTFOUND)
		_, err = tx.Document(ctx, p.ID, docID)
		wantCode(t, err, carnet.ENOTFOUND)
		evs, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID})
		msgs, _ := tx.ListOutbox(ctx, p.ID)
		if len(evs) != 0 || len(msgs) != 0 {
			t.Errorf("rolled-back audit/outbox rows remain: %d %d", len(evs), len(msgs))
		}
		return nil
	})
	// A failing statement inside the transaction (a conflict) also rolls back earlier writes.
	q := NewPatient(10)
	err = s.Update(ctx, func(tx carnet.Tx) error {
		if err := tx.CreatePatient(ctx, q); err != nil {
			return err
		}
		return tx.CreatePatient(ctx, q)
	})
	wantCode(t, err, carnet.ECONFLICT)
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Patient(ctx, q.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	// A panic in fn rolls back too and is not swallowed.
	r := NewPatient(11)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		s.Update(ctx, func(tx carnet.Tx) error {
			if err := tx.CreatePatient(ctx, r); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Patient(ctx, r.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
}

func testReadOnly(t *testing.T, s carnet.Store) {
	err := s.View(ctx, func(tx carnet.Tx) error { return tx.CreatePatient(ctx, NewPatient(12)) })
	if err == nil {
		t.Fatal("write inside View succeeded")
	}
	view(t, s, func(tx carnet.Tx) error {
		ps, err := tx.ListPatients(ctx, carnet.PatientFilter{})
		if err != nil || len(ps) != 0 {
			t.Errorf("a write leaked from View: %v %v", ps, err)
		}
		return nil
	})
}

// testConcurrentWriters: many goroutines write distinct patients with documents at once; every
// write lands, and a reader sees consistent transactions.
func testConcurrentWriters(t *testing.T, s carnet.Store) {
	const workers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := NewPatient(w*1000 + i)
				errs <- s.Update(ctx, func(tx carnet.Tx) error {
					if err := tx.CreatePatient(ctx, p); err != nil {
						return err
					}
					for j := 0; j < 2; j++ {
						if err := tx.CreateDocument(ctx, NewDocument(p.ID, "11488-4", j+1)); err != nil {
							return err
						}
					}
					return appendEvent(tx, p.ID, "document.deposit")
				})
			}
		}(w)
	}
	// A concurrent reader never sees a patient without its two documents.
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := s.View(ctx, func(tx carnet.Tx) error {
				ps, err := tx.ListPatients(ctx, carnet.PatientFilter{Limit: 1000})
				if err != nil {
					return err
				}
				for _, p := range ps {
					docs, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: p.ID})
					if err != nil {
						return err
					}
					if len(docs) != 2 {
						return fmt.Errorf("patient %s seen with %d documents", p.ID, len(docs))
					}
				}
				return nil
			})
			if err != nil {
				t.Errorf("reader: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	view(t, s, func(tx carnet.Tx) error {
		ps, err := tx.ListPatients(ctx, carnet.PatientFilter{Limit: 1000})
		if err != nil || len(ps) != workers*each {
			t.Errorf("patients: %d %v", len(ps), err)
		}
		return nil
	})
}

// OpenB returns a fresh store for a benchmark.
type OpenB func(b *testing.B) carnet.Store

// Bench measures store writes: one transaction creating a document's metadata with its audit
// event, serially and from 8 goroutines.
func Bench(b *testing.B, open OpenB) {
	setup := func(b *testing.B) (carnet.Store, *carnet.Patient) {
		s := open(b)
		b.Cleanup(func() { s.Close() })
		p := NewPatient(0)
		if err := s.Update(ctx, func(tx carnet.Tx) error { return tx.CreatePatient(ctx, p) }); err != nil {
			b.Fatal(err)
		}
		return s, p
	}
	write := func(s carnet.Store, p *carnet.Patient) error {
		return s.Update(ctx, func(tx carnet.Tx) error {
			if err := tx.CreateDocument(ctx, NewDocument(p.ID, "11488-4", 1)); err != nil {
				return err
			}
			return appendEvent(tx, p.ID, "document.deposit")
		})
	}
	b.Run("DocumentWithAudit", func(b *testing.B) {
		s, p := setup(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := write(s, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DocumentWithAuditParallel8", func(b *testing.B) {
		s, _ := setup(b)
		// Eight writers on eight patients: on SQLite they queue on the one writer, on PostgreSQL
		// they run side by side.
		pats := make(chan *carnet.Patient, 8)
		for i := 0; i < 8; i++ {
			p := NewPatient(i + 1)
			if err := s.Update(ctx, func(tx carnet.Tx) error { return tx.CreatePatient(ctx, p) }); err != nil {
				b.Fatal(err)
			}
			pats <- p
		}
		b.SetParallelism(8 / max(1, runtimeProcs()))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			p := <-pats
			for pb.Next() {
				if err := write(s, p); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ReadDocument", func(b *testing.B) {
		s, p := setup(b)
		d := NewDocument(p.ID, "11488-4", 1)
		if err := s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateDocument(ctx, d) }); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.View(ctx, func(tx carnet.Tx) error { _, err := tx.Document(ctx, p.ID, d.ID); return err }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// testConcurrentMixed: concurrent transactions, half of which fail after writing, half of which
// panic or succeed. Each one's fate is its own, even when a store runs them in one batch.
func testConcurrentMixed(t *testing.T, s carnet.Store) {
	const n = 48
	pats := make([]*carnet.Patient, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		pats[i] = NewPatient(i)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					errs[i] = fmt.Errorf("panic: %v", v)
				}
			}()
			errs[i] = s.Update(ctx, func(tx carnet.Tx) error {
				if err := tx.CreatePatient(ctx, pats[i]); err != nil {
					return err
				}
				if err := appendEvent(tx, pats[i].ID, "patient.create"); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return fmt.Errorf("refused %d", i)
				case 2:
					if i%2 == 0 {
						panic(fmt.Sprintf("boom %d", i))
					}
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	view(t, s, func(tx carnet.Tx) error {
		for i, p := range pats {
			_, err := tx.Patient(ctx, p.ID)
			evs, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: p.ID})
			shouldExist := i%3 == 0 || (i%3 == 2 && i%2 == 1)
			if shouldExist && (err != nil || errs[i] != nil || len(evs) != 1) {
				t.Errorf("transaction %d should have committed: %v / %v / %d events", i, err, errs[i], len(evs))
			}
			if !shouldExist && (err == nil || errs[i] == nil || len(evs) != 0) {
				t.Errorf("transaction %d should have rolled back: %v / %v / %d events", i, err, errs[i], len(evs))
			}
		}
		return nil
	})
}

// BenchAudit measures audit appends: one event per transaction, from 16, 64 and 256 concurrent
// writers each on its own patient (a server under load), reported as events per second.
func BenchAudit(b *testing.B, open OpenB) {
	for _, writers := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchAudit(b, open, writers) })
	}
}

func benchAudit(b *testing.B, open OpenB, writers int) {
	s := open(b)
	b.Cleanup(func() { s.Close() })
	pats := make(chan string, writers)
	for i := 0; i < writers; i++ {
		p := NewPatient(i)
		if err := s.Update(ctx, func(tx carnet.Tx) error { return tx.CreatePatient(ctx, p) }); err != nil {
			b.Fatal(err)
		}
		pats <- p.ID
	}
	b.SetParallelism(max(1, writers/max(1, runtimeProcs())))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := <-pats
		for pb.Next() {
			if err := s.Update(ctx, func(tx carnet.Tx) error { return appendEvent(tx, id, "document.read") }); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
func testEmergencySessions(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	t0 := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	e := &carnet.EmergencySession{PatientID: p.ID, ProfessionalID: "pro-1", Mode: carnet.ModeBreakGlass, Reason: "malaise",
		StartedAt: t0, EndsAt: t0.Add(120 * time.Hour)}
	update(t, s, func(tx carnet.Tx) error { return tx.PutEmergencySession(ctx, e) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.EmergencySession(ctx, p.ID, "pro-1")
		if err != nil || *got != *e {
			t.Errorf("session: %+v %v", got, err)
		}
		_, err = tx.EmergencySession(ctx, p.ID, "pro-2")
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	e.Mode, e.Reason = carnet.ModeRegulation, "appel au 15"
	update(t, s, func(tx carnet.Tx) error { return tx.PutEmergencySession(ctx, e) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.EmergencySession(ctx, p.ID, "pro-1")
		if err != nil || got.Mode != carnet.ModeRegulation || got.Reason != "appel au 15" {
			t.Errorf("replaced session: %+v %v", got, err)
		}
		return nil
	})
}

// testSubject: the one-query read of a decision's inputs agrees with the separate reads.
func testSubject(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	pro := NewProfessional("10000000019", "10")
	update(t, s, func(tx carnet.Tx) error { return tx.CreateProfessional(ctx, pro) })
	view(t, s, func(tx carnet.Tx) error {
		sub, err := tx.Subject(ctx, p.ID, pro.ID)
		if err != nil {
			return err
		}
		if sub.Patient.ID != p.ID || sub.Patient.BirthName != p.BirthName || !sub.Patient.BirthDate.Equal(p.BirthDate) ||
			*sub.Settings != carnet.DefaultSettings(p.ID) || sub.Professional == nil || sub.Professional.RPPS != pro.RPPS ||
			!sub.Professional.Active || sub.Emergency != nil || sub.Accessed {
			t.Errorf("fresh subject: %+v %+v %+v", sub.Patient, sub.Settings, sub.Professional)
		}
		none, err := tx.Subject(ctx, p.ID, "")
		if err != nil || none.Professional != nil || none.Accessed {
			t.Errorf("subject without actor: %+v %v", none, err)
		}
		_, err = tx.Subject(ctx, newID(), pro.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	st := carnet.DefaultSettings(p.ID)
	st.HideAll, st.TreatingDoctorID = true, pro.ID
	t0 := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.PutSettings(ctx, &st); err != nil {
			return err
		}
		if err := tx.PutEmergencySession(ctx, &carnet.EmergencySession{PatientID: p.ID, ProfessionalID: pro.ID,
			Mode: carnet.ModeBreakGlass, Reason: "malaise", StartedAt: t0, EndsAt: t0.Add(time.Hour)}); err != nil {
			return err
		}
		head, err := tx.AuditHead(ctx, p.ID)
		if err != nil {
			return err
		}
		e := auditEvent(p.ID, head, "patient.search")
		e.ActorID = pro.ID
		return tx.AppendAudit(ctx, e)
	})
	view(t, s, func(tx carnet.Tx) error {
		sub, err := tx.Subject(ctx, p.ID, pro.ID)
		if err != nil {
			return err
		}
		if !sub.Settings.HideAll || sub.Settings.TreatingDoctorID != pro.ID || sub.Emergency == nil ||
			sub.Emergency.Mode != carnet.ModeBreakGlass || !sub.Emergency.StartedAt.Equal(t0) || sub.Accessed {
			t.Errorf("subject after settings, session and a search: %+v %+v accessed=%v", sub.Settings, sub.Emergency, sub.Accessed)
		}
		return nil
	})
	update(t, s, func(tx carnet.Tx) error {
		head, err := tx.AuditHead(ctx, p.ID)
		if err != nil {
			return err
		}
		e := auditEvent(p.ID, head, "document.read")
		e.ActorID = pro.ID
		return tx.AppendAudit(ctx, e)
	})
	view(t, s, func(tx carnet.Tx) error {
		sub, err := tx.Subject(ctx, p.ID, pro.ID)
		if err != nil || !sub.Accessed {
			t.Errorf("accessed after a read: %v %v", sub, err)
		}
		if sub != nil && (sub.DataKey != nil || len(sub.Consents) != 0 || len(sub.Blocks) != 0) {
			t.Errorf("no key, consent or block yet: %+v %v %v", sub.DataKey, sub.Consents, sub.Blocks)
		}
		return nil
	})
	// The actor's consents, the record's blocks and the data key come with the subject, equal to
	// what the separate reads return (order included).
	other := NewProfessional("10000000027", "10")
	exp, rev := t0.Add(48*time.Hour), t0.Add(time.Hour)
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.CreateProfessional(ctx, other); err != nil {
			return err
		}
		for _, c := range []*carnet.Consent{
			{ID: newID(), PatientID: p.ID, ProfessionalID: pro.ID, Kind: carnet.ConsentOral, DeclaredAt: t0.Add(2 * time.Hour), ExpiresAt: &exp},
			{ID: newID(), PatientID: p.ID, ProfessionalID: pro.ID, Kind: carnet.ConsentWritten, Purpose: "soins « suivi »", DeclaredAt: t0, RevokedAt: &rev},
			{ID: newID(), PatientID: p.ID, ProfessionalID: other.ID, Kind: carnet.ConsentOral, DeclaredAt: t0},
		} {
			if err := tx.CreateConsent(ctx, c); err != nil {
				return err
			}
		}
		for _, b := range []*carnet.Block{
			{ID: newID(), PatientID: p.ID, StructureID: "struct-9", CreatedAt: t0.Add(time.Hour), RemovedAt: &exp},
			{ID: newID(), PatientID: p.ID, ProfessionalID: other.ID, CreatedAt: t0},
		} {
			if err := tx.CreateBlock(ctx, b); err != nil {
				return err
			}
		}
		return tx.CreateDataKey(ctx, &carnet.DataKey{PatientID: p.ID, Wrapped: []byte("wrapped"), KEKID: "kek-1"})
	})
	view(t, s, func(tx carnet.Tx) error {
		sub, err := tx.Subject(ctx, p.ID, pro.ID)
		if err != nil {
			return err
		}
		cs, _ := tx.Consents(ctx, p.ID, pro.ID)
		bs, _ := tx.Blocks(ctx, p.ID)
		k, _ := tx.DataKey(ctx, p.ID)
		if len(cs) != 2 || !reflect.DeepEqual(sub.Consents, cs) {
			t.Errorf("consents with the subject:\n%s\nseparately:\n%s", dump(sub.Consents), dump(cs))
		}
		if len(bs) != 2 || !reflect.DeepEqual(sub.Blocks, bs) {
			t.Errorf("blocks with the subject:\n%s\nseparately:\n%s", dump(sub.Blocks), dump(bs))
		}
		if !reflect.DeepEqual(sub.DataKey, k) {
			t.Errorf("data key with the subject: %+v, separately %+v", sub.DataKey, k)
		}
		none, err := tx.Subject(ctx, p.ID, "")
		if err != nil || none.Consents != nil || none.Blocks != nil || !reflect.DeepEqual(none.DataKey, k) {
			t.Errorf("subject without actor: %v %v %+v %v", none.Consents, none.Blocks, none.DataKey, err)
		}
		return nil
	})
}

// testSubjectDocument: the subject read with a document is the subject read alone plus the
// document as Document reads it; another patient's document, or none, reads as nil.
func testSubjectDocument(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	other := createPatient(t, s)
	pro := NewProfessional("10000000035", "10")
	d := NewDocument(p.ID, "11488-4", 5)
	d.HiddenFromPatient, d.ReplacesID, d.StructureID = true, newID(), "struct-1"
	d2 := NewDocument(p.ID, "18748-4", 6)
	d2.HiddenFromProfessionals, d2.HiddenFromRepresentatives, d2.Status = true, true, carnet.DocDeprecated
	elsewhere := NewDocument(other.ID, "11488-4", 7)
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.CreateProfessional(ctx, pro); err != nil {
			return err
		}
		if err := tx.CreateConsent(ctx, &carnet.Consent{ID: newID(), PatientID: p.ID, ProfessionalID: pro.ID,
			Kind: carnet.ConsentOral, DeclaredAt: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)}); err != nil {
			return err
		}
		for _, d := range []*carnet.Document{d, d2, elsewhere} {
			if err := tx.CreateDocument(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx carnet.Tx) error {
		alone, err := tx.Subject(ctx, p.ID, pro.ID)
		if err != nil {
			return err
		}
		for _, actor := range []string{pro.ID, ""} {
			for _, want := range []*carnet.Document{d, d2} {
				sub, err := tx.SubjectDocument(ctx, p.ID, actor, want.ID)
				if err != nil {
					return err
				}
				sep, err := tx.Document(ctx, p.ID, want.ID)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(sub.Document, sep) {
					t.Errorf("document with the subject (actor %q):\n%+v\nseparately:\n%+v", actor, sub.Document, sep)
				}
				if actor == pro.ID {
					sub.Document = nil
					if !reflect.DeepEqual(sub, alone) {
						t.Errorf("subject with a document:\n%+v\nalone:\n%+v", sub, alone)
					}
				}
			}
		}
		for _, id := range []string{elsewhere.ID, newID()} {
			sub, err := tx.SubjectDocument(ctx, p.ID, pro.ID, id)
			if err != nil || sub.Document != nil || sub.Patient.ID != p.ID || len(sub.Consents) != 1 {
				t.Errorf("subject with a document not the patient's: %+v %v", sub, err)
			}
		}
		if alone.Document != nil {
			t.Errorf("Subject read a document: %+v", alone.Document)
		}
		_, err = tx.SubjectDocument(ctx, newID(), pro.ID, d.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
}

func dump[T any](vs []*T) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%+v\n", *v)
	}
	return b.String()
}
