package auth

import (
	"net/http"
	"time"
)

// Limits and defaults.
const (
	// Audience is the audience ("aud") of tokens for Carnet's API.
	Audience = "carnet-api"
	// DefaultTTL is the lifetime of an embedded token when none is asked for.
	DefaultTTL = time.Hour
	// MaxTTL is the longest lifetime of an embedded token.
	MaxTTL = 24 * time.Hour
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = time.Minute
	// MaxTokenLen bounds the size of a token that is parsed at all.
	MaxTokenLen = 8 << 10
)

// Option tunes an issuer or a verifier. Options that do not apply to what is being built are
// ignored (a clock applies to all; an HTTP client only to the OIDC verifier).
type Option func(*options)

type options struct {
	now        func() time.Time
	leeway     time.Duration
	httpClient *http.Client
	algs       []string
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now, leeway: DefaultLeeway}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithClock sets the clock used to stamp and check tokens (time.Now by default).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLeeway sets the clock skew tolerated when checking exp, nbf and iat (DefaultLeeway by
// default). Negative values count as zero; values over five minutes are capped.
func WithLeeway(d time.Duration) Option {
	return func(o *options) {
		o.leeway = min(max(d, 0), 5*time.Minute)
	}
}

// WithHTTPClient sets the client used for OpenID Connect discovery and JWKS fetches. The default
// client has a 10-second timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.httpClient = c }
}

// WithAlgorithms restricts the signature algorithms that an OIDC verifier accepts (by default
// RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA). Symmetric
// algorithms (HS*) and "none" are never accepted, whatever is passed here.
func WithAlgorithms(algs ...string) Option {
	return func(o *options) { o.algs = append([]string(nil), algs...) }
}
