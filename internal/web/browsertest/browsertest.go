// Package browsertest helps Go tests drive Carnet's pages in a real browser: the system's
// Chromium, headless, through chromedp. It starts the browser, records what each tab writes to
// its console (errors, Content-Security-Policy violations), runs the axe-core accessibility
// checker and takes screenshots.
//
// Without Chromium the tests skip, except in CI (CI=true), where they fail: a browser test that
// never runs proves nothing. The browser is Chromium from the PATH or /usr/bin/chromium;
// CHROMIUM_PATH overrides it.
//
// axe.min.js is copied from the axe-core npm package by scripts/web-assets.sh; it is only
// embedded in this test helper, never served.
package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

//go:embed axe.min.js
var axeSource string

// ChromiumPath returns the browser to run, or "" when there is none: $CHROMIUM_PATH (if that
// file exists), else
// /usr/bin/chromium (Debian's package), else chromium, chromium-browser, google-chrome or
// google-chrome-stable from the PATH.
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start launches a headless Chromium with a fresh profile (in t.TempDir) and returns the
// context of its first tab, whose console is recorded (see Messages). The browser stops when
// the test ends. Without Chromium, Start skips the test, or fails it when CI=true.
//
// Give each action a timeout by deriving a context from the returned one; never cancel the
// returned context itself before the test ends.
func Start(t testing.TB) context.Context {
	t.Helper()
	exe := ChromiumPath()
	if exe == "" {
		const msg = "browsertest: Chromium not found (install it with `apt-get install chromium`, or set CHROMIUM_PATH)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so browser tests must run")
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit, before t.TempDir is removed
	})
	// Start the browser now, with the context that lasts as long as the test: the first action
	// binds the browser's life to its context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: start %s: %v", exe, err)
	}
	return record(ctx, false)
}

// TabOption configures a tab made by NewTab.
type TabOption func(*tabConfig)

type tabConfig struct {
	noJS bool
}

// WithoutJavaScript makes a tab where pages run no script, to check that they work without
// JavaScript. The test's own actions (Evaluate, Axe) still run.
func WithoutJavaScript() TabOption {
	return func(c *tabConfig) { c.noJS = true }
}

// NewTab opens another tab in the browser of ctx (a context from Start) and returns its
// context, with its console recorded. The tab closes when the test ends.
func NewTab(t testing.TB, ctx context.Context, opts ...TabOption) context.Context {
	t.Helper()
	var cfg tabConfig
	for _, o := range opts {
		o(&cfg)
	}
	tabCtx, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if cfg.noJS {
		if err := setScripts(tabCtx, false); err != nil {
			t.Fatal(err)
		}
	} else if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("browsertest: new tab: %v", err)
	}
	return record(tabCtx, cfg.noJS)
}

// recorder keeps the console messages of one tab.
type recorder struct {
	noJS     bool // the tab runs no page script
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

type recorderKey struct{}

func recorderOf(ctx context.Context) *recorder {
	rec, _ := ctx.Value(recorderKey{}).(*recorder)
	return rec
}

// record starts recording the console of the tab of ctx (which must have its target).
func record(ctx context.Context, noJS bool) context.Context {
	rec := &recorder{noJS: noJS}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			rec.mu.Lock()
			rec.messages = append(rec.messages, m)
			rec.mu.Unlock()
		}
	}()
	return context.WithValue(ctx, recorderKey{}, rec)
}

// Messages returns what the tab of ctx wrote to its console so far: console API calls,
// uncaught exceptions and the browser's own log (failed loads, CSP violations...).
func Messages(ctx context.Context) []chromedp.ConsoleMessage {
	rec := recorderOf(ctx)
	if rec == nil {
		return nil
	}
	// A round trip to the page, so that the messages sent before it have arrived.
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("0"))
	time.Sleep(100 * time.Millisecond)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), rec.messages...)
}

// IsCSPViolation reports whether a console message reports a Content-Security-Policy
// violation.
func IsCSPViolation(m chromedp.ConsoleMessage) bool {
	return strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy")
}

// NoConsoleErrors fails the test if the tab of ctx logged an error, an uncaught exception or a
// Content-Security-Policy violation (whatever its level). The browser's report of an error
// status for the page itself (an error page's 404) is not one: the test checks the status.
func NoConsoleErrors(ctx context.Context, t testing.TB) {
	t.Helper()
	page, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("browsertest: location: %v", err)
	}
	for _, m := range Messages(ctx) {
		if m.Source == "network" && m.URL == page {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() || IsCSPViolation(m) {
			t.Errorf("browser console: %s (%s:%d)", m, m.URL, m.Line+1)
		}
	}
}

// Violation is one rule that axe-core found broken, with the elements at fault.
type Violation struct {
	ID      string          `json:"id"`
	Impact  string          `json:"impact"` // minor, moderate, serious or critical
	Help    string          `json:"help"`
	HelpURL string          `json:"helpUrl"`
	Nodes   []ViolationNode `json:"nodes"`
}

// ViolationNode is an element that breaks a rule.
type ViolationNode struct {
	Target  []string `json:"target"` // CSS selectors
	HTML    string   `json:"html"`
	Summary string   `json:"failureSummary"`
}

// axeRun waits for the running CSS animations and transitions to end (a dialog fading in would
// fail the contrast rule), for at most two seconds, then runs axe-core on the document with its
// default rules (WCAG 2.x A and AA, best practices) and returns the violations, as JSON.
const axeRun = `(async () => {
  const settled = Promise.all(document.getAnimations().map(a => a.finished.catch(() => {})));
  await Promise.race([settled, new Promise(r => setTimeout(r, 2000))]);
  const r = await axe.run(document, {resultTypes: ["violations"]});
  return JSON.stringify(r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, failureSummary: n.failureSummary})),
  })));
})()`

// AxeViolations injects axe-core in the page of ctx and returns every violation it finds. In a
// tab without JavaScript, scripts are turned on for the time of the check: the page's own
// scripts, skipped when it loaded, stay so.
func AxeViolations(ctx context.Context) ([]Violation, error) {
	if rec := recorderOf(ctx); rec != nil && rec.noJS {
		if err := setScripts(ctx, true); err != nil {
			return nil, err
		}
		defer setScripts(ctx, false)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource+"\n;0")); err != nil {
		return nil, fmt.Errorf("browsertest: inject axe-core: %w", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("browsertest: run axe-core: %w", err)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		return nil, fmt.Errorf("browsertest: axe-core result: %w", err)
	}
	return vs, nil
}

// Axe runs axe-core on the page of ctx and fails the test on each violation of impact serious
// or critical, naming the rule, its help and the elements at fault; it logs the others.
func Axe(ctx context.Context, t testing.TB) {
	t.Helper()
	vs, err := AxeViolations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		var b strings.Builder
		fmt.Fprintf(&b, "axe %s (%s): %s — %s", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n\t%s: %s", strings.Join(n.Target, " "), n.HTML)
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(b.String())
		} else {
			t.Log(b.String())
		}
	}
}

// setScripts turns the page scripts of the tab of ctx on or off.
func setScripts(ctx context.Context, on bool) error {
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: !on})
	if err != nil {
		return fmt.Errorf("browsertest: turn scripts on=%t: %w", on, err)
	}
	return nil
}

// Screenshot saves a PNG of the whole page of ctx (beyond the viewport) to path, creating its
// directory.
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}
