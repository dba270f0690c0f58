// Package email sends Carnet's notification emails through an SMTP server (a submission
// service or a local relay), one SMTP transaction per message.
//
// A message is validated before any connection is made; a failure is returned as an *Error that
// tells whether retrying can help (Permanent).
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TLSMode says how the connection to the SMTP server is protected.
type TLSMode string

// TLS modes.
const (
	// TLSNone sends in clear: only for a relay on the same host or a test server. Credentials
	// are refused over it unless the host is a loopback address.
	TLSNone TLSMode = "none"
	// TLSStartTLS connects in clear and upgrades with STARTTLS (port 587); a server that does
	// not offer STARTTLS is an error, never a silent downgrade.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit TLSMode = "tls"
)

// ParseTLSMode reads a TLS mode from configuration: "none", "starttls", or "tls" (also
// "implicit", "smtps").
func ParseTLSMode(s string) (TLSMode, error) {
	switch s {
	case "none", "":
		return TLSNone, nil
	case "starttls":
		return TLSStartTLS, nil
	case "tls", "implicit", "smtps":
		return TLSImplicit, nil
	}
	return "", fmt.Errorf("email: unknown TLS mode %q (want none, starttls or tls)", s)
}

// Config configures a Sender.
type Config struct {
	Host string // SMTP server host name or address
	Port int    // 0: 25 for TLSNone, 587 for TLSStartTLS, 465 for TLSImplicit
	// From is the sender, "no-reply@carnet.example" or "Carnet <no-reply@carnet.example>"; its
	// address is also the envelope sender.
	From     string
	Username string // empty: no authentication
	Password string
	TLS      TLSMode // empty means TLSNone
	// TLSConfig optionally customises TLS (root CAs of a private relay, a test server's
	// certificate); ServerName defaults to Host. Nil: the system roots.
	TLSConfig *tls.Config
	HELOName  string        // name announced in EHLO/HELO; empty: "localhost"
	Timeout   time.Duration // bound on one whole SMTP exchange; 0: 30 seconds
	// Clock gives the Date header; nil: time.Now.
	Clock func() time.Time
}

// Sender sends emails over SMTP. It is safe for concurrent use: each Send opens its own
// connection.
type Sender struct {
	cfg  Config
	from *mail.Address
	addr string
}

// New checks cfg and returns a Sender. It does not connect.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("email: no SMTP host configured")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSNone
	}
	if _, err := ParseTLSMode(string(cfg.TLS)); err != nil {
		return nil, err
	}
	if cfg.Port == 0 {
		switch cfg.TLS {
		case TLSStartTLS:
			cfg.Port = 587
		case TLSImplicit:
			cfg.Port = 465
		default:
			cfg.Port = 25
		}
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("email: bad SMTP port %d", cfg.Port)
	}
	from, err := parseAddress("expéditeur", cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: From %q: %w", cfg.From, err)
	}
	if cfg.HELOName == "" {
		cfg.HELOName = "localhost"
	}
	if err := checkHeaderValue("HELO", cfg.HELOName); err != nil || !isPrintableASCII(cfg.HELOName) {
		return nil, fmt.Errorf("email: bad HELO name %q", cfg.HELOName)
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && !isLoopback(cfg.Host) {
		return nil, errors.New("email: refusing to send SMTP credentials without TLS to a remote host")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Sender{cfg: cfg, from: from, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}, nil
}

// Send delivers m in one SMTP transaction. It returns nil once the server has accepted the
// message (250 after DATA), or an *Error. The exchange is bounded by the configured timeout and
// by ctx.
func (s *Sender) Send(ctx context.Context, m Message) error {
	to, err := parseAddress("destinataire", m.To)
	if err != nil {
		return err
	}
	raw, err := build(&m, s.from, to, s.cfg.Clock())
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	// When ctx ends (its deadline included) the connection is closed, which unblocks whatever
	// read or write is in progress; ctx.Err() is set by then.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	if e := s.exchange(conn, to.Address, raw); e != nil {
		if ctx.Err() != nil && !e.permanent {
			// The connection was closed under the exchange or its deadline passed: say why.
			e.Err = fmt.Errorf("%w (%w)", ctx.Err(), e.Err)
		}
		return e
	}
	return nil
}

