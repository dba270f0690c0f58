package fhir

// FHIR R4 datatypes, holding only the elements Carnet uses. Every field is omitted when empty,
// since FHIR forbids empty strings, arrays and objects.

// Meta is a resource's metadata.
type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"` // instant
	Profile     []string `json:"profile,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
}

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept given by codings and/or text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Reference points to another resource, by a literal reference ("Patient/123"), a logical
// identifier, or only a display text.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Identifier is a business identifier.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Extension []Extension `json:"extension,omitempty"`
	Use       string      `json:"use,omitempty"`
	Text      string      `json:"text,omitempty"`
	Family    string      `json:"family,omitempty"`
	Given     []string    `json:"given,omitempty"`
}

// ContactPoint is a phone number, an email address...
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Address is a postal address (Carnet keeps it as one text) or a place.
type Address struct {
	Extension []Extension `json:"extension,omitempty"`
	Use       string      `json:"use,omitempty"`
	Text      string      `json:"text,omitempty"`
}

// Period is a time range; either end may be open.
type Period struct {
	Start string `json:"start,omitempty"` // dateTime
	End   string `json:"end,omitempty"`   // dateTime
}

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
}

// Attachment is content referred to or held inline.
type Attachment struct {
	Extension   []Extension `json:"extension,omitempty"`
	ContentType string      `json:"contentType,omitempty"`
	Data        string      `json:"data,omitempty"` // base64
	URL         string      `json:"url,omitempty"`
	Size        *int64      `json:"size,omitempty"`
	Hash        string      `json:"hash,omitempty"` // base64 SHA-1 (FHIR R4)
	Title       string      `json:"title,omitempty"`
}

// Extension is an extension with one of the value types Carnet uses.
type Extension struct {
	URL               string   `json:"url"`
	ValueString       string   `json:"valueString,omitempty"`
	ValueCode         string   `json:"valueCode,omitempty"`
	ValueBase64Binary string   `json:"valueBase64Binary,omitempty"`
	ValueDateTime     string   `json:"valueDateTime,omitempty"`
	ValueCoding       *Coding  `json:"valueCoding,omitempty"`
	ValueAddress      *Address `json:"valueAddress,omitempty"`
}

// extension returns the first extension with that URL, or nil.
func extension(exts []Extension, url string) *Extension {
	for i := range exts {
		if exts[i].URL == url {
			return &exts[i]
		}
	}
	return nil
}

// ref returns a literal reference to a resource.
func ref(resourceType, id string) *Reference {
	return &Reference{Reference: resourceType + "/" + id}
}

// concept returns a CodeableConcept of one coding.
func concept(system, code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: system, Code: code, Display: display}}}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
