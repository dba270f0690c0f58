package email_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/notify/email"
	"github.com/carnet-sante/carnet/internal/notify/smtptest"
)

const from = "Carnet <ne-pas-repondre@carnet.test>"

func newSender(t *testing.T, cfg email.Config) *email.Sender {
	t.Helper()
	s, err := email.New(cfg)
	if err != nil {
		t.Fatalf("email.New: %v", err)
	}
	return s
}

func TestSendFrenchPlainText(t *testing.T) {
	srv := smtptest.Start(t)
	fixed := time.Date(2026, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))
	cfg := srv.EmailConfig(from)
	cfg.Clock = func() time.Time { return fixed }
	s := newSender(t, cfg)

	subject := "Nouvel accès à votre espace santé — « Mon carnet » ça marche"
	text := "Bonjour,\n\n" +
		"Un professionnel de santé a consulté votre espace santé pour la première fois. Connectez-vous pour voir le détail : https://carnet.test/historique\n" +
		".Une ligne qui commence par un point\n" +
		"From une ligne piège\n" +
		"Cœur, où, ça, Noël, garçon, À bientôt.\n"
	err := s.Send(context.Background(), email.Message{
		To:             "Élodie Martin <elodie.martin@example.org>",
		Subject:        subject,
		Text:           text,
		IdempotencyKey: "first_access:pat-1:pro-2",
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	m := srv.WaitFor(t, smtptest.To("elodie.martin@example.org"), 5*time.Second)
	if m.From != "ne-pas-repondre@carnet.test" {
		t.Errorf("envelope from = %q", m.From)
	}
	if len(m.To) != 1 || m.To[0] != "elodie.martin@example.org" {
		t.Errorf("envelope to = %q", m.To)
	}
	if m.Subject != subject {
		t.Errorf("subject = %q, want %q", m.Subject, subject)
	}
	if m.Text != text {
		t.Errorf("text = %q, want %q", m.Text, text)
	}
	if got := m.IdempotencyKey(); got != "first_access:pat-1:pro-2" {
		t.Errorf("idempotency key = %q", got)
	}
	h := m.Header
	for name, want := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
		"Date":                      "Sat, 14 Mar 2026 09:26:53 +0100",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixed) {
		t.Errorf("Date: %v, %v", d, err)
	}
	if id := m.MessageID(); !strings.HasSuffix(id, "@carnet.test") || len(id) < 20 {
		t.Errorf("Message-ID = %q", id)
	}
	to, err := mail.ParseAddress(h.Get("To"))
	if err != nil || to.Name != "Élodie Martin" || to.Address != "elodie.martin@example.org" {
		t.Errorf("To header %q: %v %v", h.Get("To"), to, err)
	}
	fromHdr, err := mail.ParseAddress(h.Get("From"))
	if err != nil || fromHdr.Name != "Carnet" {
		t.Errorf("From header %q: %v", h.Get("From"), err)
	}
	// The message travels as 7-bit ASCII with short lines: encoded words, quoted-printable.
	for i, line := range strings.Split(string(m.Raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d longer than 78: %q", i, line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i, line)
			}
		}
	}
	if !strings.Contains(string(m.Raw), "Subject: =?utf-8?q?Nouvel_acc=C3=A8s") {
		t.Errorf("subject is not an encoded word:\n%s", m.Raw)
	}
}

