// Package sms sends Carnet's text messages: an HTTP adapter for an SMS gateway, and a file sink
// for development that appends each message to a JSON-lines file.
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// Gateway sends one SMS. idempotencyKey is the same for every copy of one notification (the
// outbox delivers at least once) so that the gateway can drop duplicates. An error that should
// not be retried has a Permanent() bool method returning true (see *Error).
type Gateway interface {
	Send(ctx context.Context, to, text, idempotencyKey string) error
}

// MaxTextLength bounds a message's text, in characters: ten concatenated SMS segments.
const MaxTextLength = 10 * 153

// Error is a failed send.
type Error struct {
	// Status is the gateway's HTTP status, 0 when it did not answer.
	Status int
	// Err is the cause.
	Err       error
	permanent bool
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("sms: gateway answered %d: %v", e.Status, e.Err)
	}
	return "sms: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether sending the same message again cannot succeed: an invalid number
// or text, or a 4xx answer other than 401, 403, 408, 425 and 429 (bad credentials, timeouts and
// rate limits are worth retrying).
func (e *Error) Permanent() bool { return e.permanent }

// Temporary is the opposite of Permanent.
func (e *Error) Temporary() bool { return !e.permanent }

// IsPermanent reports whether err (or an error it wraps) is a permanent *Error.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.permanent
}

func invalid(format string, args ...any) *Error {
	return &Error{permanent: true, Err: carnet.Errorf(carnet.EINVALID, format, args...)}
}

// Normalize returns a phone number in E.164 form ("+33612345678"). It accepts E.164 with
// spaces, dots or dashes, "00" international prefixes, and French national numbers
// ("06 12 34 56 78").
func Normalize(number string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(number) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("numéro de téléphone invalide")
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case len(n) == 10 && n[0] == '0' && n[1] != '0':
		n = "+33" + n[1:]
	}
	if !strings.HasPrefix(n, "+") || len(n) < 8 || len(n) > 16 || n[1] == '0' {
		return "", fmt.Errorf("numéro de téléphone invalide")
	}
	return n, nil
}

// check validates a message and returns the normalized number.
func check(to, text, key string) (string, error) {
	n, err := Normalize(to)
	if err != nil {
		return "", invalid("%v", err)
	}
	if text == "" {
		return "", invalid("SMS vide")
	}
	if !utf8.ValidString(text) {
		return "", invalid("SMS : UTF-8 invalide")
	}
	if utf8.RuneCountInString(text) > MaxTextLength {
		return "", invalid("SMS trop long")
	}
	if strings.ContainsAny(key, "\r\n\x00") || len(key) > 200 {
		return "", invalid("clé d'idempotence invalide")
	}
	return n, nil
}

// HTTPGateway posts each SMS as JSON to a gateway:
//
//	POST URL
//	Authorization: Bearer <Token>
//	Idempotency-Key: <key>
//	Content-Type: application/json
//
//	{"to": "+33612345678", "text": "...", "idempotency_key": "..."}
//
// A 2xx answer means accepted. A 4xx is permanent (except 401, 403, 408, 425, 429); a 5xx, a
// network error or a timeout is temporary.
type HTTPGateway struct {
	url     string
	token   string
	client  *http.Client
	timeout time.Duration
}

// HTTPConfig configures an HTTPGateway.
type HTTPConfig struct {
	URL     string        // the gateway's endpoint, http or https
	Token   string        // bearer token; empty: no Authorization header
	Client  *http.Client  // nil: a client of its own
	Timeout time.Duration // bound on one request; 0: 10 seconds
}

// NewHTTPGateway checks cfg and returns a gateway.
func NewHTTPGateway(cfg HTTPConfig) (*HTTPGateway, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("sms: bad gateway URL %q", cfg.URL)
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("sms: bad gateway token")
	}
	g := &HTTPGateway{url: cfg.URL, token: cfg.Token, client: cfg.Client, timeout: cfg.Timeout}
	if g.client == nil {
		g.client = &http.Client{}
	}
	if g.timeout <= 0 {
		g.timeout = 10 * time.Second
	}
	return g, nil
}

type request struct {
	To             string `json:"to"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"idempotency_key"`
}

// Send posts one message.
func (g *HTTPGateway) Send(ctx context.Context, to, text, idempotencyKey string) error {
	n, err := check(to, text, idempotencyKey)
	if err != nil {
		return err
	}
	body, err := json.Marshal(request{To: n, Text: text, IdempotencyKey: idempotencyKey})
	if err != nil {
		return &Error{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return &Error{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return &Error{Err: err}
	}
	defer resp.Body.Close()
	// Read a little of the answer: the reason of a refusal, and let the connection be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: resp.StatusCode, Err: errors.New(statusText(resp.StatusCode, snippet))}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout,
			http.StatusTooEarly, http.StatusTooManyRequests:
		default:
			e.permanent = true
		}
	}
	return e
}

func statusText(code int, body []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "?")), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = http.StatusText(code)
		if s == "" {
			s = "status " + strconv.Itoa(code)
		}
	}
	return s
}
