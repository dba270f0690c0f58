package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"html"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

// Code systems and canonical URLs of the FHIR AuditEvent.
const (
	SystemAuditEventType   = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	SystemRestful          = "http://hl7.org/fhir/restful-interaction"
	SystemDICOM            = "http://dicom.nema.org/resources/ontology/DCM"
	SystemParticipation    = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	SystemProvenanceAgent  = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	SystemEntityType       = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	SystemObjectRole       = "http://terminology.hl7.org/CodeSystem/object-role"
	SystemSourceType       = "http://terminology.hl7.org/CodeSystem/security-source-type"
	SystemNetworkType      = "http://hl7.org/fhir/network-type"
	SystemActReason        = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SystemBALPEntityType   = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
	SystemProfessionTRE    = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
	SystemIDNatPS          = "urn:oid:1.2.250.1.71.4.2.1" // identifiant national des professionnels de santé
	BALPProfileBase        = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
	CarnetCanonicalBase    = "https://carnet-sante.github.io/fhir"
	ChainExtensionURL      = CarnetCanonicalBase + "/StructureDefinition/audit-chain"
	SystemCarnetAccessMode = CarnetCanonicalBase + "/CodeSystem/access-mode"
)

// FHIRCoding is a FHIR Coding.
type FHIRCoding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// FHIRCodeableConcept is a FHIR CodeableConcept.
type FHIRCodeableConcept struct {
	Coding []FHIRCoding `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

// FHIRIdentifier is a FHIR Identifier.
type FHIRIdentifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// FHIRReference is a FHIR Reference.
type FHIRReference struct {
	Reference  string          `json:"reference,omitempty"`
	Identifier *FHIRIdentifier `json:"identifier,omitempty"`
	Display    string          `json:"display,omitempty"`
}

// FHIRMeta is a FHIR Meta.
type FHIRMeta struct {
	Profile []string `json:"profile,omitempty"`
}

// FHIRNarrative is a FHIR Narrative.
type FHIRNarrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
}

// FHIRExtension is a FHIR Extension, with the value types Carnet uses.
type FHIRExtension struct {
	URL          string          `json:"url"`
	Extension    []FHIRExtension `json:"extension,omitempty"`
	ValueString  string          `json:"valueString,omitempty"`
	ValueInteger *int64          `json:"valueInteger,omitempty"`
}

// FHIRAuditNetwork is AuditEvent.agent.network.
type FHIRAuditNetwork struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

// FHIRAuditAgent is AuditEvent.agent.
type FHIRAuditAgent struct {
	Type         *FHIRCodeableConcept  `json:"type,omitempty"`
	Role         []FHIRCodeableConcept `json:"role,omitempty"`
	Who          *FHIRReference        `json:"who,omitempty"`
	Name         string                `json:"name,omitempty"`
	Requestor    bool                  `json:"requestor"`
	Network      *FHIRAuditNetwork     `json:"network,omitempty"`
	PurposeOfUse []FHIRCodeableConcept `json:"purposeOfUse,omitempty"`
}

// FHIRAuditSource is AuditEvent.source.
type FHIRAuditSource struct {
	Site     string        `json:"site,omitempty"`
	Observer FHIRReference `json:"observer"`
	Type     []FHIRCoding  `json:"type,omitempty"`
}

// FHIRAuditEntity is AuditEvent.entity.
type FHIRAuditEntity struct {
	What        *FHIRReference `json:"what,omitempty"`
	Type        *FHIRCoding    `json:"type,omitempty"`
	Role        *FHIRCoding    `json:"role,omitempty"`
	Description string         `json:"description,omitempty"`
	Query       []byte         `json:"query,omitempty"` // base64Binary
}

// FHIRAuditEvent is a FHIR R4 AuditEvent.
type FHIRAuditEvent struct {
	ResourceType   string                `json:"resourceType"`
	ID             string                `json:"id,omitempty"`
	Meta           *FHIRMeta             `json:"meta,omitempty"`
	Text           *FHIRNarrative        `json:"text,omitempty"`
	Extension      []FHIRExtension       `json:"extension,omitempty"`
	Type           FHIRCoding            `json:"type"`
	Subtype        []FHIRCoding          `json:"subtype,omitempty"`
	Action         string                `json:"action,omitempty"`
	Recorded       string                `json:"recorded"`
	Outcome        string                `json:"outcome,omitempty"`
	OutcomeDesc    string                `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []FHIRCodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []FHIRAuditAgent      `json:"agent"`
	Source         FHIRAuditSource       `json:"source"`
	Entity         []FHIRAuditEntity     `json:"entity,omitempty"`
}