func TestMessageIDFollowsIdempotencyKey(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.EmailConfig(from))
	ctx := context.Background()
	for _, key := range []string{"k-1", "k-1", "k-2"} {
		if err := s.Send(ctx, email.Message{To: "a@example.org", Subject: "Test", Text: "x", IdempotencyKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(ctx, email.Message{To: "a@example.org", Subject: "Test", Text: "x", MessageID: "<choisi@carnet.test>"}); err != nil {
		t.Fatal(err)
	}
	ms := srv.Messages()
	if len(ms) != 4 {
		t.Fatalf("%d messages", len(ms))
	}
	if ms[0].MessageID() != ms[1].MessageID() {
		t.Errorf("same key, different Message-IDs: %q %q", ms[0].MessageID(), ms[1].MessageID())
	}
	if ms[0].MessageID() == ms[2].MessageID() {
		t.Errorf("different keys, same Message-ID %q", ms[0].MessageID())
	}
	if ms[3].MessageID() != "choisi@carnet.test" {
		t.Errorf("explicit Message-ID = %q", ms[3].MessageID())
	}
	if ms[3].IdempotencyKey() != "" {
		t.Errorf("unexpected idempotency header %q", ms[3].IdempotencyKey())
	}
}

func TestSendHTMLAlternative(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.EmailConfig(from))
	err := s.Send(context.Background(), email.Message{
		To:      "a@example.org",
		Subject: "Votre code",
		Text:    "Votre code : 123456\n",
		HTML:    "<p>Votre code : <strong>123456</strong> — à saisir.</p>\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, nil, 5*time.Second)
	if !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative; boundary=") {
		t.Errorf("Content-Type = %q", m.Header.Get("Content-Type"))
	}
	if m.Text != "Votre code : 123456\n" {
		t.Errorf("text = %q", m.Text)
	}
	if m.HTML != "<p>Votre code : <strong>123456</strong> — à saisir.</p>\n" {
		t.Errorf("html = %q", m.HTML)
	}
	if code := m.Find(`code : (\d{6})`); code != "123456" {
		t.Errorf("Find = %q", code)
	}
}

func TestLongSubjectIsFolded(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.EmailConfig(from))
	subject := strings.Repeat("Un accès d'urgence (bris de glace) a été enregistré sur votre espace ", 4)
	if err := s.Send(context.Background(), email.Message{To: "a@example.org", Subject: subject, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, nil, 5*time.Second)
	if m.Subject != subject {
		t.Errorf("subject = %q", m.Subject)
	}
	ascii := strings.Repeat("A plain ASCII subject that goes on ", 5)
	if err := s.Send(context.Background(), email.Message{To: "b@example.org", Subject: ascii, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	m = srv.WaitFor(t, smtptest.To("b@example.org"), 5*time.Second)
	if m.Subject != strings.TrimSpace(ascii) && m.Subject != ascii {
		t.Errorf("subject = %q", m.Subject)
	}
	for _, line := range strings.Split(string(m.Raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78: %q", line)
		}
	}
}

func TestHeaderInjectionRejected(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.EmailConfig(from))
	cases := map[string]email.Message{
		"to CRLF":          {To: "a@example.org\r\nBcc: victim@example.org", Subject: "s", Text: "x"},
		"to LF":            {To: "a@example.org\nBcc: victim@example.org", Subject: "s", Text: "x"},
		"to two addresses": {To: "a@example.org, b@example.org", Subject: "s", Text: "x"},
		"to empty":         {To: "", Subject: "s", Text: "x"},
		"to garbage":       {To: "pas une adresse", Subject: "s", Text: "x"},
		"subject CRLF":     {To: "a@example.org", Subject: "Bonjour\r\nBcc: victim@example.org", Text: "x"},
		"subject LF":       {To: "a@example.org", Subject: "Bonjour\nX-Evil: 1", Text: "x"},
		"subject CR":       {To: "a@example.org", Subject: "Bonjour\rX-Evil: 1", Text: "x"},
		"subject NUL":      {To: "a@example.org", Subject: "Bon\x00jour", Text: "x"},
		"key CRLF":         {To: "a@example.org", Subject: "s", Text: "x", IdempotencyKey: "k\r\nBcc: v@example.org"},
		"key space":        {To: "a@example.org", Subject: "s", Text: "x", IdempotencyKey: "k 1"},
		"message ID":       {To: "a@example.org", Subject: "s", Text: "x", MessageID: "a@b>\r\nBcc: v@example.org"},
		"bad UTF-8":        {To: "a@example.org", Subject: "s", Text: "\xff\xfe"},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			err := s.Send(context.Background(), m)
			if err == nil {
				t.Fatal("accepted")
			}
			if !email.IsPermanent(err) {
				t.Errorf("not permanent: %v", err)
			}
			if code := carnet.ErrorCode(err); code != carnet.EINVALID {
				t.Errorf("code %q: %v", code, err)
			}
		})
	}
	if n := srv.Attempts(); n != 0 {
		t.Errorf("%d messages reached the server", n)
	}
}

func TestAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth())
	ctx := context.Background()
	msg := email.Message{To: "a@example.org", Subject: "s", Text: "x"}

	if err := newSender(t, srv.EmailConfig(from)).Send(ctx, msg); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	if m := srv.WaitFor(t, nil, 5*time.Second); m.AuthUser != smtptest.Username {
		t.Errorf("AuthUser = %q", m.AuthUser)
	}

	bad := srv.EmailConfig(from)
	bad.Password = "wrong"
	err := newSender(t, bad).Send(ctx, msg)
	var e *email.Error
	if !errors.As(err, &e) || e.Op != "auth" || e.Code != 535 {
		t.Fatalf("wrong password: %v", err)
	}
	if e.Permanent() {
		t.Errorf("bad credentials are a configuration problem, not a permanent message failure")
	}

	none := srv.EmailConfig(from)
	none.Username, none.Password = "", ""
	err = newSender(t, none).Send(ctx, msg)
	if !errors.As(err, &e) || e.Op != "mail" || e.Code/100 != 5 || e.Permanent() {
		t.Fatalf("no credentials: %v", err)
	}
	if srv.Count() != 1 {
		t.Errorf("%d messages", srv.Count())
	}
}

func TestTLSModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  smtptest.Option
	}{
		{"starttls", smtptest.WithSTARTTLS()},
		{"implicit", smtptest.WithImplicitTLS()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, tc.opt, smtptest.WithAuth("facteur", "motdepasse"))
			if err := newSender(t, srv.EmailConfig(from)).Send(context.Background(),
				email.Message{To: "a@example.org", Subject: "Sécurisé", Text: "é"}); err != nil {
				t.Fatal(err)
			}
			m := srv.WaitFor(t, nil, 5*time.Second)
			if !m.TLS || m.AuthUser != "facteur" || m.Subject != "Sécurisé" {
				t.Errorf("TLS=%v user=%q subject=%q", m.TLS, m.AuthUser, m.Subject)
			}

			// An untrusted certificate is refused.
			cfg := srv.EmailConfig(from)
			cfg.TLSConfig = nil
			err := newSender(t, cfg).Send(context.Background(), email.Message{To: "a@example.org", Subject: "s", Text: "x"})
			if err == nil || email.IsPermanent(err) {
				t.Errorf("untrusted certificate: %v", err)
			}
		})
	}
}

