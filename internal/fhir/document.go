package fhir

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

// DocumentReference is a FHIR DocumentReference, in the IHE MHD flavour.
type DocumentReference struct {
	ResourceType      string              `json:"resourceType"`
	ID                string              `json:"id,omitempty"`
	Meta              *Meta               `json:"meta,omitempty"`
	ModifierExtension []Extension         `json:"modifierExtension,omitempty"`
	Status            string              `json:"status,omitempty"`
	DocStatus         string              `json:"docStatus,omitempty"`
	Type              *CodeableConcept    `json:"type,omitempty"`
	Category          []CodeableConcept   `json:"category,omitempty"`
	Subject           *Reference          `json:"subject,omitempty"`
	Date              string              `json:"date,omitempty"` // instant
	Author            []Reference         `json:"author,omitempty"`
	RelatesTo         []DocumentRelatesTo `json:"relatesTo,omitempty"`
	Description       string              `json:"description,omitempty"`
	SecurityLabel     []CodeableConcept   `json:"securityLabel,omitempty"`
	Content           []DocumentContent   `json:"content,omitempty"`
	Context           *DocumentContext    `json:"context,omitempty"`
}

func (r DocumentReference) typeAndID() (string, string) { return r.ResourceType, r.ID }

// DocumentRelatesTo links a document to another one.
type DocumentRelatesTo struct {
	Code   string    `json:"code"`
	Target Reference `json:"target"`
}

// DocumentContent is the document's body: an attachment and its format.
type DocumentContent struct {
	Attachment Attachment `json:"attachment"`
	Format     *Coding    `json:"format,omitempty"`
}

// DocumentContext is the clinical context of a document.
type DocumentContext struct {
	Period *Period `json:"period,omitempty"`
}

// Binary is a FHIR Binary: a document's body.
type Binary struct {
	ResourceType    string     `json:"resourceType"`
	ID              string     `json:"id,omitempty"`
	Meta            *Meta      `json:"meta,omitempty"`
	ContentType     string     `json:"contentType,omitempty"`
	SecurityContext *Reference `json:"securityContext,omitempty"`
	Data            string     `json:"data,omitempty"` // base64
}

func (r Binary) typeAndID() (string, string) { return r.ResourceType, r.ID }

// DocumentOptions tune DocumentReferenceToFHIR.
type DocumentOptions struct {
	// Data, when not nil, is the document's body, put inline in content[0].attachment.data (with
	// its SHA-1 in hash) instead of a url to the Binary.
	Data []byte
}

// Codings of the visibility flags and of the confidentiality level.
var (
	codingNormal                 = Coding{System: SystemConfidentiality, Code: "N", Display: "normal"}
	codingHiddenFromProfessional = Coding{System: SystemTREA07, Code: CodeHiddenFromProfessionals, Display: "Masqué aux professionnels de santé"}
	codingHiddenFromPatient      = Coding{System: SystemTREA07, Code: CodeHiddenFromPatient, Display: "Non visible par le patient"}
	codingHiddenFromReps         = Coding{System: SystemTREA07, Code: CodeHiddenFromRepresentatives, Display: "Non visible par représentants légaux du patient"}
)

// FHIRDocStatus returns the DocumentReference.status of a Carnet document status: archived
// documents are current (and tagged TagArchived by DocumentReferenceToFHIR).
func FHIRDocStatus(s carnet.DocStatus) string {
	switch s {
	case carnet.DocDeprecated:
		return "superseded"
	case carnet.DocDeleted:
		return "entered-in-error"
	}
	return "current"
}

