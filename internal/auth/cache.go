package auth

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// CachingVerifier remembers the tokens that another verifier accepted, so that practice
// software presenting the same token with every request pays for its signature check once:
// a verified token is taken again without a check until it expires, or for at most maxAge (so
// that a signing key withdrawn from an issuer's JWKS stops being honoured soon after). Refusals
// are never remembered. Tokens are held by their SHA-256, never in clear. Whether the
// professional is still active is not a token's business: the service reads the directory in
// each decision's transaction. It is safe for concurrent use.
type CachingVerifier struct {
	next   Verifier
	max    int
	maxAge time.Duration
	now    func() time.Time

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cachedPrincipal
}

type cachedPrincipal struct {
	p     Principal
	until time.Time
}

// NewCachingVerifier wraps next, remembering up to max tokens (default 10 000) for at most
// maxAge each (default 5 minutes).
func NewCachingVerifier(next Verifier, max int, maxAge time.Duration) *CachingVerifier {
	if max <= 0 {
		max = 10000
	}
	if maxAge <= 0 {
		maxAge = 5 * time.Minute
	}
	return &CachingVerifier{next: next, max: max, maxAge: maxAge, now: time.Now,
		entries: make(map[[sha256.Size]byte]cachedPrincipal)}
}

// Verify implements Verifier.
func (c *CachingVerifier) Verify(ctx context.Context, rawToken string) (*Principal, error) {
	key := sha256.Sum256([]byte(rawToken))
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && now.Before(e.until) {
		return clonePrincipal(&e.p), nil
	}
	p, err := c.next.Verify(ctx, rawToken)
	if err != nil {
		if ok {
			c.mu.Lock()
			delete(c.entries, key)
			c.mu.Unlock()
		}
		return nil, err
	}
	until := now.Add(c.maxAge)
	if !p.Expiry.IsZero() && p.Expiry.Before(until) {
		until = p.Expiry
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		for k, v := range c.entries {
			if !now.Before(v.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries) // full of live tokens: start again rather than grow without bound
		}
	}
	c.entries[key] = cachedPrincipal{p: *p, until: until}
	c.mu.Unlock()
	return clonePrincipal(p), nil
}

// clonePrincipal returns a copy that the caller may change without touching the cache.
func clonePrincipal(p *Principal) *Principal {
	q := *p
	q.Scopes = slices.Clone(p.Scopes)
	return &q
}
