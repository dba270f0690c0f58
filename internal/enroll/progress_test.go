package enroll

import (
	"os"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProgressTerminal(t *testing.T) {
	var out strings.Builder
	clock := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	p := NewProgress(&out, 1000000, true, clock.now)

	clock.advance(500 * time.Millisecond)
	p.Update(10000, 0, 50000)
	if out.Len() != 0 {
		t.Fatalf("printed before a second: %q", out.String())
	}
	clock.advance(500 * time.Millisecond)
	p.Update(120000, 3, 100000)
	want := "\r120 000 lignes · 3 rejetées · 120 000 lignes/s · 10 % · reste ~ 0:09"
	if out.String() != want {
		t.Fatalf("got %q\nwant %q", out.String(), want)
	}
	clock.advance(200 * time.Millisecond)
	p.Update(130000, 3, 110000)
	if out.String() != want {
		t.Fatalf("printed twice in a second: %q", out.String())
	}
	out.Reset()
	clock.advance(3*time.Second + 800*time.Millisecond) // 5 s in all
	p.Update(1000000, 1, 420000)
	want = "\r1 000 000 lignes · 1 rejetée · 200 000 lignes/s · 42 % · reste ~ 0:07"
	if out.String() != want {
		t.Fatalf("got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	clock.advance(2 * time.Hour)
	p.Update(1500000, 0, 500000)
	if want := "\r1 500 000 lignes · 208 lignes/s · 50 % · reste ~ 2:00:05"; !strings.HasPrefix(out.String(), want) {
		t.Fatalf("got %q\nwant %q", out.String(), want)
	}
	// A shorter line than the previous one is padded so that nothing old remains.
	if n := len([]rune(out.String())); n != len([]rune("\r1 000 000 lignes · 1 rejetée · 200 000 lignes/s · 42 % · reste ~ 0:07")) {
		t.Errorf("padded to %d runes", n)
	}
	out.Reset()
	p.Done(2000000, 12)
	if !strings.HasPrefix(out.String(), "\r          ") || !strings.HasSuffix(out.String(),
		"\rTerminé : 2 000 000 lignes traitées en 2:00:05 (278 lignes/s) · 1 999 988 valides · 12 rejetées\n") {
		t.Errorf("done: %q", out.String())
	}
}

func TestProgressLog(t *testing.T) {
	var out strings.Builder
	clock := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	p := NewProgress(&out, 0, false, clock.now)
	for range 9 {
		clock.advance(time.Second)
		p.Update(5000, 0, 1000)
	}
	if out.Len() != 0 {
		t.Fatalf("printed before ten seconds: %q", out.String())
	}
	clock.advance(time.Second)
	p.Update(350000, 0, 1000)
	clock.advance(time.Second)
	p.Update(360000, 0, 1000)
	if want := "350 000 lignes · 35 000 lignes/s\n"; out.String() != want {
		t.Fatalf("got %q, want %q (no percentage without a total)", out.String(), want)
	}
	out.Reset()
	clock.advance(time.Second)
	p.Done(1, 0)
	if want := "Terminé : 1 ligne traitée en 0:12 (0 lignes/s) · 1 valide · 0 rejetée\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestProgressResume(t *testing.T) {
	var out strings.Builder
	clock := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	p := NewProgress(&out, 1000, true, clock.now)
	p.Resume(500000, 500)
	clock.advance(10 * time.Second)
	p.Update(600000, 0, 600)
	if want := "\r600 000 lignes · 10 000 lignes/s · 60 % · reste ~ 0:40"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}

func TestGroupDigitsAndClock(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1 000", 1234567: "1 234 567", -12345: "-12 345"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0:00", 12 * time.Second: "0:12", 61*time.Minute + 5*time.Second: "1:01:05", -time.Second: "0:00"} {
		if got := clock(d); got != want {
			t.Errorf("clock(%v) = %q, want %q", d, got, want)
		}
	}
}
