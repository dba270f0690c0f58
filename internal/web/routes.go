package web

import "net/http"

// Register adds the portal's routes to mux; this file lists them all. Wrap the mux (or the
// server's handler) in SecurityHeaders.
func (s *Site) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.handleAccueil())
	mux.Handle("GET /static/", s.static)
	mux.Handle("GET /favicon.ico", s.handleFavicon())
}

// Handler returns the portal alone: its routes, the "page non trouvée" page for any other
// path, and SecurityHeaders (with Strict-Transport-Security when Options.Secure).
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	mux.HandleFunc("/", s.NotFound)
	return SecurityHeaders(mux, s.secure)
}

// routes lists the portal's pages: each area registers its own in the file that holds its
// handlers.
func (a *App) routes(mux *http.ServeMux) {
	a.site.Register(mux)
	a.accountRoutes(mux) // account.go: activation, opposition, sign-in, security, closing
	a.patientRoutes(mux) // patient.go: home, documents (and a child's, for a parent)
	a.recordRoutes(mux)  // record.go: medical profile, wishes, settings, history, children, export
	a.proRoutes(mux)     // pro.go: professionals without integrated software
}

// handleAccueil is the public landing page.
func (s *Site) handleAccueil() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Render(w, r, http.StatusOK, "accueil", nil)
	})
}

// handleFavicon answers /favicon.ico, which some browsers ask for whatever the page links.
func (s *Site) handleFavicon() http.Handler {
	const name = "dsfr/favicon/favicon.ico"
	f := s.static.files[name]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f == nil {
			http.NotFound(w, r)
			return
		}
		s.static.serve(w, r, name, f, "public, max-age=86400")
	})
}
