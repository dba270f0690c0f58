package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const fhirBase = "https://carnet.example.fr/fhir"

// fhirEvents are the events of the golden files, linked in one chain.
func fhirEvents() map[string]*carnet.AuditEvent {
	at := time.Date(2026, 3, 1, 9, 31, 5, 250000000, time.UTC)
	read := &carnet.AuditEvent{
		ID: "evt-0001", PatientID: "pat-42", Time: at,
		ActorKind: carnet.ActorProfessional, ActorID: "10001234567", ActorName: "Dr Marie Martin",
		ActorProfession: "10", ActorStructure: "Cabinet du Parc",
		Action: "document.read", TargetType: "document", TargetID: "doc-7",
		Mode: carnet.ModeNormal, Decision: carnet.DecisionAllow, Reason: "consent", RequestID: "req-a1",
	}
	denied := &carnet.AuditEvent{
		ID: "evt-0002", PatientID: "pat-42", Time: at.Add(time.Hour),
		ActorKind: carnet.ActorProfessional, ActorID: "810009876543", ActorName: "M. Paul Kiné",
		ActorProfession: "70", ActorStructure: "Cabinet de kinésithérapie",
		Action: "document.read", TargetType: "document", TargetID: "doc-7",
		Mode: carnet.ModeNormal, Decision: carnet.DecisionDeny, Reason: "blocked", RequestID: "req-b2",
	}
	glass := &carnet.AuditEvent{
		ID: "evt-0003", PatientID: "pat-42", Time: time.Date(2026, 7, 14, 22, 15, 0, 0, time.UTC),
		ActorKind: carnet.ActorProfessional, ActorID: "10005555555", ActorName: "Dr Léa Urgent",
		ActorProfession: "10", ActorStructure: "CHU de Rennes — urgences",
		Action: "document.read", TargetType: "document", TargetID: "doc-9",
		Mode: carnet.ModeBreakGlass, Decision: carnet.DecisionAllow,
		Reason: "break_glass ; motif : patient inconscient, allergies inconnues <urgent>", RequestID: "req-c3",
	}
	var head carnet.AuditHead
	for _, e := range []*carnet.AuditEvent{read, denied, glass} {
		Link(e, head)
		head = carnet.AuditHead{PatientID: e.PatientID, Seq: e.Seq, Hash: e.Hash}
	}
	return map[string]*carnet.AuditEvent{"read": read, "denied_read": denied, "break_glass": glass}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, pretty.Bytes())
	}
}

func TestToFHIRGolden(t *testing.T) {
	events := fhirEvents()
	for _, name := range []string{"read", "denied_read", "break_glass"} {
		t.Run(name, func(t *testing.T) {
			b, err := MarshalFHIR(ToFHIR(events[name], fhirBase+"/"))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "fhir_"+name+".json", b)
		})
	}
	t.Run("bundle", func(t *testing.T) {
		b, err := MarshalFHIR(ToFHIRBundle([]*carnet.AuditEvent{events["read"], events["denied_read"]}, fhirBase))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "fhir_bundle.json", b)
	})
}

