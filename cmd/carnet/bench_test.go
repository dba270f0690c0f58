package main

import "testing"

// TestMeasureProfile: each measure's profile has its own file, named after the scenario and the
// number of clients, so that profiles of one run do not overwrite each other.
func TestMeasureProfile(t *testing.T) {
	for _, c := range []struct {
		path, scenario string
		clients        int
		want           string
	}{
		{"p.prof", "document read (audited, metadata)", 16, "p-read-16.prof"},
		{"/tmp/x/cpu.pprof", "document list (audited)", 4, "/tmp/x/cpu-list-4.pprof"},
		{"cpu", "document content (audited, decrypted)", 4, "cpu-content-4"},
	} {
		if got := measureProfile(c.path, c.scenario, c.clients); got != c.want {
			t.Errorf("measureProfile(%q, %q, %d) = %q, want %q", c.path, c.scenario, c.clients, got, c.want)
		}
	}
}
