package identity

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLimitsDelay(t *testing.T) {
	l := Limits{Free: 3, Base: time.Second, Max: 10 * time.Second}
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {3, 0},
		{4, time.Second}, {5, 2 * time.Second}, {6, 4 * time.Second}, {7, 8 * time.Second},
		{8, 10 * time.Second}, {9, 10 * time.Second}, {1000, 10 * time.Second}, {math.MaxInt, 10 * time.Second},
		{-5, 0},
	}
	for _, tt := range tests {
		if got := l.Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
	// No cap: doubling stops before overflowing.
	noCap := Limits{Base: time.Second}
	if d := noCap.Delay(math.MaxInt); d <= 0 || d < time.Duration(math.MaxInt64/4) {
		t.Errorf("uncapped Delay(MaxInt) = %v, want a huge positive delay", d)
	}
	// Zero limits never lock.
	if d := (Limits{}).Delay(100); d != 0 {
		t.Errorf("zero Limits Delay(100) = %v, want 0", d)
	}
	// Max below Base: Max wins.
	if d := (Limits{Base: time.Minute, Max: time.Second}).Delay(1); d != time.Second {
		t.Errorf("Delay with Max < Base = %v, want Max", d)
	}
}

func TestLimitsFailSequence(t *testing.T) {
	l := Limits{Free: 2, Base: time.Second, Max: 4 * time.Second, Reset: time.Hour}
	var a Attempts
	now := t0
	wantLocks := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, want := range wantLocks {
		ok, _ := l.Allow(a, now)
		if !ok {
			t.Fatalf("attempt %d refused before its delay was over", i+1)
		}
		a = l.Fail(a, now)
		if a.Failures != i+1 || !a.LastFailure.Equal(now) {
			t.Fatalf("after failure %d: %+v", i+1, a)
		}
		if want == 0 {
			if ok, _ := l.Allow(a, now); !ok {
				t.Fatalf("failure %d is free but the key is locked", i+1)
			}
			continue
		}
		if !a.LockedUntil.Equal(now.Add(want)) {
			t.Fatalf("after failure %d: locked until %v, want now+%v", i+1, a.LockedUntil, want)
		}
		ok, retry := l.Allow(a, now)
		if ok || retry != want {
			t.Fatalf("after failure %d: Allow = %v, %v; want false, %v", i+1, ok, retry, want)
		}
		if ok, retry := l.Allow(a, now.Add(want-time.Millisecond)); ok || retry != time.Millisecond {
			t.Fatalf("after failure %d: allowed 1 ms early (retry %v)", i+1, retry)
		}
		now = now.Add(want) // wait exactly the delay
	}
}

func TestLimitsAllow(t *testing.T) {
	l := DefaultAccountLimits()
	tests := []struct {
		name  string
		a     Attempts
		now   time.Time
		ok    bool
		retry time.Duration
	}{
		{"never failed", Attempts{}, t0, true, 0},
		{"failures but no lock", Attempts{Failures: 3, LastFailure: t0}, t0, true, 0},
		{"locked", Attempts{Failures: 6, LastFailure: t0, LockedUntil: t0.Add(time.Minute)}, t0, false, time.Minute},
		{"locked, half way", Attempts{Failures: 6, LastFailure: t0, LockedUntil: t0.Add(time.Minute)}, t0.Add(30 * time.Second), false, 30 * time.Second},
		{"lock just over", Attempts{Failures: 6, LastFailure: t0, LockedUntil: t0.Add(time.Minute)}, t0.Add(time.Minute), true, 0},
	}
	for _, tt := range tests {
		ok, retry := l.Allow(tt.a, tt.now)
		if ok != tt.ok || retry != tt.retry {
			t.Errorf("%s: Allow = %v, %v; want %v, %v", tt.name, ok, retry, tt.ok, tt.retry)
		}
	}
}

func TestLimitsResetForgets(t *testing.T) {
	l := Limits{Free: 1, Base: time.Minute, Max: time.Hour, Reset: 24 * time.Hour}
	a := Attempts{Failures: 9, LastFailure: t0, LockedUntil: t0.Add(time.Hour)}
	// Within Reset: the count goes on.
	b := l.Fail(a, t0.Add(23*time.Hour))
	if b.Failures != 10 {
		t.Errorf("failure within Reset: %d failures, want 10", b.Failures)
	}
	// After Reset without failure: forgotten, the new failure is the first one (free).
	c := l.Fail(a, t0.Add(24*time.Hour))
	if c.Failures != 1 {
		t.Errorf("failure after Reset: %d failures, want 1", c.Failures)
	}
	if ok, _ := l.Allow(c, t0.Add(24*time.Hour)); !ok {
		t.Error("a first failure after Reset locked the key")
	}
	// Reset 0 never forgets.
	l.Reset = 0
	if d := l.Fail(a, t0.Add(1000*time.Hour)); d.Failures != 10 {
		t.Errorf("Reset 0: %d failures, want 10", d.Failures)
	}
}

