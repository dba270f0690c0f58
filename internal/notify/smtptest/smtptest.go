// Package smtptest runs a real SMTP server on the loopback interface for tests: it accepts mail
// over an actual SMTP dialogue (optionally with STARTTLS or implicit TLS, optionally requiring
// AUTH PLAIN), keeps every received message in memory, decoded, and can be told to refuse the
// next deliveries with a 4xx or 5xx reply.
//
//	srv := smtptest.Start(t)
//	sender, err := email.New(srv.EmailConfig("Carnet <no-reply@carnet.test>"))
//	... the code under test sends ...
//	msg := srv.WaitFor(t, smtptest.To("jean@example.org"), 5*time.Second)
//	code := msg.Find(`code : (\d{6})`)
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/carnet-sante/carnet/internal/notify/email"
)

// Default credentials accepted by a server started WithAuth without arguments.
const (
	Username = "carnet"
	Password = "secret"
)

// Message is one message the server accepted.
type Message struct {
	From     string      // envelope sender (MAIL FROM)
	To       []string    // envelope recipients (RCPT TO)
	Header   mail.Header // parsed header fields, raw values (see Subject for the decoded one)
	Subject  string      // decoded Subject
	Text     string      // decoded text/plain body, line breaks as "\n"
	HTML     string      // decoded text/html part of a multipart/alternative message, if any
	Raw      []byte      // the message as received (CRLF line endings)
	TLS      bool        // whether the session was encrypted
	AuthUser string      // the authenticated user name, if any
	Received time.Time
}

// MessageID returns the Message-ID header without angle brackets.
func (m Message) MessageID() string {
	return strings.Trim(m.Header.Get("Message-ID"), "<> ")
}

// IdempotencyKey returns the X-Carnet-Idempotency-Key header.
func (m Message) IdempotencyKey() string {
	return m.Header.Get("X-Carnet-Idempotency-Key")
}

// Find returns the first match of the regular expression pattern in the text body, or, when
// pattern has a capturing group, the first group's match; "" when nothing matches. It is meant
// for pulling a one-time code or a link out of an email:
//
//	code := msg.Find(`(\d{6})`)
//	link := msg.Find(`https://\S+`)
func (m Message) Find(pattern string) string {
	sub := regexp.MustCompile(pattern).FindStringSubmatch(m.Text)
	switch {
	case sub == nil:
		return ""
	case len(sub) > 1:
		return sub[1]
	}
	return sub[0]
}

// SentTo reports whether addr is among the envelope recipients (case-insensitive).
func (m Message) SentTo(addr string) bool {
	for _, to := range m.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}

// To matches messages sent to addr; use it with WaitFor.
func To(addr string) func(Message) bool {
	return func(m Message) bool { return m.SentTo(addr) }
}

// WithIdempotencyKey matches messages carrying the given X-Carnet-Idempotency-Key.
func WithIdempotencyKey(key string) func(Message) bool {
	return func(m Message) bool { return m.IdempotencyKey() == key }
}

// Option configures a server at Start.
type Option func(*options)

type options struct {
	auth           bool
	user, password string
	tls            tlsMode
}

type tlsMode int

const (
	tlsNone tlsMode = iota
	tlsStart
	tlsImplicit
)

