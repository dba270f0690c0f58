package web

import "net/http"

// ContentSecurityPolicy is the policy of every answer: everything from Carnet's own origin,
// nothing inline (no <script> or <style> element, no style attribute, no event handler
// attribute), images also as data: URLs (the DSFR stylesheet draws some icons so), no framing,
// forms posted to Carnet only.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// permissionsPolicy turns off the browser features that Carnet never uses.
const permissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), " +
	"magnetometer=(), microphone=(), payment=(), usb=()"

// SecurityHeaders sets the security headers of every answer, then calls next: the
// Content-Security-Policy above, X-Content-Type-Options, Referrer-Policy, Permissions-Policy,
// X-Frame-Options, Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy; when secure
// (served over HTTPS), Strict-Transport-Security too. A handler may still change a header.
func SecurityHeaders(next http.Handler, secure bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", permissionsPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