// DocumentReferenceToFHIR converts a document's metadata (its Title filled by the service).
func DocumentReferenceToFHIR(d *carnet.Document, opts DocumentOptions) DocumentReference {
	r := DocumentReference{
		ResourceType: "DocumentReference",
		ID:           d.ID,
		Meta:         meta(d.UpdatedAt),
		Status:       FHIRDocStatus(d.Status),
		DocStatus:    "final",
		Subject:      ref("Patient", d.PatientID),
		Date:         optInstant(d.CreatedAt),
		Description:  d.Title,
	}
	if d.Status == carnet.DocArchived {
		if r.Meta == nil {
			r.Meta = &Meta{}
		}
		r.Meta.Tag = []Coding{{System: SystemDocumentLifecycle, Code: TagArchived, Display: "archivé"}}
	}
	class := d.Class
	if t, err := carnet.LookupDocType(d.TypeCode); err == nil {
		r.Type = &CodeableConcept{Coding: []Coding{{System: typeSystem(t.System), Code: t.Code, Display: t.Label}}}
		if class == "" {
			class = t.Class
		}
	} else if d.TypeCode != "" {
		r.Type = &CodeableConcept{Text: d.TypeCode}
	}
	if class != "" {
		r.Category = []CodeableConcept{concept(SystemTREA03, string(class), class.Label())}
	}
	switch d.AuthorKind {
	case carnet.AuthorProfessional:
		a := ref("Practitioner", d.AuthorID)
		a.Display = d.AuthorName
		r.Author = []Reference{*a}
	case carnet.AuthorPatient:
		a := ref("Patient", d.AuthorID)
		a.Display = d.AuthorName
		r.Author = []Reference{*a}
	case carnet.AuthorSystem:
		if d.AuthorName != "" {
			r.Author = []Reference{{Display: d.AuthorName}}
		}
	}
	if d.ReplacesID != "" {
		r.RelatesTo = []DocumentRelatesTo{{Code: "replaces", Target: *ref("DocumentReference", d.ReplacesID)}}
	}
	r.SecurityLabel = []CodeableConcept{{Coding: []Coding{codingNormal}}}
	if d.HiddenFromProfessionals {
		r.SecurityLabel = append(r.SecurityLabel, CodeableConcept{Coding: []Coding{codingHiddenFromProfessional}})
	}
	if d.HiddenFromPatient {
		r.SecurityLabel = append(r.SecurityLabel, CodeableConcept{Coding: []Coding{codingHiddenFromPatient}})
	}
	if d.HiddenFromRepresentatives {
		r.SecurityLabel = append(r.SecurityLabel, CodeableConcept{Coding: []Coding{codingHiddenFromReps}})
	}
	att := Attachment{ContentType: d.MediaType, Title: d.Title}
	if d.Size > 0 {
		att.Size = ptr(d.Size)
	}
	if len(d.ContentHash) > 0 {
		att.Extension = []Extension{{URL: ExtAttachmentSHA256, ValueBase64Binary: base64.StdEncoding.EncodeToString(d.ContentHash)}}
	}
	if opts.Data != nil {
		att.Data = base64.StdEncoding.EncodeToString(opts.Data)
		sum := sha1.Sum(opts.Data)
		att.Hash = base64.StdEncoding.EncodeToString(sum[:])
	} else {
		att.URL = "Binary/" + d.ID
	}
	content := DocumentContent{Attachment: att}
	if d.MediaType != "" && !isXML(d.MediaType) {
		// An XML body may be a CDA document, whose format code Carnet does not know.
		content.Format = &Coding{System: SystemIHEFormatCode, Code: CodeFormatMimeTypeSufficient, Display: "mimeType Sufficient"}
	}
	r.Content = []DocumentContent{content}
	if !d.ServiceDate.IsZero() {
		r.Context = &DocumentContext{Period: &Period{Start: formatDate(d.ServiceDate)}}
	}
	return r
}

func isXML(mediaType string) bool { return mediaType == "text/xml" || mediaType == "application/xml" }

// BinaryToFHIR returns the body of a document as a Binary whose id is the document's and whose
// securityContext is its DocumentReference (the access rules of the one apply to the other).
func BinaryToFHIR(d *carnet.Document, data []byte) Binary {
	return Binary{
		ResourceType:    "Binary",
		ID:              d.ID,
		ContentType:     d.MediaType,
		SecurityContext: ref("DocumentReference", d.ID),
		Data:            base64.StdEncoding.EncodeToString(data),
	}
}