// TestToFHIRShape checks every action against the rules of FHIR R4 and of its BALP profile.
func TestToFHIRShape(t *testing.T) {
	type expect struct {
		profile, subtype, action, user, client, server string
	}
	read := expect{"PatientRead", "read", "R", "IRCP", "110152", "110153"}
	query := expect{"PatientQuery", "search-type", "E", "IRCP", "110153", "110152"}
	create := expect{"PatientCreate", "create", "C", "AUT", "110153", "110152"}
	update := expect{"PatientUpdate", "update", "U", "AUT", "110153", "110152"}
	del := expect{"PatientDelete", "delete", "D", "AUT", "110150", "custodian"}
	cases := map[string]expect{
		"document.read": read, "profile.read": read, "vaccination.read": read, "wishes.read": read,
		"document.list": query, "history.read": query, "history.export": query, "export": query,
		"document.deposit": create, "profile.add": create, "vaccination.add": create, "consent.declare": create,
		"block.add": create, "block.create": create, "patient.create": create,
		"document.replace": update, "document.hide": update, "document.unhide": update,
		"document.reveal_patient": update, "document.reveal_representatives": update,
		"document.reveal_to_patient": update, "document.reveal_to_representatives": update,
		"profile.write": update, "wishes.write": update, "settings.write": update, "consent.revoke": update,
		"administrator.set": update, "patient.activate": update, "patient.close": update, "patient.reopen": update,
		"document.delete": del, "block.remove": del, "patient.destroy": del, "key.destroy": del,
		"document.archive": {"", "operation", "E", "IRCP", "110153", "110152"},
		"message.read":     read, "appointment.create": create, "message.delete": del,
		"emergency.start": {"", "110127", "E", "IRCP", "110153", "110152"},
	}
	for action, x := range cases {
		for _, decision := range []string{carnet.DecisionAllow, carnet.DecisionDeny} {
			e := newEvent("pat-42", 3)
			e.Action, e.Decision = action, decision
			Link(e, carnet.AuditHead{})
			r := ToFHIR(e, fhirBase)
			name := action + "/" + decision
			checkFHIR(t, name, r)

			wantProfile := ""
			if x.profile != "" && decision == carnet.DecisionAllow {
				wantProfile = BALPProfileBase + x.profile
			}
			if got := ""; r.Meta != nil {
				got = r.Meta.Profile[0]
				if got != wantProfile {
					t.Errorf("%s: profile %q, want %q", name, got, wantProfile)
				}
			} else if wantProfile != "" {
				t.Errorf("%s: no profile, want %q", name, wantProfile)
			}
			if r.Subtype[0].Code != x.subtype || r.Action != x.action {
				t.Errorf("%s: subtype %q action %q", name, r.Subtype[0].Code, r.Action)
			}
			types := []string{x.user, x.client, x.server}
			for i, a := range r.Agent {
				if got := a.Type.Coding[0].Code; got != types[i] {
					t.Errorf("%s: agent %d type %q, want %q", name, i, got, types[i])
				}
			}
			if decision == carnet.DecisionDeny && (r.Outcome != "4" || r.OutcomeDesc == "") {
				t.Errorf("%s: outcome %q %q", name, r.Outcome, r.OutcomeDesc)
			}
			if decision == carnet.DecisionAllow && (r.Outcome != "0" || r.OutcomeDesc != "") {
				t.Errorf("%s: outcome %q %q", name, r.Outcome, r.OutcomeDesc)
			}
			wantType := "rest"
			if action == "emergency.start" {
				wantType = "110113"
			}
			if r.Type.Code != wantType {
				t.Errorf("%s: type %q", name, r.Type.Code)
			}
		}
	}
}