func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, &Error{Op: "dial", Err: err}
	}
	if s.cfg.TLS != TLSImplicit {
		return conn, nil
	}
	tc := tls.Client(conn, s.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &Error{Op: "tls", Err: err}
	}
	return tc, nil
}

func (s *Sender) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.cfg.Host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// exchange runs the SMTP dialogue on conn. Every error it returns is an *Error.
func (s *Sender) exchange(conn net.Conn, rcpt string, raw []byte) *Error {
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return smtpErr("greeting", err, false)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HELOName); err != nil {
		return smtpErr("hello", err, false)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return &Error{Op: "starttls", Err: errors.New("server does not offer STARTTLS")}
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return smtpErr("starttls", err, false)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(s.auth(c)); err != nil {
			return smtpErr("auth", err, false)
		}
	}
	if !isASCII(s.from.Address) || !isASCII(rcpt) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return &Error{Op: "mail", permanent: true,
				Err: errors.New("non-ASCII address and the server does not offer SMTPUTF8")}
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return smtpErr("mail", err, false)
	}
	// From here a 5xx reply is about this message or this recipient: retrying will not help.
	if err := c.Rcpt(rcpt); err != nil {
		return smtpErr("rcpt", err, true)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("data", err, true)
	}
	if _, err := w.Write(raw); err != nil {
		return smtpErr("data", err, true)
	}
	if err := w.Close(); err != nil {
		return smtpErr("data", err, true)
	}
	// The message is accepted; a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// auth picks PLAIN, or LOGIN when the server offers only that.
func (s *Sender) auth(c *smtp.Client) smtp.Auth {
	if ok, mechs := c.Extension("AUTH"); ok && !hasWord(mechs, "PLAIN") && hasWord(mechs, "LOGIN") {
		return &loginAuth{username: s.cfg.Username, password: s.cfg.Password, host: s.cfg.Host}
	}
	return smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)
}

// Error is a failed send. Permanent tells the outbox worker to stop retrying.
type Error struct {
	// Op is the step that failed: "message" (the message itself is invalid), "dial", "tls",
	// "greeting", "hello", "starttls", "auth", "mail", "rcpt" or "data".
	Op string
	// Code is the SMTP reply code (421, 450, 550, ...), 0 when the server did not answer.
	Code int
	// Err is the cause.
	Err       error
	permanent bool
}

func (e *Error) Error() string {
	s := "email: " + e.Op
	if e.Code != 0 {
		s += " (" + strconv.Itoa(e.Code) + ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether sending the same message again cannot succeed: an invalid message,
// or a 5xx reply to RCPT or DATA (unknown mailbox, message refused). A 5xx reply earlier in the
// dialogue (bad credentials, sender refused) says the configuration is wrong, not the message,
// and stays temporary, as do 4xx replies, network and TLS errors and timeouts.
func (e *Error) Permanent() bool { return e.permanent }

// Temporary is the opposite of Permanent.
func (e *Error) Temporary() bool { return !e.permanent }

// IsPermanent reports whether err (or an error it wraps) is a permanent *Error.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.permanent
}

// smtpErr wraps an error of the SMTP dialogue; a 5xx reply is permanent when permanent5xx.
func smtpErr(op string, err error, permanent5xx bool) *Error {
	e := &Error{Op: op, Err: err}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code = tp.Code
		e.permanent = permanent5xx && tp.Code >= 500 && tp.Code < 600
	}
	return e
}

// loginAuth is the LOGIN mechanism, still the only one some submission services offer. Like
// smtp.PlainAuth it refuses to send credentials in clear to a remote host.
type loginAuth struct {
	username, password, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch string(fromServer) {
	case "Username:", "User Name\x00":
		return []byte(a.username), nil
	case "Password:", "Password\x00":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", fromServer)
}

// isLoopback matches the hosts to which net/smtp's PLAIN mechanism sends credentials in clear.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}
