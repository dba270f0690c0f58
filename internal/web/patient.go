package web

import "net/http"

// patientRoutes registers the signed-in patient's pages.
func (a *App) patientRoutes(mux *http.ServeMux) {
	mux.Handle("GET /espace", a.patient(a.home))
}

// home is the patient's home page.
func (a *App) home(w http.ResponseWriter, r *Request) {
	a.render(w, r.Request, http.StatusOK, "espace", map[string]any{"Name": r.Session.Patient.DisplayName(), "CSRF": r.Session.CSRF})
}