// checkFHIR checks the invariants of FHIR R4 and BALP that every AuditEvent must meet.
func checkFHIR(t *testing.T, name string, r FHIRAuditEvent) {
	t.Helper()
	b, err := MarshalFHIR(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["resourceType"] != "AuditEvent" || m["id"] == "" {
		t.Errorf("%s: resourceType %v id %v", name, m["resourceType"], m["id"])
	}
	if _, err := time.Parse(time.RFC3339Nano, r.Recorded); err != nil || !strings.Contains(r.Recorded, "T") {
		t.Errorf("%s: recorded %q", name, r.Recorded)
	}
	if !slices.Contains([]string{"C", "R", "U", "D", "E"}, r.Action) || !slices.Contains([]string{"0", "4", "8", "12"}, r.Outcome) {
		t.Errorf("%s: action %q outcome %q", name, r.Action, r.Outcome)
	}
	codings := []FHIRCoding{r.Type}
	codings = append(codings, r.Subtype...)
	requestors := 0
	for i, a := range m["agent"].([]any) {
		if _, ok := a.(map[string]any)["requestor"].(bool); !ok {
			t.Errorf("%s: agent %d without requestor", name, i)
		}
	}
	for _, a := range r.Agent {
		if a.Requestor {
			requestors++
		}
		if a.Who == nil || (a.Who.Reference == "" && a.Who.Identifier == nil && a.Who.Display == "") {
			t.Errorf("%s: agent without who", name)
		}
		codings = append(codings, a.Type.Coding...)
		for _, r := range a.Role {
			codings = append(codings, r.Coding...)
		}
	}
	if requestors != 1 {
		t.Errorf("%s: %d requestors", name, requestors)
	}
	if r.Source.Observer.Identifier == nil || r.Source.Observer.Display == "" {
		t.Errorf("%s: source observer %+v", name, r.Source.Observer)
	}
	patients := 0
	for _, e := range r.Entity {
		if e.Type != nil {
			codings = append(codings, *e.Type)
		}
		if e.Role != nil {
			codings = append(codings, *e.Role)
			if e.Role.Code == "1" {
				patients++
				if e.What == nil || !strings.HasPrefix(e.What.Reference, "Patient/") {
					t.Errorf("%s: patient entity %+v", name, e.What)
				}
			}
			if e.Role.Code == "24" && (len(e.Query) == 0 || e.What != nil) {
				t.Errorf("%s: query entity %+v", name, e)
			}
			if e.Role.Code == "4" && e.What == nil {
				t.Errorf("%s: data entity without what", name)
			}
		}
	}
	if patients != 1 {
		t.Errorf("%s: %d patient entities", name, patients)
	}
	for _, c := range codings {
		if c.System == "" || c.Code == "" {
			t.Errorf("%s: coding %+v", name, c)
		}
	}
	if !strings.HasPrefix(r.Text.Div, `<div xmlns="http://www.w3.org/1999/xhtml">`) {
		t.Errorf("%s: narrative %q", name, r.Text.Div)
	}
	ext := r.Extension[0]
	if ext.URL != ChainExtensionURL || len(ext.Extension) != 3 || *ext.Extension[0].ValueInteger < 1 || len(ext.Extension[1].ValueString) != 2*HashSize {
		t.Errorf("%s: chain extension %+v", name, ext)
	}
}

func TestToFHIRActors(t *testing.T) {
	cases := []struct {
		kind                 carnet.ActorKind
		id                   string
		system, value, refer string
		agents               int
	}{
		{carnet.ActorProfessional, "10001234567", SystemIDNatPS, "810001234567", "", 3},
		{carnet.ActorProfessional, "810001234567", SystemIDNatPS, "810001234567", "", 3},
		{carnet.ActorProfessional, "0123456789", SystemIDNatPS, "0123456789", "", 3},
		{carnet.ActorProfessional, "pro-17", fhirBase + "/id/professional", "pro-17", "", 3},
		{carnet.ActorRegulator, "10001234567", SystemIDNatPS, "810001234567", "", 3},
		{carnet.ActorPatient, "pat-42", "", "", "Patient/pat-42", 3},
		{carnet.ActorRepresentative, "rep-1", fhirBase + "/id/representative", "rep-1", "", 3},
		{carnet.ActorApp, "app-9", fhirBase + "/id/app", "app-9", "", 3},
		{carnet.ActorOperator, "op-1", fhirBase + "/id/operator", "op-1", "", 3},
		{carnet.ActorSystem, "", "", "", "", 1},
	}
	for _, c := range cases {
		e := newEvent("pat-42", 1)
		e.ActorKind, e.ActorID = c.kind, c.id
		if c.kind != carnet.ActorProfessional && c.kind != carnet.ActorRegulator {
			e.ActorProfession = ""
		}
		Link(e, carnet.AuditHead{})
		r := ToFHIR(e, fhirBase)
		checkFHIR(t, string(c.kind), r)
		if len(r.Agent) != c.agents {
			t.Errorf("%s: %d agents", c.kind, len(r.Agent))
			continue
		}
		who := r.Agent[0].Who
		if c.agents == 1 {
			if !r.Agent[0].Requestor || who.Display != "Carnet" {
				t.Errorf("%s: agent %+v", c.kind, r.Agent[0])
			}
			continue
		}
		if c.refer != "" {
			if who.Reference != c.refer {
				t.Errorf("%s: who %+v", c.kind, who)
			}
			continue
		}
		if who.Identifier == nil || who.Identifier.System != c.system || who.Identifier.Value != c.value {
			t.Errorf("%s %s: who %+v", c.kind, c.id, who.Identifier)
		}
	}
}

func TestToFHIREmergency(t *testing.T) {
	events := fhirEvents()
	r := ToFHIR(events["break_glass"], fhirBase)
	if len(r.PurposeOfEvent) != 1 || r.PurposeOfEvent[0].Coding[0].Code != "ETREAT" ||
		r.PurposeOfEvent[0].Coding[1].Code != "bris_de_glace" || r.PurposeOfEvent[0].Text != "patient inconscient, allergies inconnues <urgent>" {
		t.Errorf("purpose %+v", r.PurposeOfEvent)
	}
	e := *events["break_glass"]
	e.Mode, e.Reason = carnet.ModeRegulation, "regulation ; motif : appel au 15"
	r = ToFHIR(&e, fhirBase)
	if r.PurposeOfEvent[0].Coding[1].Code != "centre15" || r.PurposeOfEvent[0].Text != "appel au 15" {
		t.Errorf("regulation purpose %+v", r.PurposeOfEvent)
	}
	if r := ToFHIR(events["read"], fhirBase); r.PurposeOfEvent != nil || r.Agent[0].PurposeOfUse != nil {
		t.Errorf("normal access with a purpose: %+v", r.PurposeOfEvent)
	}
}

func TestToFHIRTargets(t *testing.T) {
	cases := []struct {
		action, targetType, targetID string
		reference, system, query     string
	}{
		{"document.read", "document", "doc-1", "DocumentReference/doc-1", "", ""},
		{"vaccination.add", "vaccination", "vac-1", "Immunization/vac-1", "", ""},
		{"consent.declare", "consent", "c-1", "Consent/c-1", "", ""},
		{"patient.close", "patient", "pat-42", "Patient/pat-42", "", ""},
		{"profile.write", "profile", "allergies", "", fhirBase + "/id/profile", ""},
		{"settings.write", "settings", "pat-42", "", fhirBase + "/id/settings", ""},
		{"document.list", "document", "", "", "", "DocumentReference?patient=Patient/pat-42"},
		{"history.read", "history", "", "", "", "AuditEvent?patient=Patient/pat-42"},
		{"export", "patient", "pat-42", "", "", "Patient/pat-42/$everything"},
	}
	for _, c := range cases {
		e := newEvent("pat-42", 1)
		e.Action, e.TargetType, e.TargetID = c.action, c.targetType, c.targetID
		Link(e, carnet.AuditHead{})
		r := ToFHIR(e, fhirBase)
		checkFHIR(t, c.action, r)
		data := r.Entity[1]
		switch {
		case c.query != "":
			if string(data.Query) != c.query || data.Description != c.query {
				t.Errorf("%s: query %q", c.action, data.Query)
			}
		case c.reference != "":
			if data.What.Reference != c.reference {
				t.Errorf("%s: what %+v", c.action, data.What)
			}
		default:
			if data.What.Identifier == nil || data.What.Identifier.System != c.system || data.What.Identifier.Value != c.targetID {
				t.Errorf("%s: what %+v", c.action, data.What)
			}
		}
	}
	// The request ID is the transaction entity; without one, there is none.
	e := newEvent("pat-42", 1)
	e.RequestID = ""
	if r := ToFHIR(e, fhirBase); len(r.Entity) != 2 {
		t.Errorf("entities %+v", r.Entity)
	}
}

func TestToFHIRBundle(t *testing.T) {
	b := ToFHIRBundle(nil, fhirBase)
	out, err := MarshalFHIR(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"resourceType":"Bundle","type":"searchset","total":0}` {
		t.Errorf("empty bundle %s", out)
	}
	events := fhirEvents()
	b = ToFHIRBundle([]*carnet.AuditEvent{events["read"]}, fhirBase+"/")
	if *b.Total != 1 || b.Entry[0].FullURL != fhirBase+"/AuditEvent/evt-0001" || b.Entry[0].Search.Mode != "match" {
		t.Errorf("bundle %+v", b)
	}
}

func TestMarshalFHIR(t *testing.T) {
	events := fhirEvents()
	b, err := MarshalFHIR(ToFHIR(events["break_glass"], fhirBase))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`\u003c`)) || !bytes.Contains(b, []byte(`<div xmlns=`)) || bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("JSON %s", b)
	}
	// The user-typed reason is escaped in the narrative.
	if !bytes.Contains(b, []byte("&lt;urgent&gt;")) {
		t.Errorf("narrative not escaped: %s", b)
	}
	var back FHIRAuditEvent
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != "evt-0003" || back.Extension[0].Extension[1].ValueString != strings.ToLower(back.Extension[0].Extension[1].ValueString) {
		t.Errorf("round trip %+v", back)
	}
	q := ToFHIR(&carnet.AuditEvent{ID: "x", PatientID: "p", Action: "document.list", Decision: carnet.DecisionAllow}, fhirBase)
	qb, _ := MarshalFHIR(q)
	if want := base64.StdEncoding.EncodeToString([]byte("DocumentReference?patient=Patient/p")); !bytes.Contains(qb, []byte(want)) {
		t.Errorf("query not base64: %s", qb)
	}
}