// FHIRBundle is a FHIR Bundle of audit events.
type FHIRBundle struct {
	ResourceType string            `json:"resourceType"`
	Type         string            `json:"type"`
	Total        *int              `json:"total,omitempty"`
	Entry        []FHIRBundleEntry `json:"entry,omitempty"`
}

// FHIRBundleEntry is Bundle.entry.
type FHIRBundleEntry struct {
	FullURL  string            `json:"fullUrl"`
	Resource FHIRAuditEvent    `json:"resource"`
	Search   *FHIRBundleSearch `json:"search,omitempty"`
}

// FHIRBundleSearch is Bundle.entry.search.
type FHIRBundleSearch struct {
	Mode string `json:"mode"`
}

// interaction is the RESTful shape of an action.
type interaction uint8

const (
	interExecute interaction = iota // no REST interaction: an operation
	interRead
	interQuery
	interCreate
	interUpdate
	interDelete
	interEmergency // the start of an emergency access
)

var interactions = map[string]interaction{
	"document.read": interRead, "profile.read": interRead, "vaccination.read": interRead, "wishes.read": interRead,
	"document.list": interQuery, "history.read": interQuery, "history.export": interQuery, "export": interQuery,
	"document.deposit": interCreate, "profile.add": interCreate, "vaccination.add": interCreate,
	"consent.declare": interCreate, "block.add": interCreate, "block.create": interCreate, "patient.create": interCreate,
	"document.replace": interUpdate, "document.hide": interUpdate, "document.unhide": interUpdate,
	"document.reveal_patient": interUpdate, "document.reveal_to_patient": interUpdate,
	"document.reveal_representatives": interUpdate, "document.reveal_to_representatives": interUpdate,
	"profile.write": interUpdate, "wishes.write": interUpdate, "settings.write": interUpdate,
	"consent.revoke": interUpdate, "administrator.set": interUpdate, "patient.activate": interUpdate,
	"patient.close": interUpdate, "patient.reopen": interUpdate,
	"document.delete": interDelete, "block.remove": interDelete, "patient.destroy": interDelete, "key.destroy": interDelete,
	"emergency.start": interEmergency,
}

// interactionOf classifies an action: listed codes first, then the verb of unknown ones.
func interactionOf(action string) interaction {
	if i, ok := interactions[action]; ok {
		return i
	}
	_, verb, _ := strings.Cut(action, ".")
	switch verb {
	case "read":
		return interRead
	case "list", "search":
		return interQuery
	case "add", "create", "deposit", "declare":
		return interCreate
	case "write", "update", "replace", "set", "hide", "unhide", "revoke":
		return interUpdate
	case "delete", "remove", "destroy":
		return interDelete
	}
	return interExecute
}

// shape is what the interaction sets: profile, subtype, action code, agent types.
type shape struct {
	profile string
	subtype FHIRCoding
	action  string
	user    FHIRCoding
	client  FHIRCoding
	server  FHIRCoding
}

var (
	codeIRCP   = FHIRCoding{System: SystemParticipation, Code: "IRCP", Display: "information recipient"}
	codeAUT    = FHIRCoding{System: SystemParticipation, Code: "AUT", Display: "author (originator)"}
	codeSource = FHIRCoding{System: SystemDICOM, Code: "110153", Display: "Source Role ID"}
	codeDest   = FHIRCoding{System: SystemDICOM, Code: "110152", Display: "Destination Role ID"}
)

var shapes = map[interaction]shape{
	interRead: {"PatientRead", FHIRCoding{System: SystemRestful, Code: "read", Display: "read"}, "R", codeIRCP, codeDest, codeSource},
	interQuery: {"PatientQuery", FHIRCoding{System: SystemRestful, Code: "search-type", Display: "search type"}, "E",
		codeIRCP, codeSource, codeDest},
	interCreate: {"PatientCreate", FHIRCoding{System: SystemRestful, Code: "create", Display: "create"}, "C", codeAUT, codeSource, codeDest},
	interUpdate: {"PatientUpdate", FHIRCoding{System: SystemRestful, Code: "update", Display: "update"}, "U", codeAUT, codeSource, codeDest},
	interDelete: {"PatientDelete", FHIRCoding{System: SystemRestful, Code: "delete", Display: "delete"}, "D", codeAUT,
		FHIRCoding{System: SystemDICOM, Code: "110150", Display: "Application"},
		FHIRCoding{System: SystemProvenanceAgent, Code: "custodian", Display: "Custodian"}},
	interExecute: {"", FHIRCoding{System: SystemRestful, Code: "operation", Display: "operation"}, "E", codeIRCP, codeSource, codeDest},
	interEmergency: {"", FHIRCoding{System: SystemDICOM, Code: "110127", Display: "Emergency Override Started"}, "E",
		codeIRCP, codeSource, codeDest},
}

