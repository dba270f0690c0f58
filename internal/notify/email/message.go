package email

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// IdempotencyHeader is the header that carries a message's idempotency key, so that a receiver
// can recognise the copies of one notification sent more than once (the outbox delivers at
// least once).
const IdempotencyHeader = "X-Carnet-Idempotency-Key"

// Message is one email. Its texts are sent as given: the service writes them, in French, and
// they say only that something happened and where to look — never any health content.
type Message struct {
	// To is the single recipient: "jean@example.org" or "Jean Dupont <jean@example.org>".
	To string
	// Subject is the subject line, UTF-8; it is sent as RFC 2047 encoded words when needed.
	Subject string
	// Text is the plain-text body, UTF-8, lines separated by "\n" or "\r\n".
	Text string
	// HTML is an optional HTML alternative of Text; when set the email is multipart/alternative.
	HTML string
	// IdempotencyKey travels in the X-Carnet-Idempotency-Key header; every copy of the same
	// notification carries the same key.
	IdempotencyKey string
	// MessageID is the Message-ID without angle brackets ("abc@carnet.example"). When empty it
	// is derived from IdempotencyKey (so that a copy sent again has the same Message-ID and
	// mail clients fold the duplicates), or random when there is no key either.
	MessageID string
}

// maxHeaderValue bounds the values that come from callers, far below the 998-octet line limit.
const maxHeaderValue = 900

// build renders m as an RFC 5322 message with CRLF line endings. from is the parsed sender,
// domain the right-hand side used for generated Message-IDs, now the Date.
func build(m *Message, from *mail.Address, to *mail.Address, now time.Time) ([]byte, error) {
	if err := checkHeaderValue("objet", m.Subject); err != nil {
		return nil, err
	}
	if err := checkHeaderValue("clé d'idempotence", m.IdempotencyKey); err != nil {
		return nil, err
	}
	if !isPrintableASCII(m.IdempotencyKey) {
		return nil, invalid("clé d'idempotence : caractères ASCII imprimables uniquement")
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return nil, invalid("corps : UTF-8 invalide")
	}
	msgID, err := messageID(m, from.Address)
	if err != nil {
		return nil, err
	}

	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(fold(name + ": " + value))
		b.WriteString("\r\n")
	}
	header("Date", now.Format(time.RFC1123Z))
	header("From", from.String())
	header("To", to.String())
	header("Message-ID", "<"+msgID+">")
	header("Subject", encodeText(m.Subject))
	header("MIME-Version", "1.0")
	// Automatic notifications: no vacation auto-replies (RFC 3834).
	header("Auto-Submitted", "auto-generated")
	if m.IdempotencyKey != "" {
		header(IdempotencyHeader, m.IdempotencyKey)
	}

	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}

	mw := multipart.NewWriter(&b)
	header("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	b.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeText returns s as is when it is printable ASCII, or else as RFC 2047 "Q" encoded words
// short enough for "Subject: " and one word to fit in 78 characters; fold then breaks the line
// between words.
func encodeText(s string) string {
	if isPlainText(s) {
		return s
	}
	const (
		prefix  = "=?utf-8?q?"
		suffix  = "?="
		maxWord = 66
	)
	var words []string
	var cur strings.Builder
	var buf [utf8.UTFMax]byte
	for _, r := range s {
		var enc string
		switch {
		case r == ' ':
			enc = "_"
		case r < utf8.RuneSelf && r > ' ' && r <= '~' && r != '=' && r != '?' && r != '_':
			enc = string(r)
		default:
			n := utf8.EncodeRune(buf[:], r)
			var e strings.Builder
			for _, c := range buf[:n] {
				fmt.Fprintf(&e, "=%02X", c)
			}
			enc = e.String()
		}
		// A character's bytes stay in one word (RFC 2047 §5).
		if cur.Len()+len(enc) > maxWord-len(prefix)-len(suffix) {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.WriteString(enc)
	}
	if cur.Len() > 0 {
		words = append(words, prefix+cur.String()+suffix)
	}
	return strings.Join(words, " ")
}

// isPlainText reports whether s can go in a header without encoding: printable ASCII (and
// spaces and tabs) that does not look like an encoded word.
func isPlainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return !strings.Contains(s, "=?")
}

// writeQP writes s quoted-printable encoded, its line breaks as CRLF, ending with a line break.
func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	if !strings.HasSuffix(s, "\n") {
		_, err := w.Write([]byte("\r\n"))
		return err
	}
	return nil
}

// messageID returns m.MessageID, or one derived from the idempotency key, or a random one.
func messageID(m *Message, fromAddr string) (string, error) {
	if m.MessageID != "" {
		id := strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">")
		if err := checkHeaderValue("Message-ID", id); err != nil {
			return "", err
		}
		if !isPrintableASCII(id) || strings.ContainsAny(id, " <>") || strings.Count(id, "@") != 1 {
			return "", invalid("Message-ID : gauche@droite en ASCII imprimable attendu")
		}
		return id, nil
	}
	domain := "carnet.invalid"
	if at := strings.LastIndexByte(fromAddr, '@'); at >= 0 && isPrintableASCII(fromAddr[at+1:]) {
		domain = fromAddr[at+1:]
	}
	if m.IdempotencyKey != "" {
		sum := sha256.Sum256([]byte("carnet-message-id\x00" + m.IdempotencyKey))
		return hex.EncodeToString(sum[:16]) + "@" + domain, nil
	}
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(r[:]) + "@" + domain, nil
}

// parseAddress parses one address and rejects anything that could smuggle a header or a second
// recipient.
func parseAddress(what, s string) (*mail.Address, error) {
	if s == "" {
		return nil, invalid(what + " : adresse vide")
	}
	if err := checkHeaderValue(what, s); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, invalid(what + " : adresse invalide")
	}
	if strings.ContainsAny(a.Address, "\r\n<>\x00 ") {
		return nil, invalid(what + " : adresse invalide")
	}
	return a, nil
}

// checkHeaderValue rejects the characters that would end a header line or hide a new one.
func checkHeaderValue(what, s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return invalid(what + " : retour à la ligne interdit")
	}
	if len(s) > maxHeaderValue {
		return invalid(what + " : trop long")
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f || r == 0x2028 || r == 0x2029 || r == 0x85 {
			return invalid(what + " : caractère de contrôle interdit")
		}
	}
	return nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// fold folds a header line at spaces so that lines stay within 78 characters where possible
// (RFC 5322 §2.2.3). Unfolding (removing the CRLF) gives back the original line.
func fold(line string) string {
	const limit = 78
	if len(line) <= limit {
		return line
	}
	var b strings.Builder
	cur := 0 // length of the current output line
	for len(line) > 0 {
		// The next chunk runs up to (not including) the next space after position 1.
		next := strings.IndexByte(line[1:], ' ')
		chunk := line
		if next >= 0 {
			chunk = line[:next+1]
		}
		if cur > 0 && cur+len(chunk) > limit && chunk[0] == ' ' {
			b.WriteString("\r\n")
			cur = 0
		}
		b.WriteString(chunk)
		cur += len(chunk)
		line = line[len(chunk):]
	}
	return b.String()
}

func invalid(msg string) error {
	return &Error{Op: "message", permanent: true, Err: carnet.Errorf(carnet.EINVALID, "courriel invalide, %s", msg)}
}
