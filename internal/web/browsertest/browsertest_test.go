package browsertest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/carnet-sante/carnet/internal/web/browsertest"
)

// page serves one HTML document under a strict CSP.
func page(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func step(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestBrowser(t *testing.T) {
	browser := browsertest.Start(t)

	t.Run("CSP violations reach the console", func(t *testing.T) {
		url := page(t, `<!doctype html><html lang="fr"><head><title>t</title>
<style>p { color: red }</style></head><body><p style="color: blue">x</p>
<script>document.title = "inline ran"</script></body></html>`)
		ctx := step(t, browsertest.NewTab(t, browser))
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		if title, _ := chromedp.Run(ctx, chromedp.Title()); title != "t" {
			t.Errorf("title %q: the inline script ran despite the CSP", title)
		}
		var csp int
		for _, m := range browsertest.Messages(ctx) {
			if browsertest.IsCSPViolation(m) {
				csp++
			}
		}
		if csp < 3 { // the <style>, the style attribute and the <script>
			t.Errorf("%d CSP violations seen, want 3: %v", csp, browsertest.Messages(ctx))
		}
	})

	t.Run("axe finds violations", func(t *testing.T) {
		url := page(t, `<!doctype html><html><head><title>t</title></head><body><main><img src="/x.png"></main></body></html>`)
		ctx := step(t, browsertest.NewTab(t, browser))
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		vs, err := browsertest.AxeViolations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, v := range vs {
			ids = append(ids, v.ID+"/"+v.Impact)
		}
		for _, want := range []string{"image-alt/critical", "html-has-lang/serious"} {
			if !slices.Contains(ids, want) {
				t.Errorf("axe found %v, not %s", ids, want)
			}
		}
	})

	t.Run("without JavaScript", func(t *testing.T) {
		url := page(t, `<!doctype html><html lang="fr"><head><title>t</title></head><body><main><h1>Bonjour</h1></main>
<script src="/app.js"></script></body></html>`)
		ctx := step(t, browsertest.NewTab(t, browser, browsertest.WithoutJavaScript()))
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		// Page scripts do not run, so /app.js is not even fetched; the test's own do.
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.scripts.length`)); err != nil || n != 1 {
			t.Errorf("scripts = %d, %v", n, err)
		}
		browsertest.Axe(ctx, t) // turns scripts on for axe, then off again
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "undefined"`)); err != nil || !got {
			t.Errorf("after a reload axe is still there (%v): scripts were not turned off again?", err)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		url := page(t, `<!doctype html><html lang="fr"><head><title>t</title></head><body><h1>Bonjour</h1></body></html>`)
		ctx := step(t, browsertest.NewTab(t, browser))
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "sub", "page.png")
		if err := browsertest.Screenshot(ctx, p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
			t.Errorf("not a PNG (%d bytes, %v)", len(b), err)
		}
	})
}

// TestAxeVersion checks that the embedded axe.min.js is the version pinned in web/package.json.
func TestAxeVersion(t *testing.T) {
	b, err := os.ReadFile("../../../web/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	want := pkg.DevDependencies["axe-core"]
	src, err := os.ReadFile("axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^/\*! axe v(\S+)`).FindSubmatch(src)
	if m == nil || string(m[1]) != want {
		t.Errorf("axe.min.js is %q, web/package.json pins axe-core %q: run scripts/web-assets.sh", m, want)
	}
}
