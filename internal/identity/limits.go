package identity

import (
	"math"
	"time"
)

// Attempts is the failure record of one key: the service stores one per account (or per
// patient for activation and opposition) and one per client address, and passes it through
// Limits on every attempt. The zero value is a key that never failed.
type Attempts struct {
	Failures    int       // consecutive failures not yet forgotten
	LastFailure time.Time // time of the last failure
	LockedUntil time.Time // no attempt is even checked before this time
}

// Limits sets how failures slow down further attempts. After Free failures, each failure locks
// the key for a delay that doubles from Base up to Max; failures are forgotten once Reset has
// passed without a new one. A zero Base (or zero Limits) never locks.
type Limits struct {
	Free  int           // failures allowed before delays start
	Base  time.Duration // delay after the first failure beyond Free
	Max   time.Duration // longest delay (0: no cap)
	Reset time.Duration // failures are forgotten after this long without a failure (0: never)
}

// DefaultAccountLimits returns the limits for one account (or one person's activation): 5 free
// failures, then 1 min, 2 min, 4 min ... up to 1 h; forgotten after 24 h without a failure.
// A 6-digit one-time code thus gets a few dozen guesses a day at most.
func DefaultAccountLimits() Limits {
	return Limits{Free: 5, Base: time.Minute, Max: time.Hour, Reset: 24 * time.Hour}
}

// DefaultAddressLimits returns the limits for one client address, which slow down guessing
// across many accounts: 20 free failures (addresses are shared behind NATs), then 10 s, 20 s ...
// up to 15 min; forgotten after 1 h without a failure.
func DefaultAddressLimits() Limits {
	return Limits{Free: 20, Base: 10 * time.Second, Max: 15 * time.Minute, Reset: time.Hour}
}

// Allow reports whether an attempt may be checked at all at now. When it may not, retryAfter is
// how long to wait (for a Retry-After header and the message). The service calls Allow before
// looking at the submitted secret, so that a locked key refuses even the right one.
func (l Limits) Allow(a Attempts, now time.Time) (ok bool, retryAfter time.Duration) {
	if now.Before(a.LockedUntil) {
		return false, a.LockedUntil.Sub(now)
	}
	return true, 0
}

// Fail records a failure at now and returns the new record: failures older than Reset are
// forgotten first, then, beyond Free failures, the key is locked for Base × 2^(failures−Free−1),
// capped at Max. A lock never ends earlier than one already in place.
func (l Limits) Fail(a Attempts, now time.Time) Attempts {
	if l.Reset > 0 && !a.LastFailure.IsZero() && now.Sub(a.LastFailure) >= l.Reset {
		a.Failures = 0
	}
	if a.Failures < math.MaxInt {
		a.Failures++
	}
	if now.After(a.LastFailure) || a.LastFailure.IsZero() {
		a.LastFailure = now
	}
	if d := l.Delay(a.Failures); d > 0 {
		if until := now.Add(d); until.After(a.LockedUntil) {
			a.LockedUntil = until
		}
	}
	return a
}

// Succeed returns the record after a successful attempt: everything is forgotten. Call it on the
// account's record; leave the address's record to Reset, so that an attacker cannot clear the
// count of an address by logging in to an account of their own between guesses.
func (l Limits) Succeed(a Attempts) Attempts { return Attempts{} }

// Delay returns the lock that follows the given number of consecutive failures: 0 up to Free,
// then Base, 2×Base, 4×Base ... capped at Max.
func (l Limits) Delay(failures int) time.Duration {
	over := failures - l.Free
	if over <= 0 || l.Base <= 0 {
		return 0
	}
	d := l.Base
	for k := 1; k < over; k++ {
		if (l.Max > 0 && d >= l.Max) || d > math.MaxInt64/2 {
			break
		}
		d *= 2
	}
	if l.Max > 0 && d > l.Max {
		d = l.Max
	}
	return d
}