// NewDocumentInput is what a DocumentReference submitted for creation asks for: the fields the
// service needs to deposit (or replace) a document, and where its body is.
type NewDocumentInput struct {
	// The patient: PatientID from a literal reference "Patient/<id>", or, when the subject names
	// the patient by INS (subject.identifier, or "Patient?identifier=urn:oid:…|NIR"), the INS OID
	// (without "urn:oid:") and the normalized NIR, for the caller to resolve.
	PatientID     string
	PatientINSOID string
	PatientNIR    string

	TypeCode    string // a known carnet document type
	Title       string // description (or, failing it, the attachment's title)
	MediaType   string // the attachment's content type without parameters, lower-cased
	ServiceDate time.Time

	HiddenFromProfessionals   bool
	HiddenFromPatient         bool
	HiddenFromRepresentatives bool

	// ReplacesID is the document this one replaces (relatesTo replaces): call ReplaceDocument.
	ReplacesID string

	// Data is the body from attachment.data, checked against the declared size and digests. When
	// it is nil, BinaryID names the Binary holding the body: resolve it and call SetBinary.
	Data     []byte
	BinaryID string

	// Declared by the attachment (zero or nil when absent).
	Size   int64
	SHA1   []byte
	SHA256 []byte
}

// ParseDocumentReference parses a DocumentReference submitted for creation. maxBytes bounds the
// decoded body (ETOOLARGE above it); zero or less means no bound. Errors are EINVALID with a
// French message, which OutcomeFromError turns into an OperationOutcome.
func ParseDocumentReference(body []byte, maxBytes int64) (*NewDocumentInput, error) {
	var r DocumentReference
	if err := decode(body, &r, "DocumentReference", func() string { return r.ResourceType }); err != nil {
		return nil, err
	}
	if err := noModifierExtension("DocumentReference", r.ModifierExtension); err != nil {
		return nil, err
	}
	in := &NewDocumentInput{}
	if r.Status != "" && r.Status != "current" {
		return nil, invalidf("value", "DocumentReference.status", "statut %q refusé à la création : current attendu", r.Status)
	}
	var err error
	if in.PatientID, in.PatientINSOID, in.PatientNIR, err = parseSubject(r.Subject, "DocumentReference.subject"); err != nil {
		return nil, err
	}
	t, err := parseDocType(r.Type)
	if err != nil {
		return nil, err
	}
	in.TypeCode = t.Code
	if err := checkCategory(r.Category, t); err != nil {
		return nil, err
	}
	if err := parseSecurityLabels(r.SecurityLabel, in); err != nil {
		return nil, err
	}
	for i, rel := range r.RelatesTo {
		if rel.Code != "replaces" {
			return nil, invalidf("not-supported", "DocumentReference.relatesTo.code", "relation %q non prise en charge : seule « replaces » l'est", rel.Code)
		}
		if i > 0 {
			return nil, invalidf("not-supported", "DocumentReference.relatesTo", "un document ne peut en remplacer qu'un seul")
		}
		id, ok := referenceID(rel.Target.Reference, "DocumentReference")
		if !ok {
			return nil, invalidf("value", "DocumentReference.relatesTo.target", "document remplacé invalide : %q (DocumentReference/<id> attendu)", rel.Target.Reference)
		}
		in.ReplacesID = id
	}
	if r.Context != nil && r.Context.Period != nil && r.Context.Period.Start != "" {
		if in.ServiceDate, err = parseDay(r.Context.Period.Start, "DocumentReference.context.period.start", "date de l'acte"); err != nil {
			return nil, err
		}
	}
	switch len(r.Content) {
	case 0:
		return nil, invalidf("required", "DocumentReference.content", "contenu manquant (DocumentReference.content)")
	case 1:
	default:
		return nil, invalidf("not-supported", "DocumentReference.content", "un seul contenu (content) est accepté, %d reçus", len(r.Content))
	}
	att := &r.Content[0].Attachment
	in.Title = strings.TrimSpace(r.Description)
	if in.Title == "" {
		in.Title = strings.TrimSpace(att.Title)
	}
	if in.Title == "" {
		return nil, invalidf("required", "DocumentReference.description", "titre manquant (DocumentReference.description)")
	}
	if in.MediaType, err = parseContentType(att.ContentType, "DocumentReference.content.attachment.contentType"); err != nil {
		return nil, err
	}
	if err := parseAttachmentDigests(att, in); err != nil {
		return nil, err
	}
	const path = "DocumentReference.content.attachment"
	switch {
	case att.Data != "":
		if in.Data, err = decodeData(att.Data, maxBytes, path+".data"); err != nil {
			return nil, err
		}
		if err := in.checkBody(in.Data, path); err != nil {
			return nil, err
		}
	case att.URL != "":
		if strings.HasPrefix(att.URL, "urn:") {
			return nil, invalidf("not-supported", path+".url", "pièce jointe %q non prise en charge : mettez le contenu dans attachment.data ou déposez d'abord un Binary", att.URL)
		}
		id, ok := referenceID(att.URL, "Binary")
		if !ok {
			return nil, invalidf("value", path+".url", "adresse du contenu invalide : %q (Binary/<id> attendu)", att.URL)
		}
		in.BinaryID = id
		if maxBytes > 0 && in.Size > maxBytes {
			return nil, tooLarge(maxBytes)
		}
	default:
		return nil, invalidf("required", path, "contenu manquant : attachment.data (base64) ou attachment.url (Binary/<id>) attendu")
	}
	return in, nil
}

