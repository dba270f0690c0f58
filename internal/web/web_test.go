package web

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
)

func newSite(t *testing.T, o Options) *Site {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAccueil(t *testing.T) {
	h := newSite(t, Options{}).Handler()
	w := get(t, h, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	body := w.Body.String()
	for _, want := range []string{
		`<html lang="fr" data-fr-scheme="system">`,
		`<title>Accueil – Carnet</title>`,
		`<p class="fr-logo">République<br>Française</p>`,
		`<p class="fr-header__service-title">Carnet</p>`,
		`<p class="fr-header__service-tagline">Mon espace santé</p>`,
		`<a class="fr-link" href="#contenu">Contenu</a>`,
		`<main id="contenu" role="main" tabindex="-1" data-page="accueil">`,
		`<h1>Carnet, mon espace santé</h1>`,
		`href="/activer">Activer mon espace</a>`,
		`href="/connexion">Me connecter</a>`,
		`href="/pro/connexion">Je suis professionnel de santé</a>`,
		`<footer class="fr-footer" role="contentinfo" id="pied-de-page">`,
		`Accessibilité : non conforme`, `Mentions légales`, `Données personnelles`, `Gestion des cookies`,
		`<script type="module" src="/static/`, `<script nomodule src="/static/`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	checkCSPClean(t, body)
}

var (
	scriptTag   = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	inlineStyle = regexp.MustCompile(`(?i)<style\b|\sstyle\s*=`)
	handlerAttr = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	jsURL       = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*["']?\s*javascript:`)
	staticURL   = regexp.MustCompile(`/static/[^"'#\s)]+`)
)

// checkCSPClean fails if the HTML holds something that the CSP would block: an inline script,
// an inline style, an event handler attribute or a javascript: URL.
func checkCSPClean(t *testing.T, body string) {
	t.Helper()
	for _, tag := range scriptTag.FindAllString(body, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("inline script: %s", tag)
		}
	}
	for _, re := range []*regexp.Regexp{inlineStyle, handlerAttr, jsURL} {
		if m := re.FindString(body); m != "" {
			t.Errorf("the CSP would block %q", m)
		}
	}
}

func TestEveryAssetOfThePagesIsServed(t *testing.T) {
	s := newSite(t, Options{})
	h := s.Handler()
	pages := map[string]string{"/": "", "/nulle-part": ""}
	for p := range pages {
		pages[p] = get(t, h, p).Body.String()
	}
	seen := 0
	for p, body := range pages {
		for _, u := range staticURL.FindAllString(body, -1) {
			seen++
			w := get(t, h, u)
			if w.Code != http.StatusOK {
				t.Errorf("%s links %s: status %d", p, u, w.Code)
			}
			if cc := w.Header().Get("Cache-Control"); cc != immutable {
				t.Errorf("%s: Cache-Control %q", u, cc)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d static URLs in the pages", seen)
	}
}

// TestStylesheetURLs checks that what dsfr.min.css points to (fonts, icons) is embedded, but
// the WOFF fallbacks of the WOFF2 fonts and the brand logos of social networks, which
// scripts/web-assets.sh leaves out on purpose.
func TestStylesheetURLs(t *testing.T) {
	s := newSite(t, Options{})
	css := s.static.files["dsfr/dsfr.min.css"]
	if css == nil {
		t.Fatal("no dsfr/dsfr.min.css")
	}
	urls := regexp.MustCompile(`url\(([^)"']+)\)`).FindAllSubmatch(css.data, -1)
	if len(urls) < 50 {
		t.Fatalf("only %d url() in dsfr.min.css", len(urls))
	}
	for _, m := range urls {
		u := string(m[1])
		if strings.HasPrefix(u, "data:") || strings.HasSuffix(u, ".woff") || strings.HasPrefix(u, "icons/logo/") {
			continue
		}
		if s.static.files["dsfr/"+u] == nil {
			t.Errorf("dsfr.min.css uses %s, not embedded", u)
		}
	}
}

func TestStatic(t *testing.T) {
	s := newSite(t, Options{})
	h := s.Handler()
	css := s.Asset("dsfr/dsfr.min.css")
	if !strings.HasPrefix(css, "/static/"+s.static.version+"/") {
		t.Fatalf("Asset = %q", css)
	}

	w := get(t, h, css)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/css; charset=utf-8" ||
		w.Header().Get("Cache-Control") != immutable || w.Header().Get("Content-Encoding") != "" {
		t.Fatalf("%s: %d %v", css, w.Code, w.Header())
	}
	if !bytes.Equal(w.Body.Bytes(), s.static.files["dsfr/dsfr.min.css"].data) {
		t.Error("body differs from the embedded file")
	}
	etag := w.Header().Get("ETag")
	if w := get(t, h, css, "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d", w.Code)
	}

	// gzip, when the browser accepts it.
	w = get(t, h, css, "Accept-Encoding", "br, gzip;q=0.8")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" || w.Header().Get("ETag") == etag {
		t.Fatalf("gzip: %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, s.static.files["dsfr/dsfr.min.css"].data) {
		t.Error("gzipped body differs from the embedded file")
	}
	if w := get(t, h, css, "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent despite q=0")
	}

	// Content types, by kind of file.
	for name, want := range map[string]string{
		"dsfr/dsfr.module.min.js":                 "text/javascript; charset=utf-8",
		"dsfr/fonts/Marianne-Regular.woff2":       "font/woff2",
		"dsfr/favicon/favicon.svg":                "image/svg+xml",
		"dsfr/favicon/favicon.ico":                "image/vnd.microsoft.icon",
		"dsfr/favicon/apple-touch-icon.png":       "image/png",
		"dsfr/favicon/manifest.webmanifest":       "application/manifest+json",
		"dsfr/icons/system/close-line.svg":        "image/svg+xml",
		"htmx/htmx.min.js":                        "text/javascript; charset=utf-8",
		"carnet/carnet.css":                       "text/css; charset=utf-8",
		"dsfr/artwork/background/ovoid.svg":       "image/svg+xml",
		"dsfr/favicon/android-chrome-192x192.png": "image/png",
	} {
		w := get(t, h, s.Asset(name))
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != want || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q", name, w.Code, w.Header().Get("Content-Type"))
		}
	}

	// Another version (a page of an older release): the current file, to revalidate.
	w = get(t, h, "/static/0123456789ab/dsfr/dsfr.min.css")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("old version: %d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	// Not served: no version, unknown files, files of other kinds, directories.
	for _, p := range []string{
		"/static/dsfr/dsfr.min.css", "/static/" + s.static.version + "/nope.css",
		"/static/" + s.static.version + "/VERSIONS", "/static/" + s.static.version + "/dsfr/LICENSE.md",
		"/static/" + s.static.version + "/dsfr/",
		"/static/", "/static/" + s.static.version,
	} {
		if w := get(t, h, p); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, w.Code)
		}
	}
	// The favicon at the root, which browsers ask for by themselves.
	if w := get(t, h, "/favicon.ico"); w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/vnd.microsoft.icon" {
		t.Errorf("/favicon.ico: %d %v", w.Code, w.Header())
	}
	// No source maps, no unused file kinds.
	for name := range s.static.files {
		if strings.HasSuffix(name, ".map") {
			t.Errorf("source map embedded: %s", name)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, secure := range []bool{false, true} {
		h := newSite(t, Options{Secure: secure}).Handler()
		for _, p := range []string{"/", "/nulle-part", "/favicon.ico"} {
			w := get(t, h, p)
			want := map[string]string{
				"Content-Security-Policy":      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
				"X-Content-Type-Options":       "nosniff",
				"Referrer-Policy":              "same-origin",
				"X-Frame-Options":              "DENY",
				"Cross-Origin-Opener-Policy":   "same-origin",
				"Cross-Origin-Resource-Policy": "same-origin",
				"Permissions-Policy":           permissionsPolicy,
				"Strict-Transport-Security":    "",
			}
			if secure {
				want["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("secure=%t %s: %s = %q, want %q", secure, p, k, got, v)
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	var logs bytes.Buffer
	s := newSite(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := s.Handler()

	w := get(t, h, "/nulle-part")
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "<h1>Page non trouvée</h1>") {
		t.Errorf("404: %d", w.Code)
	}
	checkCSPClean(t, w.Body.String())
	// A path with "..": the mux redirects to its clean form; the static handler alone finds
	// no such name.
	for _, p := range []string{"/static/x/../../web.go", "/static/" + s.static.version + "/../web.go"} {
		if w := get(t, h, p); w.Code != http.StatusNotFound && w.Code != http.StatusTemporaryRedirect && w.Code != http.StatusMovedPermanently {
			t.Errorf("%s via the mux: %d", p, w.Code)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		s.static.ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s via the static handler: %d", p, w.Code)
		}
	}

	cases := []struct {
		err         error
		status      int
		want, never string
	}{
		{carnet.Errorf(carnet.ENOTFOUND, "document introuvable"), 404, "Document introuvable", ""},
		{carnet.WrapErr("read", carnet.EFORBIDDEN, errors.New("grid says no")), 403, "Accès refusé", "grid says no"},
		{carnet.WrapErr("read", carnet.ERATELIMIT, nil), 429, "Trop de tentatives", ""},
		{carnet.WrapErr("read", carnet.EUNAVAILABLE, errors.New("db down")), 503, "Service indisponible", "db down"},
		{carnet.WrapErr("read", carnet.EKEY, errors.New("secret key 42")), 500, "Erreur inattendue", "secret key 42"},
		{errors.New("nil pointer at store.go:12"), 500, "Erreur inattendue", "store.go"},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		s.Error(w, httptest.NewRequest(http.MethodGet, "/x", nil), c.err)
		body := w.Body.String()
		if w.Code != c.status || !strings.Contains(body, c.want) || (c.never != "" && strings.Contains(body, c.never)) {
			t.Errorf("%v: %d, want %d with %q and never %q", c.err, w.Code, c.status, c.want, c.never)
		}
		if !strings.Contains(body, `<html lang="fr"`) || !strings.Contains(body, "Erreur ") {
			t.Errorf("%v: not the error page", c.err)
		}
	}
	if !strings.Contains(logs.String(), "nil pointer at store.go:12") || !strings.Contains(logs.String(), "secret key 42") {
		t.Errorf("internal errors not logged: %s", logs.String())
	}

	// An unknown page is a bug: the user gets the error page, we get a log line.
	w = httptest.NewRecorder()
	s.Render(w, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "nope", nil)
	if w.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "no such page") {
		t.Errorf("unknown page: %d", w.Code)
	}
}

func TestHead(t *testing.T) {
	h := newSite(t, Options{}).Handler()
	r := httptest.NewRequest(http.MethodHead, "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD /: %d, %d bytes", w.Code, w.Body.Len())
	}
}

func TestCapitalize(t *testing.T) {
	for in, want := range map[string]string{"": "", "introuvable": "Introuvable", "élevé": "Élevé", "A": "A"} {
		if got := capitalize(in); got != want {
			t.Errorf("capitalize(%q) = %q", in, got)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "gzip, deflate, br": true, "br;q=1.0, gzip;q=0.5": true,
		"gzip;q=0": false, "gzip; q=0": false, "identity": false, "x-gzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %t", h, got)
		}
	}
}
