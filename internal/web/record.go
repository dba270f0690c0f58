package web

import "net/http"

// recordRoutes registers the patient's medical profile, wishes, settings, history, children and
// export pages.
func (a *App) recordRoutes(mux *http.ServeMux) {}