// SetBinary completes an input whose body is a Binary (BinaryID): it checks the Binary's content
// type and bytes against what the DocumentReference declared, and sets Data.
func (in *NewDocumentInput) SetBinary(contentType string, data []byte) error {
	mt, err := parseContentType(contentType, "Binary.contentType")
	if err != nil {
		return err
	}
	if mt != in.MediaType {
		return invalidf("value", "Binary.contentType", "le Binary est de type %q, le DocumentReference annonce %q", mt, in.MediaType)
	}
	if len(data) == 0 {
		return invalidf("required", "Binary.data", "contenu vide")
	}
	if err := in.checkBody(data, "DocumentReference.content.attachment"); err != nil {
		return err
	}
	in.Data = data
	return nil
}

// checkBody checks a body against the declared size and digests.
func (in *NewDocumentInput) checkBody(data []byte, path string) error {
	if in.Size > 0 && in.Size != int64(len(data)) {
		return invalidf("value", path+".size", "taille déclarée (%d octets) différente de la taille du contenu (%d octets)", in.Size, len(data))
	}
	if in.SHA1 != nil {
		if sum := sha1.Sum(data); !bytes.Equal(sum[:], in.SHA1) {
			return invalidf("value", path+".hash", "l'empreinte SHA-1 déclarée (hash) ne correspond pas au contenu")
		}
	}
	if in.SHA256 != nil {
		if sum := sha256.Sum256(data); !bytes.Equal(sum[:], in.SHA256) {
			return invalidf("value", path+".extension", "l'empreinte SHA-256 déclarée ne correspond pas au contenu")
		}
	}
	return nil
}

// parseAttachmentDigests reads the declared size, SHA-1 and SHA-256 of an attachment.
func parseAttachmentDigests(att *Attachment, in *NewDocumentInput) error {
	const path = "DocumentReference.content.attachment"
	if att.Size != nil {
		if *att.Size <= 0 {
			return invalidf("value", path+".size", "taille déclarée invalide : %d", *att.Size)
		}
		in.Size = *att.Size
	}
	if att.Hash != "" {
		h, ok := decodeBase64(att.Hash)
		if !ok || len(h) != sha1.Size {
			return invalidf("value", path+".hash", "empreinte (hash) invalide : SHA-1 en base64 attendue")
		}
		in.SHA1 = h
	}
	if e := extension(att.Extension, ExtAttachmentSHA256); e != nil {
		h, ok := decodeBase64(e.ValueBase64Binary)
		if !ok || len(h) != sha256.Size {
			return invalidf("value", path+".extension", "empreinte SHA-256 invalide : 32 octets en base64 attendus")
		}
		in.SHA256 = h
	}
	return nil
}