// targetResources are the FHIR resource types of the targets that have one.
var targetResources = map[string]string{
	"document":    "DocumentReference",
	"vaccination": "Immunization",
	"consent":     "Consent",
	"patient":     "Patient",
}

// ToFHIR returns an audit event as a FHIR R4 AuditEvent shaped after IHE BALP. baseURL is the
// FHIR base of this server (no trailing slash needed): it names the server agent and the
// identifier systems of Carnet's own identifiers.
//
// Successful events claim the BALP profile of their interaction, in its "with Patient" form
// since every event concerns a patient (IHE.BasicAudit.PatientRead, PatientQuery, PatientCreate,
// PatientUpdate, PatientDelete). Denied events (outcome 4, outcomeDesc the reason) and events
// that are no REST interaction (the start of an emergency access: DICOM "Emergency Override
// Started") claim none, BALP profiles covering successes only. Carnet does not record the
// client's network address, which BALP requires of the client agent.
//
// The chain Seq, Hash and PrevHash (hex) are in the extension ChainExtensionURL.
func ToFHIR(e *carnet.AuditEvent, baseURL string) FHIRAuditEvent {
	base := strings.TrimRight(baseURL, "/")
	inter := interactionOf(e.Action)
	sh := shapes[inter]
	allowed := e.Decision == carnet.DecisionAllow

	r := FHIRAuditEvent{
		ResourceType: "AuditEvent",
		ID:           e.ID,
		Text:         narrative(e),
		Extension:    []FHIRExtension{chainExtension(e)},
		Type:         FHIRCoding{System: SystemAuditEventType, Code: "rest", Display: "Restful Operation"},
		Subtype:      []FHIRCoding{sh.subtype},
		Action:       sh.action,
		Recorded:     e.Time.UTC().Format(time.RFC3339Nano),
		Outcome:      "0",
	}
	if inter == interEmergency {
		r.Type = FHIRCoding{System: SystemDICOM, Code: "110113", Display: "Security Alert"}
	}
	if allowed && sh.profile != "" {
		r.Meta = &FHIRMeta{Profile: []string{BALPProfileBase + sh.profile}}
	}
	if !allowed {
		r.Outcome = "4"
		r.OutcomeDesc = ReasonLabel(e.Reason)
		if r.OutcomeDesc == "" {
			r.OutcomeDesc = "Accès refusé"
		}
	}
	purpose := purposeOf(e)
	if purpose != nil {
		r.PurposeOfEvent = []FHIRCodeableConcept{*purpose}
	}

	// Agents: the person (or app) who acted, the client they used, and Carnet.
	server := FHIRAuditAgent{
		Type:    &FHIRCodeableConcept{Coding: []FHIRCoding{sh.server}},
		Who:     &FHIRReference{Identifier: &FHIRIdentifier{System: "urn:ietf:rfc:3986", Value: base}, Display: "Carnet"},
		Network: &FHIRAuditNetwork{Address: base, Type: "5"},
	}
	if e.ActorKind == carnet.ActorSystem || (e.ActorKind == "" && e.ActorID == "") {
		server.Requestor = true
		r.Agent = []FHIRAuditAgent{server}
	} else {
		user := FHIRAuditAgent{
			Type:      &FHIRCodeableConcept{Coding: []FHIRCoding{sh.user}},
			Who:       actorReference(e, base),
			Name:      e.ActorName,
			Requestor: true,
		}
		if role := professionRole(e.ActorProfession); role != nil {
			user.Role = []FHIRCodeableConcept{*role}
		}
		if purpose != nil {
			user.PurposeOfUse = []FHIRCodeableConcept{*purpose}
		}
		client := FHIRAuditAgent{
			Type: &FHIRCodeableConcept{Coding: []FHIRCoding{sh.client}},
			Who:  &FHIRReference{Display: clientDisplay(e)},
		}
		if e.ActorKind == carnet.ActorApp {
			client.Who.Identifier = &FHIRIdentifier{System: base + "/id/app", Value: e.ActorID}
		}
		r.Agent = []FHIRAuditAgent{user, client, server}
	}
	r.Source = FHIRAuditSource{
		Site:     siteOf(base),
		Observer: FHIRReference{Identifier: &FHIRIdentifier{System: "urn:ietf:rfc:3986", Value: base}, Display: "Carnet"},
		Type:     []FHIRCoding{{System: SystemSourceType, Code: "4", Display: "Application Server"}},
	}

	// Entities: the patient, what the action concerned (or the query), the request.
	r.Entity = []FHIRAuditEntity{{
		What: &FHIRReference{Reference: "Patient/" + e.PatientID},
		Type: &FHIRCoding{System: SystemEntityType, Code: "1", Display: "Person"},
		Role: &FHIRCoding{System: SystemObjectRole, Code: "1", Display: "Patient"},
	}}
	if inter == interQuery {
		q := queryOf(e)
		r.Entity = append(r.Entity, FHIRAuditEntity{
			Type:        &FHIRCoding{System: SystemEntityType, Code: "2", Display: "System Object"},
			Role:        &FHIRCoding{System: SystemObjectRole, Code: "24", Display: "Query"},
			Description: q,
			Query:       []byte(q),
		})
	} else if what := targetReference(e, base); what != nil {
		r.Entity = append(r.Entity, FHIRAuditEntity{
			What: what,
			Type: &FHIRCoding{System: SystemEntityType, Code: "2", Display: "System Object"},
			Role: &FHIRCoding{System: SystemObjectRole, Code: "4", Display: "Domain Resource"},
		})
	}
	if e.RequestID != "" {
		r.Entity = append(r.Entity, FHIRAuditEntity{
			What: &FHIRReference{Identifier: &FHIRIdentifier{Value: e.RequestID}},
			Type: &FHIRCoding{System: SystemBALPEntityType, Code: "XrequestId"},
		})
	}
	return r
}

