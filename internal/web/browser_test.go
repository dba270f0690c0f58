package web_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/carnet-sante/carnet/internal/web"
	"github.com/carnet-sante/carnet/internal/web/browsertest"
)

// serve starts the portal alone, behind SecurityHeaders, as the server mounts it.
func serve(t *testing.T) *httptest.Server {
	t.Helper()
	site, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// timeout bounds one step of a browser test.
func timeout(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestAccueilInBrowser(t *testing.T) {
	srv := serve(t)
	browser := browsertest.Start(t)

	t.Run("with JavaScript", func(t *testing.T) {
		ctx := timeout(t, browser)
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+"/"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 {
			t.Fatalf("status %d", resp.Status)
		}
		if csp, _ := resp.Headers["Content-Security-Policy"].(string); csp != web.ContentSecurityPolicy {
			t.Errorf("Content-Security-Policy = %q", csp)
		}
		checkAccueil(t, ctx)

		// The DSFR script and htmx ran: the CSP let them load and nothing blocked them.
		ok, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.dsfr !== undefined && window.htmx !== undefined`, chromedp.WithPollingTimeout(5*time.Second)))
		if err != nil || !ok {
			t.Errorf("the DSFR script or htmx did not run: %v", err)
		}
		browsertest.Axe(ctx, t)
		browsertest.NoConsoleErrors(ctx, t)
		screenshot(t, ctx, "accueil.png")

		// A phone-sized viewport: the header collapses into the "Menu" button.
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		browsertest.Axe(ctx, t)
		screenshot(t, ctx, "accueil-mobile.png")
		// The "Menu" button opens the dialog where the DSFR script copied the header's links.
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("bouton-menu")),
			chromedp.WaitVisible(chromedp.CSS(`#menu-principal .fr-header__menu-links a[href="/connexion"]`)),
		); err != nil {
			t.Fatalf("mobile menu: %v", err)
		}
		browsertest.Axe(ctx, t)
		screenshot(t, ctx, "accueil-mobile-menu.png")
		browsertest.NoConsoleErrors(ctx, t)
	})

	t.Run("without JavaScript", func(t *testing.T) {
		ctx := timeout(t, browsertest.NewTab(t, browser, browsertest.WithoutJavaScript()))
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		checkAccueil(t, ctx)
		ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.dsfr !== undefined`))
		if err != nil {
			t.Fatal(err)
		}
		if ran {
			t.Error("the DSFR script ran in a tab without JavaScript")
		}
		browsertest.Axe(ctx, t)
		browsertest.NoConsoleErrors(ctx, t)
		screenshot(t, ctx, "accueil-sans-js.png")
	})

	t.Run("thème sombre", func(t *testing.T) {
		// A system in dark mode: static/carnet/theme.js picks the DSFR's dark theme before the
		// first paint, within the CSP.
		ctx := timeout(t, browsertest.NewTab(t, browser))
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		theme, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.frTheme`))
		if err != nil || theme != "dark" {
			t.Errorf("data-fr-theme = %q, %v", theme, err)
		}
		browsertest.Axe(ctx, t)
		browsertest.NoConsoleErrors(ctx, t)
		screenshot(t, ctx, "accueil-sombre.png")
	})

	t.Run("page non trouvée", func(t *testing.T) {
		ctx := timeout(t, browsertest.NewTab(t, browser))
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+"/nulle-part"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 404 {
			t.Errorf("status %d, want 404", resp.Status)
		}
		h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
		if err != nil || h1 != "Page non trouvée" {
			t.Errorf("h1 = %q, %v", h1, err)
		}
		browsertest.Axe(ctx, t)
		browsertest.NoConsoleErrors(ctx, t)
		screenshot(t, ctx, "erreur-404.png")
	})
}

// checkAccueil checks what the landing page shows, with or without JavaScript.
func checkAccueil(t *testing.T, ctx context.Context) {
	t.Helper()
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "Accueil – Carnet" {
		t.Errorf("title = %q, %v", title, err)
	}
	h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main#contenu h1")))
	if err != nil || h1 != "Carnet, mon espace santé" {
		t.Errorf("h1 = %q, %v", h1, err)
	}
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil || lang != "fr" {
		t.Errorf("lang = %q, %v", lang, err)
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("main a")].filter(a => a.offsetParent !== null).map(a => a.textContent.trim() + " " + a.getAttribute("href"))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Activer mon espace /activer", "Me connecter /connexion", "Je suis professionnel de santé /pro/connexion"} {
		found := false
		for _, l := range links {
			found = found || l == want
		}
		if !found {
			t.Errorf("no visible link %q in %q", want, links)
		}
	}
	// The stylesheet applied: the DSFR's Marianne font and its blue buttons.
	font, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).fontFamily`))
	if err != nil || !strings.Contains(font, "Marianne") {
		t.Errorf("body font = %q, %v", font, err)
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("main .fr-btn")).backgroundColor`))
	if err != nil || bg != "rgb(0, 0, 145)" {
		t.Errorf("button background = %q, %v (want the DSFR's blue)", bg, err)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	p := filepath.Join(t.ArtifactDir(), name)
	if err := browsertest.Screenshot(ctx, p); err != nil {
		t.Error(err)
	}
}