// parseSubject reads the patient of a submitted resource: a literal reference, a logical
// reference by INS, or a conditional reference "Patient?identifier=system|value".
func parseSubject(r *Reference, expression string) (id, insOID, nir string, err error) {
	if r == nil || (r.Reference == "" && r.Identifier == nil) {
		return "", "", "", invalidf("required", expression, "patient manquant (%s)", expression)
	}
	if q, ok := strings.CutPrefix(r.Reference, "Patient?identifier="); ok {
		if u, err := url.QueryUnescape(q); err == nil {
			q = u
		}
		system, value, err := ParseIdentifierToken(q)
		if err != nil {
			return "", "", "", invalidf("value", expression, "%s", carnet.ErrorMessage(err))
		}
		return insSubject(system, value, expression)
	}
	if r.Reference == "" {
		return insSubject(r.Identifier.System, r.Identifier.Value, expression)
	}
	id, ok := referenceID(r.Reference, "Patient")
	if !ok {
		return "", "", "", invalidf("value", expression, "référence au patient invalide : %q (Patient/<id> attendu)", r.Reference)
	}
	return id, "", "", nil
}

// insSubject checks a patient named by INS.
func insSubject(system, value, expression string) (string, string, string, error) {
	oid, ok := strings.CutPrefix(system, "urn:oid:")
	if _, known := insTypes[oid]; !ok || !known {
		return "", "", "", invalidf("value", expression, "identifiant du patient : système %q inconnu (urn:oid:%s attendu pour un INS)", system, carnet.OIDINSNIR)
	}
	if err := carnet.ValidateNIR(value); err != nil {
		return "", "", "", invalidf("value", expression, "%s", carnet.ErrorMessage(err))
	}
	return "", oid, carnet.NormalizeNIR(value), nil
}

// parseDocType finds the document type among the type's codings.
func parseDocType(cc *CodeableConcept) (carnet.DocType, error) {
	const path = "DocumentReference.type"
	if cc == nil || len(cc.Coding) == 0 {
		return carnet.DocType{}, invalidf("required", path, "type de document manquant (DocumentReference.type : un code LOINC ou TRE_A05)")
	}
	for _, c := range cc.Coding {
		if !sameSystem(c.System, SystemLOINC) && !sameSystem(c.System, SystemTREA05) {
			continue
		}
		t, err := carnet.LookupDocType(c.Code)
		if err != nil || !sameSystem(c.System, typeSystem(t.System)) {
			return carnet.DocType{}, invalidf("code-invalid", path, "type de document inconnu : %s|%s", c.System, c.Code)
		}
		return t, nil
	}
	c := cc.Coding[0]
	return carnet.DocType{}, invalidf("code-invalid", path, "type de document inconnu : %s|%s (système LOINC %s ou TRE_A05 %s attendu)", c.System, c.Code, SystemLOINC, SystemTREA05)
}

// checkCategory checks that the classes given (if any) are the type's.
func checkCategory(cats []CodeableConcept, t carnet.DocType) error {
	const path = "DocumentReference.category"
	for _, cc := range cats {
		for _, c := range cc.Coding {
			if !sameSystem(c.System, SystemTREA03) {
				continue
			}
			if !carnet.DocClass(c.Code).Valid() {
				return invalidf("code-invalid", path, "classe de document inconnue : %q", c.Code)
			}
			if carnet.DocClass(c.Code) != t.Class {
				return invalidf("value", path, "la classe %q ne correspond pas au type %q (classe %q attendue)", c.Code, t.Code, t.Class)
			}
		}
	}
	return nil
}