func TestLimitsFailNeverShortensALock(t *testing.T) {
	l := Limits{Free: 0, Base: time.Second, Max: time.Hour}
	a := Attempts{Failures: 1, LastFailure: t0, LockedUntil: t0.Add(time.Hour)}
	// A late-arriving concurrent failure with a clock slightly behind.
	b := l.Fail(a, t0.Add(-time.Second))
	if !b.LockedUntil.Equal(a.LockedUntil) {
		t.Errorf("lock moved from %v to %v", a.LockedUntil, b.LockedUntil)
	}
	if !b.LastFailure.Equal(t0) {
		t.Errorf("LastFailure moved back to %v", b.LastFailure)
	}
}

func TestLimitsSucceed(t *testing.T) {
	l := DefaultAccountLimits()
	a := Attempts{Failures: 4, LastFailure: t0, LockedUntil: t0.Add(time.Minute)}
	if got := l.Succeed(a); got != (Attempts{}) {
		t.Errorf("Succeed = %+v, want zero", got)
	}
}

func TestDefaultLimits(t *testing.T) {
	for name, l := range map[string]Limits{"account": DefaultAccountLimits(), "address": DefaultAddressLimits()} {
		if l.Free < 1 || l.Base <= 0 || l.Max < l.Base || l.Reset < l.Max {
			t.Errorf("%s limits inconsistent: %+v", name, l)
		}
	}
	// A 6-digit code gets few guesses in a day against the account limits.
	l := DefaultAccountLimits()
	var a Attempts
	guesses := 0
	for now := t0; now.Before(t0.Add(24 * time.Hour)); {
		if ok, retry := l.Allow(a, now); !ok {
			now = now.Add(retry)
			continue
		}
		a = l.Fail(a, now)
		guesses++
	}
	if guesses > 40 {
		t.Errorf("%d guesses in 24 h against the account limits, want at most 40", guesses)
	}
}

// fakeVerifier plays the service: it checks a submitted code the way the package documentation
// says, Allow first, then the constant-time comparison, then Fail or Succeed.
type fakeVerifier struct {
	limits  Limits
	account Attempts
	address Attempts
	key     []byte
	stored  []byte
	checked int // how many times the code itself was compared
}

// attempt returns "ok", "wrong" or "locked".
func (v *fakeVerifier) attempt(code string, now time.Time) string {
	if ok, _ := v.limits.Allow(v.account, now); !ok {
		return "locked"
	}
	if ok, _ := v.limits.Allow(v.address, now); !ok {
		return "locked"
	}
	v.checked++
	if !CodeMatches(v.key, PurposeLogin, "acct-1", code, v.stored) {
		v.account = v.limits.Fail(v.account, now)
		v.address = v.limits.Fail(v.address, now)
		return "wrong"
	}
	v.account = v.limits.Succeed(v.account)
	return "ok"
}

func TestLockRefusesEvenTheRightCode(t *testing.T) {
	key := testKey(3)
	right := "314159"
	v := &fakeVerifier{
		limits: Limits{Free: 3, Base: time.Minute, Max: time.Hour, Reset: 24 * time.Hour},
		key:    key,
		stored: CodeHash(key, PurposeLogin, "acct-1", right),
	}
	now := t0
	steps := []struct {
		code  string
		after time.Duration // time elapsed before this attempt
		want  string
	}{
		{"000000", 0, "wrong"},
		{"000001", 0, "wrong"},
		{"000002", 0, "wrong"},
		{"000003", 0, "wrong"},              // 4th failure: locked 1 min
		{right, 0, "locked"},                // the right code, refused while locked
		{right, 59 * time.Second, "locked"}, // still locked
		{right, time.Second, "ok"},          // delay over: accepted
		{"000004", 0, "wrong"},              // account record was reset by the success: 1 failure, free
		{right, 0, "locked"},                // but the address record was not: 5 failures, 2 min
		{right, 2 * time.Minute, "ok"},      // address delay over
	}
	for i, s := range steps {
		now = now.Add(s.after)
		checkedBefore := v.checked
		if got := v.attempt(s.code, now); got != s.want {
			t.Fatalf("step %d (%s after %v): %s, want %s", i+1, s.code, s.after, got, s.want)
		}
		if s.want == "locked" && v.checked != checkedBefore {
			t.Fatalf("step %d: the code was compared while locked", i+1)
		}
	}
	// The address record is never reset by a success: it still holds every failure.
	if v.address.Failures != 5 {
		t.Errorf("address failures = %d, want 5", v.address.Failures)
	}
}
