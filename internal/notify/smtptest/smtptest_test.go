package smtptest_test

import (
	"net/smtp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnet-sante/carnet/internal/notify/smtptest"
)

// send speaks SMTP with the standard library, independently of the email package.
func send(t *testing.T, srv *smtptest.Server, from string, to []string, raw string) error {
	t.Helper()
	return smtp.SendMail(srv.Addr(), nil, from, to, []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
}

func TestReceiveAndDecode(t *testing.T) {
	srv := smtptest.Start(t)
	raw := "From: a@carnet.test\n" +
		"To: b@example.org\n" +
		"Subject: =?ISO-8859-1?Q?Acc=E8s_?= =?utf-8?b?w6Agdm90cmUgZXNwYWNl?=\n" +
		"Message-ID: <id-1@carnet.test>\n" +
		"X-Carnet-Idempotency-Key: key-1\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"Content-Transfer-Encoding: base64\n" +
		"\n" +
		"Vm90cmUgY29kZSA6IDQyNDI0Mgpow6lsw6huZQo=\n"
	if err := send(t, srv, "a@carnet.test", []string{"b@example.org", "c@example.org"}, raw); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, smtptest.To("C@example.org"), 5*time.Second)
	if m.Subject != "Accès à votre espace" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.Text != "Votre code : 424242\nhélène\n" {
		t.Errorf("text %q", m.Text)
	}
	if m.MessageID() != "id-1@carnet.test" || m.IdempotencyKey() != "key-1" {
		t.Errorf("ids %q %q", m.MessageID(), m.IdempotencyKey())
	}
	if m.From != "a@carnet.test" || len(m.To) != 2 || m.TLS || m.AuthUser != "" {
		t.Errorf("envelope %q %q tls=%v", m.From, m.To, m.TLS)
	}
	if got := m.Find(`code : (\d+)`); got != "424242" {
		t.Errorf("Find group = %q", got)
	}
	if got := m.Find(`h\S+ne`); got != "hélène" {
		t.Errorf("Find = %q", got)
	}
	if got := m.Find(`absent`); got != "" {
		t.Errorf("Find absent = %q", got)
	}
	if !smtptest.WithIdempotencyKey("key-1")(m) || smtptest.WithIdempotencyKey("key-2")(m) {
		t.Error("WithIdempotencyKey")
	}
}

func TestFailNextAndReset(t *testing.T) {
	srv := smtptest.Start(t)
	raw := "Subject: x\n\nx\n"
	srv.FailNext(2, 421)
	srv.FailNext(1, 550)
	for i, want := range []string{"421", "421", "550", ""} {
		err := send(t, srv, "a@carnet.test", []string{"b@example.org"}, raw)
		switch {
		case want == "" && err != nil:
			t.Errorf("attempt %d: %v", i, err)
		case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
			t.Errorf("attempt %d: got %v, want %s", i, err, want)
		}
	}
	if srv.Count() != 1 || srv.Attempts() != 4 {
		t.Errorf("count %d attempts %d", srv.Count(), srv.Attempts())
	}
	srv.Reset()
	if len(srv.Messages()) != 0 {
		t.Error("Reset kept messages")
	}
	srv.RejectRecipient("nobody@example.org", 550)
	if err := send(t, srv, "a@carnet.test", []string{"nobody@example.org"}, raw); err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Errorf("rejected recipient: %v", err)
	}
}

func TestWaitForArrivingMessage(t *testing.T) {
	srv := smtptest.Start(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		if err := smtp.SendMail(srv.Addr(), nil, "a@carnet.test", []string{"late@example.org"},
			[]byte("Subject: tard\r\n\r\nenfin\r\n")); err != nil {
			t.Error(err)
		}
	}()
	m := srv.WaitFor(t, func(m smtptest.Message) bool { return m.Subject == "tard" }, 5*time.Second)
	if m.Text != "enfin\n" {
		t.Errorf("text %q", m.Text)
	}
	wg.Wait()
}

func TestWaitForTimesOut(t *testing.T) {
	srv := smtptest.Start(t)
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.WaitFor(ft, nil, 50*time.Millisecond)
	}()
	<-done
	if !ft.failed {
		t.Error("WaitFor did not fail the test")
	}
}

// fatalRecorder records Fatalf instead of failing, and stops the goroutine like Fatalf does.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(string, ...any) {
	f.failed = true
	runtime.Goexit()
}

func TestAuthRequired(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth())
	raw := []byte("Subject: x\r\n\r\nx\r\n")
	if err := smtp.SendMail(srv.Addr(), nil, "a@carnet.test", []string{"b@example.org"}, raw); err == nil {
		t.Error("accepted without AUTH")
	}
	auth := smtp.PlainAuth("", smtptest.Username, smtptest.Password, "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "a@carnet.test", []string{"b@example.org"}, raw); err != nil {
		t.Fatal(err)
	}
	if m := srv.WaitFor(t, nil, 5*time.Second); m.AuthUser != smtptest.Username {
		t.Errorf("AuthUser %q", m.AuthUser)
	}
	bad := smtp.PlainAuth("", smtptest.Username, "wrong", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), bad, "a@carnet.test", []string{"b@example.org"}, raw); err == nil || !strings.HasPrefix(err.Error(), "535") {
		t.Errorf("bad password: %v", err)
	}
}