// ToFHIRBundle returns the events as a searchset Bundle whose total is their number; the caller
// that pages sets Total to the number of matches.
func ToFHIRBundle(events []*carnet.AuditEvent, baseURL string) FHIRBundle {
	base := strings.TrimRight(baseURL, "/")
	total := len(events)
	b := FHIRBundle{ResourceType: "Bundle", Type: "searchset", Total: &total}
	for _, e := range events {
		b.Entry = append(b.Entry, FHIRBundleEntry{
			FullURL:  base + "/AuditEvent/" + e.ID,
			Resource: ToFHIR(e, base),
			Search:   &FHIRBundleSearch{Mode: "match"},
		})
	}
	return b
}

// MarshalFHIR returns the JSON of a FHIR resource (FHIRAuditEvent, FHIRBundle) as FHIR servers
// write it: without escaping <, > and & (the narrative is XHTML), no trailing newline.
func MarshalFHIR(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// chainExtension carries the event's place in its patient's hash chain.
func chainExtension(e *carnet.AuditEvent) FHIRExtension {
	seq := e.Seq
	return FHIRExtension{URL: ChainExtensionURL, Extension: []FHIRExtension{
		{URL: "seq", ValueInteger: &seq},
		{URL: "hash", ValueString: hex.EncodeToString(e.Hash)},
		{URL: "prevHash", ValueString: hex.EncodeToString(e.PrevHash)},
	}}
}

// purposeOf returns the purpose of an emergency access: emergency treatment (v3 ETREAT) for
// both modes, with Carnet's access mode to tell them apart, and the reason given as text.
func purposeOf(e *carnet.AuditEvent) *FHIRCodeableConcept {
	var mode FHIRCoding
	switch e.Mode {
	case carnet.ModeBreakGlass:
		mode = FHIRCoding{System: SystemCarnetAccessMode, Code: string(carnet.ModeBreakGlass), Display: "bris de glace"}
	case carnet.ModeRegulation:
		mode = FHIRCoding{System: SystemCarnetAccessMode, Code: string(carnet.ModeRegulation), Display: "centre 15 (régulation médicale)"}
	default:
		return nil
	}
	c := &FHIRCodeableConcept{Coding: []FHIRCoding{
		{System: SystemActReason, Code: "ETREAT", Display: "Emergency Treatment"},
		mode,
	}}
	if _, why, ok := strings.Cut(e.Reason, "motif : "); ok {
		c.Text = strings.TrimSpace(why)
	}
	return c
}

// actorReference identifies who acted: a professional by their national identifier (idNat_PS)
// when ActorID is an RPPS or idNat_PS number, anyone else by Carnet's identifier.
func actorReference(e *carnet.AuditEvent, base string) *FHIRReference {
	ref := &FHIRReference{Display: e.ActorName}
	switch e.ActorKind {
	case carnet.ActorPatient:
		ref.Reference = "Patient/" + e.ActorID
		return ref
	case carnet.ActorProfessional, carnet.ActorRegulator:
		if id, ok := idNat(e.ActorID); ok {
			ref.Identifier = &FHIRIdentifier{System: SystemIDNatPS, Value: id}
			return ref
		}
		ref.Identifier = &FHIRIdentifier{System: base + "/id/professional", Value: e.ActorID}
		return ref
	}
	kind := string(e.ActorKind)
	if kind == "" {
		kind = "actor"
	}
	ref.Identifier = &FHIRIdentifier{System: base + "/id/" + kind, Value: e.ActorID}
	return ref
}

// idNat returns the national identifier of a professional from an RPPS number (11 digits),
// an idNat_PS from RPPS ("8" + 11 digits) or from ADELI ("0" + 9 digits).
func idNat(id string) (string, bool) {
	digits := id != "" && strings.Trim(id, "0123456789") == ""
	switch {
	case !digits:
		return "", false
	case len(id) == 11:
		return carnet.IDNatPS(id), true
	case len(id) == 12 && id[0] == '8', len(id) == 10 && id[0] == '0':
		return id, true
	}
	return "", false
}

// professionRole returns the TRE_G15 profession as a role.
func professionRole(p carnet.Profession) *FHIRCodeableConcept {
	if p == "" {
		return nil
	}
	return &FHIRCodeableConcept{Coding: []FHIRCoding{{System: SystemProfessionTRE, Code: string(p), Display: upperFirst(p.Label())}}}
}

func clientDisplay(e *carnet.AuditEvent) string {
	if e.ActorKind == carnet.ActorApp && e.ActorName != "" {
		return e.ActorName
	}
	if e.ActorName != "" {
		return "Logiciel utilisé par " + e.ActorName
	}
	return "Logiciel client"
}

// targetReference names the target of an action: a FHIR resource when it has one, else
// Carnet's identifier. The patient target of patient.* actions is the patient entity itself.
func targetReference(e *carnet.AuditEvent, base string) *FHIRReference {
	if e.TargetType == "" && e.TargetID == "" {
		return nil
	}
	display := TargetLabel(e.TargetType, "")
	if rt, ok := targetResources[e.TargetType]; ok && e.TargetID != "" {
		return &FHIRReference{Reference: rt + "/" + e.TargetID, Display: display}
	}
	kind := e.TargetType
	if kind == "" {
		kind = "target"
	}
	return &FHIRReference{Identifier: &FHIRIdentifier{System: base + "/id/" + kind, Value: e.TargetID}, Display: display}
}

// queryOf returns the search that a listing or an export amounts to.
func queryOf(e *carnet.AuditEvent) string {
	switch {
	case strings.HasPrefix(e.Action, "history."):
		return "AuditEvent?patient=Patient/" + e.PatientID
	case e.Action == "export":
		return "Patient/" + e.PatientID + "/$everything"
	case strings.HasPrefix(e.Action, "document."):
		return "DocumentReference?patient=Patient/" + e.PatientID
	}
	object, _, _ := strings.Cut(e.Action, ".")
	if rt, ok := targetResources[object]; ok {
		return rt + "?patient=Patient/" + e.PatientID
	}
	return e.Action + "?patient=Patient/" + e.PatientID
}

func siteOf(base string) string {
	s := base
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	host, _, _ := strings.Cut(s, "/")
	return host
}

// narrative is a French one-line summary, in Europe/Paris time.
func narrative(e *carnet.AuditEvent) *FHIRNarrative {
	x := History{}.Entry(e)
	parts := []string{x.Date, x.Who}
	if x.Profession != "" {
		parts[1] += " (" + x.Profession + ")"
	}
	line := strings.Join(parts, " — ") + " : " + x.Action
	if x.Target != "" {
		line += ", " + x.Target
	}
	if e.Mode == carnet.ModeRegulation || e.Mode == carnet.ModeBreakGlass {
		line += ", mode " + x.Mode
	}
	line += " — " + x.Decision
	if x.Reason != "" {
		line += " (" + x.Reason + ")"
	}
	return &FHIRNarrative{Status: "generated", Div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>` + html.EscapeString(line) + `</p></div>`}
}