// parseSecurityLabels reads the visibility flags; the only confidentiality level accepted is N.
func parseSecurityLabels(labels []CodeableConcept, in *NewDocumentInput) error {
	const path = "DocumentReference.securityLabel"
	for _, cc := range labels {
		if len(cc.Coding) == 0 {
			return invalidf("required", path, "étiquette de sécurité sans code")
		}
		for _, c := range cc.Coding {
			switch {
			case sameSystem(c.System, SystemTREA07):
				switch c.Code {
				case CodeHiddenFromProfessionals:
					in.HiddenFromProfessionals = true
				case CodeHiddenFromPatient:
					in.HiddenFromPatient = true
				case CodeHiddenFromRepresentatives:
					in.HiddenFromRepresentatives = true
				default:
					return invalidf("code-invalid", path, "code de visibilité inconnu ou non pris en charge : %q (%s, %s ou %s attendu)",
						c.Code, CodeHiddenFromProfessionals, CodeHiddenFromPatient, CodeHiddenFromRepresentatives)
				}
			case c.System == SystemConfidentiality:
				if c.Code != "N" {
					return invalidf("not-supported", path, "niveau de confidentialité %q non pris en charge : seul N l'est ; la visibilité se règle avec %s, %s ou %s",
						c.Code, CodeHiddenFromProfessionals, CodeHiddenFromPatient, CodeHiddenFromRepresentatives)
				}
			default:
				return invalidf("code-invalid", path, "étiquette de sécurité inconnue : %s|%s", c.System, c.Code)
			}
		}
	}
	if in.HiddenFromProfessionals && in.HiddenFromPatient {
		return invalidf("business-rule", path, "un document ne peut pas être à la fois masqué aux professionnels et invisible au patient")
	}
	return nil
}

// parseContentType returns the media type without parameters, lower-cased, if Carnet accepts it.
func parseContentType(ct, expression string) (string, error) {
	if strings.TrimSpace(ct) == "" {
		return "", invalidf("required", expression, "format du contenu manquant (contentType)")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !carnet.ValidMediaType(mt) {
		return "", invalidf("not-supported", expression, "format non pris en charge : %q (PDF, JPEG, PNG, XML ou texte attendu)", ct)
	}
	return mt, nil
}

// decodeData decodes a base64 body, refusing it above maxBytes before decoding when its length
// tells.
func decodeData(s string, maxBytes int64, expression string) ([]byte, error) {
	s = stripSpace(s)
	if maxBytes > 0 && int64(len(s))/4*3-2 > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	b, ok := decodeBase64(s)
	if !ok {
		return nil, invalidf("value", expression, "contenu invalide : base64 attendu")
	}
	if maxBytes > 0 && int64(len(b)) > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	if len(b) == 0 {
		return nil, invalidf("required", expression, "contenu vide")
	}
	return b, nil
}

func tooLarge(maxBytes int64) error {
	return carnet.Errorf(carnet.ETOOLARGE, "document trop volumineux : %d octets au plus", maxBytes)
}

// decodeBase64 decodes FHIR base64Binary: standard alphabet, white space allowed, padding
// optional.
func decodeBase64(s string) ([]byte, bool) {
	s = stripSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	return nil, false
}

// stripSpace removes ASCII white space.
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// ParseBinary parses a Binary resource: its content type (without parameters, lower-cased; one
// that Carnet accepts) and its decoded bytes, at most maxBytes of them (zero or less: no bound).
func ParseBinary(body []byte, maxBytes int64) (contentType string, data []byte, err error) {
	var r Binary
	if err := decode(body, &r, "Binary", func() string { return r.ResourceType }); err != nil {
		return "", nil, err
	}
	if contentType, err = parseContentType(r.ContentType, "Binary.contentType"); err != nil {
		return "", nil, err
	}
	if r.Data == "" {
		return "", nil, invalidf("required", "Binary.data", "contenu manquant (Binary.data)")
	}
	if data, err = decodeData(r.Data, maxBytes, "Binary.data"); err != nil {
		return "", nil, err
	}
	return contentType, data, nil
}