func TestStartTLSRequiredButNotOffered(t *testing.T) {
	srv := smtptest.Start(t)
	cfg := srv.EmailConfig(from)
	cfg.TLS = email.TLSStartTLS
	err := newSender(t, cfg).Send(context.Background(), email.Message{To: "a@example.org", Subject: "s", Text: "x"})
	var e *email.Error
	if !errors.As(err, &e) || e.Op != "starttls" || e.Permanent() {
		t.Fatalf("err = %v", err)
	}
	if srv.Attempts() != 0 {
		t.Error("message sent in clear")
	}
}

func TestFailureClassification(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.EmailConfig(from))
	ctx := context.Background()
	msg := email.Message{To: "a@example.org", Subject: "s", Text: "x"}

	srv.FailNext(1, 451)
	srv.FailNext(1, 554)
	err := s.Send(ctx, msg)
	var e *email.Error
	if !errors.As(err, &e) || e.Code != 451 || e.Op != "data" || e.Permanent() || !e.Temporary() {
		t.Errorf("451: %v", err)
	}
	err = s.Send(ctx, msg)
	if !errors.As(err, &e) || e.Code != 554 || !e.Permanent() || !email.IsPermanent(err) {
		t.Errorf("554: %v", err)
	}
	if err := s.Send(ctx, msg); err != nil {
		t.Errorf("third attempt: %v", err)
	}
	if srv.Count() != 1 || srv.Attempts() != 3 {
		t.Errorf("count %d attempts %d", srv.Count(), srv.Attempts())
	}

	srv.RejectRecipient("inconnu@example.org", 550)
	err = s.Send(ctx, email.Message{To: "inconnu@example.org", Subject: "s", Text: "x"})
	if !errors.As(err, &e) || e.Code != 550 || e.Op != "rcpt" || !e.Permanent() {
		t.Errorf("550 at RCPT: %v", err)
	}
	srv.RejectRecipient("plein@example.org", 452)
	err = s.Send(ctx, email.Message{To: "plein@example.org", Subject: "s", Text: "x"})
	if !errors.As(err, &e) || e.Code != 452 || e.Permanent() {
		t.Errorf("452 at RCPT: %v", err)
	}
}

func TestNetworkErrorsAreTemporary(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	s := newSender(t, email.Config{Host: "127.0.0.1", Port: addr.Port, From: from, Timeout: 2 * time.Second})
	err = s.Send(context.Background(), email.Message{To: "a@example.org", Subject: "s", Text: "x"})
	var e *email.Error
	if !errors.As(err, &e) || e.Op != "dial" || e.Permanent() {
		t.Errorf("refused: %v", err)
	}

	// A server that accepts and never speaks: the timeout ends the exchange.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { bufio.NewReader(c).ReadString(0); c.Close() }()
		}
	}()
	port := silent.Addr().(*net.TCPAddr).Port
	s = newSender(t, email.Config{Host: "127.0.0.1", Port: port, From: from, Timeout: 300 * time.Millisecond})
	start := time.Now()
	err = s.Send(context.Background(), email.Message{To: "a@example.org", Subject: "s", Text: "x"})
	if !errors.As(err, &e) || e.Permanent() || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}

	// Cancelling the context ends it too.
	s = newSender(t, email.Config{Host: "127.0.0.1", Port: port, From: from, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = s.Send(ctx, email.Message{To: "a@example.org", Subject: "s", Text: "x"})
	if err == nil || email.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestConfig(t *testing.T) {
	for name, cfg := range map[string]email.Config{
		"no host":              {From: from},
		"bad from":             {Host: "localhost", From: "pas une adresse"},
		"from with CRLF":       {Host: "localhost", From: "a@b.c\r\nBcc: d@e.f"},
		"credentials in clear": {Host: "smtp.example.org", From: from, Username: "u", Password: "p"},
		"bad TLS mode":         {Host: "localhost", From: from, TLS: "ssl3"},
		"bad HELO":             {Host: "localhost", From: from, HELOName: "a\r\nMAIL"},
	} {
		if _, err := email.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, cfg := range []email.Config{
		{Host: "localhost", From: from, Username: "u", Password: "p"},
		{Host: "smtp.example.org", From: from, Username: "u", Password: "p", TLS: email.TLSStartTLS},
	} {
		if _, err := email.New(cfg); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	for in, want := range map[string]email.TLSMode{"": email.TLSNone, "none": email.TLSNone,
		"starttls": email.TLSStartTLS, "tls": email.TLSImplicit, "smtps": email.TLSImplicit} {
		if got, err := email.ParseTLSMode(in); err != nil || got != want {
			t.Errorf("ParseTLSMode(%q) = %q, %v", in, got, err)
		}
	}
}
