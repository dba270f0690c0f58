package audit

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

func TestActionLabel(t *testing.T) {
	// Every action the service records has a label of its own.
	for _, code := range []string{
		"document.read", "document.list", "document.deposit", "document.replace", "document.delete",
		"document.hide", "document.unhide", "document.reveal_patient", "document.reveal_representatives",
		"document.reveal_to_patient", "document.reveal_to_representatives",
		"profile.read", "profile.add", "profile.write", "vaccination.read", "vaccination.add",
		"wishes.read", "wishes.write", "settings.write", "consent.declare", "consent.revoke",
		"block.add", "block.create", "block.remove", "administrator.set", "emergency.start",
		"history.read", "history.export", "export", "patient.create", "patient.activate",
		"patient.close", "patient.reopen", "patient.destroy", "key.destroy",
	} {
		l := ActionLabel(code)
		if l == "" || strings.Contains(l, code) || strings.HasPrefix(l, "Action") {
			t.Errorf("ActionLabel(%q) = %q: no proper label", code, l)
		}
	}
	for code, want := range map[string]string{
		"document.read":      "Consultation d'un document",
		"emergency.start":    "Début d'un accès en urgence",
		"document.archive":   "Action sur un document (archive)",
		"vaccination.delete": "Suppression : les vaccinations",
		"message.read":       "Consultation : la messagerie",
		"frobnicate":         "Action « frobnicate »",
		"truc.read":          "Action « truc.read »",
		"":                   "Action non précisée",
	} {
		if got := ActionLabel(code); got != want {
			t.Errorf("ActionLabel(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestLabels(t *testing.T) {
	cases := []struct{ got, want string }{
		{ModeLabel(carnet.ModeNormal), "Normal"},
		{ModeLabel(carnet.ModeRegulation), "Centre 15 (régulation médicale du SAMU)"},
		{ModeLabel(carnet.ModeBreakGlass), "Bris de glace (urgence)"},
		{ModeLabel(""), ""},
		{ModeLabel("autre"), "autre"},
		{DecisionLabel(carnet.DecisionAllow), "Autorisé"},
		{DecisionLabel(carnet.DecisionDeny), "Refusé"},
		{DecisionLabel("?"), "?"},
		{ReasonLabel("blocked"), "Professionnel bloqué par le patient"},
		{ReasonLabel("break_glass ; motif : patient inconscient"), "Bris de glace ; motif : patient inconscient"},
		{ReasonLabel("inscription"), "inscription"},
		{ReasonLabel("blocked@2023-10-26.1"), "Professionnel bloqué par le patient"},
		{ReasonLabel("break_glass@2023-10-26.1 ; motif : chute"), "Bris de glace ; motif : chute"},
		{ActionLabel("account.login"), "Connexion"},
		{ActionLabel("patient.enrol"), "Inscription par l'Assurance Maladie"},
		{ReasonLabel(""), ""},
		{TargetLabel("document", "doc-1"), "Document (réf. doc-1)"},
		{TargetLabel("profile", "allergy"), "Profil médical (réf. allergy)"},
		{TargetLabel("settings", "pat-1"), "Paramètres de l'espace santé"},
		{TargetLabel("patient", "pat-1"), "Espace santé"},
		{TargetLabel("message", "m-1"), "Message (réf. m-1)"},
		{TargetLabel("document", ""), "Document"},
		{TargetLabel("", "x"), "x"},
		{ActorKindLabel(carnet.ActorRegulator), "médecin régulateur du SAMU"},
		{ActorKindLabel("robot"), "robot"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("%d: got %q, want %q", i, c.got, c.want)
		}
	}
}

func TestParisLocation(t *testing.T) {
	loc := ParisLocation()
	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC).In(loc)
	summer := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC).In(loc)
	if winter.Hour() != 13 || summer.Hour() != 14 {
		t.Errorf("winter %v, summer %v", winter, summer)
	}
}

func historyEvents() []*carnet.AuditEvent {
	read := newEvent(patient, 1)
	read.Time = time.Date(2026, 3, 1, 9, 31, 5, 0, time.UTC)

	denied := newEvent(patient, 2)
	denied.Time = time.Date(2026, 7, 14, 22, 15, 0, 0, time.UTC) // summer time: 00:15 the next day
	denied.Decision, denied.Reason = carnet.DecisionDeny, "blocked"

	urgence := newEvent(patient, 3)
	urgence.ActorName, urgence.ActorStructure, urgence.ActorProfession = "Dr Paul Urgent", "CHU de Rennes", "10"
	urgence.Mode, urgence.Reason = carnet.ModeBreakGlass, "break_glass ; motif : patient inconscient"

	rep := newEvent(patient, 4)
	rep.ActorKind, rep.ActorName, rep.ActorProfession, rep.ActorStructure = carnet.ActorRepresentative, "Jeanne Dupont", "", ""
	rep.Action, rep.TargetType, rep.TargetID, rep.Mode, rep.Reason = "settings.write", "settings", patient, carnet.ModeNormal, "representative"

	sys := newEvent(patient, 5)
	sys.ActorKind, sys.ActorID, sys.ActorName, sys.ActorProfession, sys.ActorStructure = carnet.ActorSystem, "", "", "", ""
	sys.Action, sys.TargetType, sys.TargetID, sys.Mode, sys.Reason = "patient.create", "patient", patient, "", "inscription"

	evil := newEvent(patient, 6)
	evil.ActorName = "=HYPERLINK(\"http://x\")"
	evil.Mode, evil.Reason = carnet.ModeRegulation, "regulation ; motif : -1+1; \"appel\"\nsuite"
	return []*carnet.AuditEvent{read, denied, urgence, rep, sys, evil}
}

func TestHistoryEntry(t *testing.T) {
	ev := historyEvents()
	var h History
	got := h.Entry(ev[0])
	want := HistoryEntry{
		Time: ev[0].Time.In(ParisLocation()), Date: "01/03/2026 10:31:05", Who: "Dr Marie Martin",
		Profession: "Médecin", Structure: "Cabinet du Parc", Action: "Consultation d'un document",
		Target: "Document (réf. doc-1)", Mode: "Normal", Decision: "Autorisé", Reason: "Consentement du patient",
	}
	if got != want {
		t.Errorf("entry\n got %+v\nwant %+v", got, want)
	}
	if e := h.Entry(ev[1]); e.Date != "15/07/2026 00:15:00" || !e.Denied || e.Emergency {
		t.Errorf("denied entry %+v", e)
	}
	if e := h.Entry(ev[2]); !e.Emergency || e.Mode != "Bris de glace (urgence)" {
		t.Errorf("break-glass entry %+v", e)
	}
	if e := h.Entry(ev[3]); e.Who != "Jeanne Dupont (représentant légal)" || e.Profession != "" {
		t.Errorf("representative entry %+v", e)
	}
	if e := h.Entry(ev[4]); e.Who != "Carnet (traitement automatique)" || e.Mode != "" {
		t.Errorf("system entry %+v", e)
	}
	utc := History{Location: time.UTC, Reason: func(r string) string { return "[" + r + "]" }}
	if e := utc.Entry(ev[0]); e.Date != "01/03/2026 09:31:05" || e.Reason != "[consent]" {
		t.Errorf("custom history %+v", e)
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, historyEvents()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "\ufeffDate;Qui;Profession;Structure;Action;Cible;Mode;Décision;Motif\r\n") {
		t.Fatalf("start %q", out[:min(len(out), 120)])
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff")))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 || !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("rows %q", rows)
	}
	want := [][]string{
		{"01/03/2026 10:31:05", "Dr Marie Martin", "Médecin", "Cabinet du Parc", "Consultation d'un document", "Document (réf. doc-1)", "Normal", "Autorisé", "Consentement du patient"},
		{"15/07/2026 00:15:00", "Dr Marie Martin", "Médecin", "Cabinet du Parc", "Consultation d'un document", "Document (réf. doc-2)", "Normal", "Refusé", "Professionnel bloqué par le patient"},
		{"01/03/2026 10:33:00", "Dr Paul Urgent", "Médecin", "CHU de Rennes", "Consultation d'un document", "Document (réf. doc-3)", "Bris de glace (urgence)", "Autorisé", "Bris de glace ; motif : patient inconscient"},
		{"01/03/2026 10:34:00", "Jeanne Dupont (représentant légal)", "", "", "Modification des paramètres de l'espace santé", "Paramètres de l'espace santé", "Normal", "Autorisé", "Représentant légal"},
		{"01/03/2026 10:35:00", "Carnet (traitement automatique)", "", "", "Création de l'espace santé", "Espace santé", "", "Autorisé", "inscription"},
		{"01/03/2026 10:36:00", "'=HYPERLINK(\"http://x\")", "Médecin", "Cabinet du Parc", "Consultation d'un document", "Document (réf. doc-6)", "Centre 15 (régulation médicale du SAMU)", "Autorisé", "Mode centre 15 ; motif : -1+1; \"appel\"\nsuite"},
	}
	for i, w := range want {
		if !slices.Equal(rows[i+1], w) {
			t.Errorf("row %d\n got %q\nwant %q", i+1, rows[i+1], w)
		}
	}
}

func TestWriteCSVEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "\ufeffDate;Qui;Profession;Structure;Action;Cible;Mode;Décision;Motif\r\n" {
		t.Errorf("got %q", b.String())
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disque plein")
	}
	return len(p), nil
}

func TestWriteCSVError(t *testing.T) {
	for _, n := range []int{0, 10} {
		if err := WriteCSV(&failWriter{n: n}, historyEvents()); err == nil {
			t.Errorf("writer failing after %d bytes: no error", n)
		}
	}
}

func TestDefuse(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+33 6": "'+33 6", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx",
		"Dr =": "Dr =", "": "", "1-2": "1-2",
	} {
		if got := defuse(in); got != want {
			t.Errorf("defuse(%q) = %q, want %q", in, got, want)
		}
	}
}
