package carnet

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"
)

// DocStatus is a document's place in its life cycle.
type DocStatus string

const (
	DocCurrent    DocStatus = "current"
	DocDeprecated DocStatus = "deprecated" // replaced by a newer version
	DocArchived   DocStatus = "archived"
	DocDeleted    DocStatus = "deleted" // entered in error: readable by no one
)

// Valid reports whether s is a known status.
func (s DocStatus) Valid() bool {
	switch s {
	case DocCurrent, DocDeprecated, DocArchived, DocDeleted:
		return true
	}
	return false
}

// AuthorKind says who wrote a document or a profile entry.
type AuthorKind string

const (
	AuthorProfessional AuthorKind = "professional"
	AuthorPatient      AuthorKind = "patient"
	AuthorSystem       AuthorKind = "system" // e.g. reimbursement data from the insurance fund
)

// Media types accepted for document bodies.
var mediaTypes = map[string]bool{
	"application/pdf": true,
	"text/xml":        true, // CDA R2
	"application/xml": true,
	"image/jpeg":      true,
	"image/png":       true,
	"text/plain":      true,
}

// ValidMediaType reports whether a document body of that type is accepted.
func ValidMediaType(mt string) bool { return mediaTypes[mt] }

// Document is the metadata of one document in a patient's space. Its body lives, encrypted, in
// the blob store under BlobKey.
//
// The title may reveal health content, so stores persist it sealed (TitleSealed) and leave
// Title empty on reads; the service fills it back.
type Document struct {
	ID          string
	PatientID   string
	TypeCode    string   // a DocType code
	Class       DocClass // the type's class, set from TypeCode
	Title       string   // clear title; never persisted by a store
	TitleSealed []byte
	AuthorKind  AuthorKind
	AuthorID    string    // professional ID or patient ID
	AuthorName  string    // as shown in lists ("Dr Marie Martin")
	StructureID string    // the author's structure at deposit time
	ServiceDate time.Time // date of the act the document reports
	Status      DocStatus
	ReplacesID  string // the document this version replaces

	HiddenFromProfessionals   bool // masqué aux professionnels
	HiddenFromPatient         bool // invisible au patient (until the announcement consultation)
	HiddenFromRepresentatives bool // invisible aux représentants légaux (irreversible once cleared)

	ContentHash []byte // SHA-256 of the plaintext body
	Size        int64  // plaintext size in bytes
	MediaType   string
	BlobKey     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Validate checks the document's metadata. It sets Class from TypeCode.
func (d *Document) Validate() error {
	var v ValidationError
	if d.PatientID == "" {
		v.add("patient manquant")
	}
	if t, err := LookupDocType(d.TypeCode); err != nil {
		v.add("%s", ErrorMessage(err))
	} else {
		d.Class = t.Class
	}
	if strings.TrimSpace(d.Title) == "" {
		v.add("titre manquant")
	} else if !utf8.ValidString(d.Title) || utf8.RuneCountInString(d.Title) > 200 {
		v.add("titre invalide (200 caractères au plus)")
	}
	switch d.AuthorKind {
	case AuthorProfessional, AuthorPatient, AuthorSystem:
	default:
		v.add("auteur invalide")
	}
	if d.Status != "" && !d.Status.Valid() {
		v.add("statut inconnu : %q", d.Status)
	}
	if d.HiddenFromProfessionals && d.HiddenFromPatient {
		v.add("un document ne peut pas être à la fois masqué aux professionnels et invisible au patient")
	}
	if !ValidMediaType(d.MediaType) {
		v.add("format non pris en charge : %q", d.MediaType)
	}
	if d.Size <= 0 {
		v.add("contenu vide")
	}
	if len(d.ContentHash) != 32 {
		v.add("empreinte SHA-256 manquante")
	}
	return v.err("document")
}

// CheckContent verifies that a body's bytes match its declared media type, so that a file
// declared as a PDF is a PDF. It also rejects empty bodies.
func CheckContent(mediaType string, body []byte) error {
	if len(body) == 0 {
		return Errorf(EINVALID, "contenu vide")
	}
	ok := false
	switch mediaType {
	case "application/pdf":
		ok = bytes.HasPrefix(body, []byte("%PDF-"))
	case "image/png":
		ok = bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n"))
	case "image/jpeg":
		ok = bytes.HasPrefix(body, []byte{0xff, 0xd8, 0xff})
	case "text/xml", "application/xml":
		trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
		ok = bytes.HasPrefix(trimmed, []byte("<")) && utf8.Valid(body)
	case "text/plain":
		ok = utf8.Valid(body) && !bytes.ContainsRune(body, 0)
	default:
		return Errorf(EINVALID, "format non pris en charge : %q", mediaType)
	}
	if !ok {
		return Errorf(EINVALID, "le contenu ne correspond pas au format déclaré (%s)", mediaType)
	}
	return nil
}
