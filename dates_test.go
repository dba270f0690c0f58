package carnet

import (
	"testing"
	"time"
)

func TestFrenchDate(t *testing.T) {
	for in, want := range map[string]string{"2026-03-01": "1er mars 2026", "2026-08-15": "15 août 2026", "2026-12-31": "31 décembre 2026"} {
		d, _ := time.Parse("2006-01-02", in)
		if got := FrenchDate(d); got != want {
			t.Errorf("FrenchDate(%s) = %q, want %q", in, got, want)
		}
	}
}