// WithAuth makes the server require AUTH PLAIN before MAIL FROM. With no arguments the
// credentials are Username and Password; otherwise pass the user name and the password.
func WithAuth(userAndPassword ...string) Option {
	return func(o *options) {
		o.auth = true
		o.user, o.password = Username, Password
		if len(userAndPassword) == 2 {
			o.user, o.password = userAndPassword[0], userAndPassword[1]
		}
	}
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed certificate for 127.0.0.1
// (trust it with ClientTLSConfig).
func WithSTARTTLS() Option { return func(o *options) { o.tls = tlsStart } }

// WithImplicitTLS makes the server speak TLS from the first byte, like port 465.
func WithImplicitTLS() Option { return func(o *options) { o.tls = tlsImplicit } }

// Server is a running test SMTP server.
type Server struct {
	srv       *smtp.Server
	ln        net.Listener
	opts      options
	clientTLS *tls.Config

	mu       sync.Mutex
	msgs     []Message
	changed  chan struct{} // closed and replaced whenever msgs grows
	attempts int
	failures []failure
	rejected map[string]*smtp.SMTPError
}

type failure struct {
	left int
	err  *smtp.SMTPError
}

// Start starts a server on 127.0.0.1 with a free port; it is closed by t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// New starts a server without a testing.TB (for a development command, say); the caller closes
// it.
func New(opts ...Option) (*Server, error) {
	s := &Server{changed: make(chan struct{}), rejected: map[string]*smtp.SMTPError{}}
	for _, o := range opts {
		o(&s.opts)
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = 50
	s.srv.EnableSMTPUTF8 = true
	s.srv.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if s.opts.tls != tlsNone {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.clientTLS = clientTLS
		if s.opts.tls == tlsStart {
			s.srv.TLSConfig = serverTLS
		} else {
			ln = tls.NewListener(ln, serverTLS)
		}
	}
	s.ln = ln
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and drops its connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is "127.0.0.1".
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// ClientTLSConfig returns a TLS configuration that trusts the server's self-signed certificate
// (nil for a server without TLS).
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// EmailConfig returns the configuration of an email.Sender that talks to this server with the
// given sender address: host, port, TLS mode and trusted certificate, credentials when the
// server requires them, and a short timeout.
func (s *Server) EmailConfig(from string) email.Config {
	c := email.Config{
		Host:     s.Host(),
		Port:     s.Port(),
		From:     from,
		TLS:      email.TLSNone,
		HELOName: "carnet.test",
		Timeout:  10 * time.Second,
	}
	switch s.opts.tls {
	case tlsStart:
		c.TLS = email.TLSStartTLS
	case tlsImplicit:
		c.TLS = email.TLSImplicit
	}
	c.TLSConfig = s.ClientTLSConfig()
	if s.opts.auth {
		c.Username, c.Password = s.opts.user, s.opts.password
	}
	return c
}

// Messages returns a copy of the messages received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count returns how many messages were received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Attempts returns how many message bodies were offered (DATA), refused ones included.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Reset forgets the messages received so far.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

// FailNext makes the next n deliveries fail at the end of DATA with the given SMTP code: a 4xx
// (e.g. 451) is a temporary failure, a 5xx (e.g. 554) a permanent one. Calls add up in order.
func (s *Server) FailNext(n, code int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{left: n, err: replyError(code)})
}

// RejectRecipient makes the server refuse RCPT TO addr with the given code (550: no such
// mailbox) until the server is closed.
func (s *Server) RejectRecipient(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[strings.ToLower(addr)] = replyError(code)
}

// WaitFor returns the first received message that match accepts (any message when match is
// nil), waiting up to timeout for it to arrive; it fails the test on timeout. Messages received
// before the call count: use Reset or a precise match to wait for a new one.
func (s *Server) WaitFor(t testing.TB, match func(Message) bool, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if match == nil || match(m) {
				s.mu.Unlock()
				return m
			}
		}
		changed := s.changed
		n := len(s.msgs)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: no matching message within %v (%d received)", timeout, n)
			return Message{}
		}
	}
}

func replyError(code int) *smtp.SMTPError {
	class := code / 100
	msg := "Requested action aborted (smtptest)"
	if class == 5 {
		msg = "Message rejected (smtptest)"
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, 0, 0}, Message: msg}
}

// session is one SMTP connection's state.
type session struct {
	s        *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

func (se *session) AuthMechanisms() []string {
	if !se.s.opts.auth {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if !se.s.opts.auth || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if user != se.s.opts.user || password != se.s.opts.password {
			return smtp.ErrAuthFailed
		}
		se.authUser = user
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.auth && se.authUser == "" {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	rej := se.s.rejected[strings.ToLower(to)]
	se.s.mu.Unlock()
	if rej != nil {
		return rej
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := se.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if len(s.failures) > 0 {
		f := &s.failures[0]
		f.left--
		err := f.err
		if f.left == 0 {
			s.failures = s.failures[1:]
		}
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: "smtptest: unparsable message: " + err.Error()}
	}
	m.From = se.from
	m.To = append([]string(nil), se.to...)
	_, m.TLS = se.conn.TLSConnectionState()
	m.AuthUser = se.authUser
	m.Received = time.Now()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (se *session) Reset() {
	se.from = ""
	se.to = nil
}

func (se *session) Logout() error { return nil }

// Parse decodes a raw RFC 5322 message: header fields, the decoded Subject, and the text (and
// HTML) body with its transfer encoding undone and line breaks as "\n". Envelope fields are left
// empty.
func Parse(raw []byte) (Message, error) {
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: pm.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(pm.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("subject: %w", err)
	}
	ctype := pm.Header.Get("Content-Type")
	if ctype == "" {
		ctype = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return Message{}, fmt.Errorf("content type: %w", err)
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		mr := multipart.NewReader(pm.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return Message{}, fmt.Errorf("multipart: %w", err)
			}
			// NextPart undoes quoted-printable itself.
			body, err := decodeBody(p, p.Header.Get("Content-Transfer-Encoding"))
			if err != nil {
				return Message{}, err
			}
			pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			switch pt {
			case "text/plain":
				if m.Text == "" {
					m.Text = body
				}
			case "text/html":
				if m.HTML == "" {
					m.HTML = body
				}
			}
		}
	default:
		body, err := decodeBody(pm.Body, pm.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return Message{}, err
		}
		if mediaType == "text/html" {
			m.HTML = body
		} else {
			m.Text = body
		}
	}
	return m, nil
}

func decodeBody(r io.Reader, cte string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: r})
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("body (%s): %w", cte, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}

// newlineSkipper drops CR and LF so that base64 lines decode as one stream.
type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and the client configuration that
// trusts it.
func selfSigned() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client, nil
}

// String describes the server for logs.
func (s *Server) String() string {
	return "smtptest " + s.Addr() + " (" + strconv.Itoa(s.Count()) + " messages)"
}
