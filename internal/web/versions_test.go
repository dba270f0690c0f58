package web

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredVersions checks that the embedded front-end files are the versions pinned in
// web/package.json (and locked in web/package-lock.json): static/VERSIONS, written by
// scripts/web-assets.sh, and the banners of the files themselves. A failure means that someone
// changed the pin without running the script, or copied files by hand.
func TestVendoredVersions(t *testing.T) {
	pinned := readPins(t)
	locked := readLock(t)
	listed := readVersions(t)
	for _, pkg := range []string{"@gouvfr/dsfr", "htmx.org", "axe-core"} {
		if pinned[pkg] == "" || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(pinned[pkg]) {
			t.Errorf("web/package.json: %s pinned as %q, want an exact version", pkg, pinned[pkg])
		}
		if locked[pkg] != pinned[pkg] {
			t.Errorf("web/package-lock.json locks %s %q, package.json pins %q: run npm install --prefix web", pkg, locked[pkg], pinned[pkg])
		}
		if listed[pkg] != pinned[pkg] {
			t.Errorf("static/VERSIONS says %s %q, web/package.json pins %q: run scripts/web-assets.sh", pkg, listed[pkg], pinned[pkg])
		}
	}
	if !strings.HasPrefix(pinned["htmx.org"], "2.") {
		t.Errorf("htmx %s: the pages are written for htmx 2", pinned["htmx.org"])
	}

	// The files say which version they are.
	dsfr := regexp.MustCompile(`^(?:@charset "UTF-8";\s*)?/\*!?\s*\*?\s*DSFR v(\S+) `)
	for _, name := range []string{"dsfr/dsfr.min.css", "dsfr/dsfr.module.min.js", "dsfr/dsfr.nomodule.min.js"} {
		b, err := fs.ReadFile(staticFS, "static/"+name)
		if err != nil {
			t.Fatal(err)
		}
		m := dsfr.FindSubmatch(b)
		if m == nil || string(m[1]) != pinned["@gouvfr/dsfr"] {
			t.Errorf("%s is DSFR %q, web/package.json pins %q", name, m, pinned["@gouvfr/dsfr"])
		}
	}
	b, err := fs.ReadFile(staticFS, "static/htmx/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`version:"([^"]+)"`).FindSubmatch(b); m == nil || string(m[1]) != pinned["htmx.org"] {
		t.Errorf("htmx.min.js is %q, web/package.json pins %q", m, pinned["htmx.org"])
	}
}

func readPins(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../web/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{}
	for k, v := range pkg.Dependencies {
		pins[k] = v
	}
	for k, v := range pkg.DevDependencies {
		pins[k] = v
	}
	return pins
}

func readLock(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../web/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, p := range lock.Packages {
		if name, ok := strings.CutPrefix(k, "node_modules/"); ok {
			out[name] = p.Version
		}
	}
	return out
}

func readVersions(t *testing.T) map[string]string {
	t.Helper()
	f, err := staticFS.Open("static/VERSIONS")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if pkg, v, ok := strings.Cut(line, " "); ok {
			out[pkg] = v
		}
	}
	return out
}
