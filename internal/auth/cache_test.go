package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// countingVerifier accepts tokens starting with "ok" until their expiry in its table.
type countingVerifier struct {
	calls  int
	expiry time.Time
	refuse bool
}

func (v *countingVerifier) Verify(_ context.Context, raw string) (*Principal, error) {
	v.calls++
	if v.refuse || raw[:2] != "ok" {
		return nil, errors.New("refused")
	}
	return &Principal{RPPS: raw, Scopes: []string{"user/*.rs"}, Expiry: v.expiry}, nil
}

func TestCachingVerifier(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	next := &countingVerifier{expiry: now.Add(2 * time.Minute)}
	c := NewCachingVerifier(next, 3, 5*time.Minute)
	c.now = func() time.Time { return now }

	for i := 0; i < 3; i++ {
		p, err := c.Verify(ctx, "ok-1")
		if err != nil || p.RPPS != "ok-1" {
			t.Fatalf("verify: %v %v", p, err)
		}
		p.Scopes[0] = "changed by the caller" // must not reach the cache
	}
	if next.calls != 1 {
		t.Errorf("signature checked %d times for one token, want 1", next.calls)
	}
	if p, _ := c.Verify(ctx, "ok-1"); p.Scopes[0] != "user/*.rs" {
		t.Errorf("cached principal changed by a caller: %v", p.Scopes)
	}
	// Refusals are not remembered: each one is checked again.
	for i := 0; i < 2; i++ {
		if _, err := c.Verify(ctx, "bad"); err == nil {
			t.Fatal("bad token accepted")
		}
	}
	if next.calls != 3 {
		t.Errorf("calls after two refusals: %d, want 3", next.calls)
	}
	// At the token's expiry the cache asks again, and the refusal wins.
	now = now.Add(2 * time.Minute)
	next.refuse = true
	if _, err := c.Verify(ctx, "ok-1"); err == nil {
		t.Error("expired token accepted from the cache")
	}
	// maxAge bounds a long-lived token's stay.
	next.refuse, next.expiry = false, now.Add(time.Hour)
	c.Verify(ctx, "ok-2")
	now = now.Add(5 * time.Minute)
	calls := next.calls
	c.Verify(ctx, "ok-2")
	if next.calls != calls+1 {
		t.Error("a token was taken from the cache after maxAge")
	}
	// The cache stays within max entries.
	for i := 0; i < 10; i++ {
		c.Verify(ctx, fmt.Sprintf("ok-many-%d", i))
	}
	if n := len(c.entries); n > 3 {
		t.Errorf("%d entries, max 3", n)
	}
}
