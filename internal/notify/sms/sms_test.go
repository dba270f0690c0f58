package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/notify/sms"
)

type received struct {
	auth, key, ctype string
	body             map[string]string
}

// gateway is an httptest SMS gateway answering status to every request.
func gateway(t *testing.T, status int, delay time.Duration) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method", http.StatusMethodNotAllowed)
			return
		}
		var body map[string]string
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, received{r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), body})
		mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"error":"numéro +33612345678 refusé"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func newGateway(t *testing.T, url string, timeout time.Duration) *sms.HTTPGateway {
	t.Helper()
	g, err := sms.NewHTTPGateway(sms.HTTPConfig{URL: url, Token: "jeton-secret", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestHTTPGatewaySends(t *testing.T) {
	srv, got := gateway(t, http.StatusAccepted, 0)
	g := newGateway(t, srv.URL, 0)
	text := "Carnet : un professionnel a consulté votre espace santé. Détails sur https://carnet.test"
	if err := g.Send(context.Background(), "06 12 34 56 78", text, "first_access:p1:pro1"); err != nil {
		t.Fatal(err)
	}
	r := got()
	if len(r) != 1 {
		t.Fatalf("%d requests", len(r))
	}
	if r[0].auth != "Bearer jeton-secret" || r[0].key != "first_access:p1:pro1" || r[0].ctype != "application/json" {
		t.Errorf("headers %+v", r[0])
	}
	want := map[string]string{"to": "+33612345678", "text": text, "idempotency_key": "first_access:p1:pro1"}
	for k, v := range want {
		if r[0].body[k] != v {
			t.Errorf("%s = %q, want %q", k, r[0].body[k], v)
		}
	}
}

func TestHTTPGatewayClassifiesFailures(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{400, true}, {404, true}, {422, true},
		{401, false}, {403, false}, {408, false}, {429, false},
		{500, false}, {502, false}, {503, false},
	} {
		srv, _ := gateway(t, tc.status, 0)
		err := newGateway(t, srv.URL, 0).Send(context.Background(), "+33612345678", "x", "k")
		var e *sms.Error
		if !errors.As(err, &e) || e.Status != tc.status {
			t.Errorf("%d: %v", tc.status, err)
			continue
		}
		if e.Permanent() != tc.permanent || sms.IsPermanent(err) != tc.permanent || e.Temporary() == tc.permanent {
			t.Errorf("%d: permanent = %v, want %v", tc.status, e.Permanent(), tc.permanent)
		}
		if !strings.Contains(err.Error(), "refusé") {
			t.Errorf("%d: the gateway's reason is lost: %v", tc.status, err)
		}
	}
}

func TestHTTPGatewayNetworkAndTimeout(t *testing.T) {
	srv, _ := gateway(t, 200, 2*time.Second)
	start := time.Now()
	err := newGateway(t, srv.URL, 100*time.Millisecond).Send(context.Background(), "+33612345678", "x", "k")
	if err == nil || sms.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("timeout took %v", time.Since(start))
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	err = newGateway(t, url, time.Second).Send(context.Background(), "+33612345678", "x", "k")
	var e *sms.Error
	if !errors.As(err, &e) || e.Status != 0 || e.Permanent() {
		t.Errorf("connection refused: %v", err)
	}
}

func TestInvalidMessagesArePermanent(t *testing.T) {
	srv, got := gateway(t, 200, 0)
	g := newGateway(t, srv.URL, 0)
	for name, c := range map[string][3]string{
		"empty number": {"", "x", "k"},
		"letters":      {"06 12 AB 56 78", "x", "k"},
		"too short":    {"+331", "x", "k"},
		"empty text":   {"+33612345678", "", "k"},
		"long text":    {"+33612345678", strings.Repeat("é", sms.MaxTextLength+1), "k"},
		"key CRLF":     {"+33612345678", "x", "k\r\nX: y"},
	} {
		err := g.Send(context.Background(), c[0], c[1], c[2])
		if !sms.IsPermanent(err) || carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(got()); n != 0 {
		t.Errorf("%d invalid messages reached the gateway", n)
	}
	for _, bad := range []string{"", "ftp://x", "not a url", "https://"} {
		if _, err := sms.NewHTTPGateway(sms.HTTPConfig{URL: bad}); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"06 12 34 56 78":    "+33612345678",
		"07.12.34.56.78":    "+33712345678",
		"+33 6 12 34 56 78": "+33612345678",
		"0033612345678":     "+33612345678",
		"+590 690 12 34 56": "+590690123456",
		"+1 (555) 010-9999": "+15550109999",
	} {
		if got, err := sms.Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "612345678", "+0612345678", "06-12-34-56-7x", "++33612345678", "+3361234567890123"} {
		if got, err := sms.Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		}
	}
}

func TestFileSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sms.jsonl")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := sms.NewFileSink(path, func() time.Time { return now })
	ctx := context.Background()

	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.Send(ctx, "06 12 34 56 78", "Votre code : 123456\nÀ bientôt", "otp:"+string(rune('a'+i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := f.Send(ctx, "pas un numéro", "x", "k"); !sms.IsPermanent(err) {
		t.Errorf("invalid number: %v", err)
	}

	recs, err := sms.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 20 {
		t.Fatalf("%d records", len(recs))
	}
	keys := map[string]bool{}
	for _, r := range recs {
		keys[r.IdempotencyKey] = true
		if r.To != "+33612345678" || r.Text != "Votre code : 123456\nÀ bientôt" || !r.Time.Equal(now) {
			t.Errorf("record %+v", r)
		}
	}
	if len(keys) != 20 {
		t.Errorf("%d distinct keys", len(keys))
	}
	raw, _ := os.ReadFile(path)
	if lines := strings.Count(string(raw), "\n"); lines != 20 {
		t.Errorf("%d lines", lines)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
	if recs, err := sms.ReadFile(filepath.Join(t.TempDir(), "absent")); err != nil || recs != nil {
		t.Errorf("missing file: %v %v", recs, err)
	}

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.Send(ctxDone, "+33612345678", "x", "k"); err == nil || sms.IsPermanent(err) {
		t.Errorf("cancelled: %v", err)
	}
}
