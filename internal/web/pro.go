package web

import "net/http"

// proRoutes registers the pages of professionals without integrated software.
func (a *App) proRoutes(mux *http.ServeMux) {
	if a.pro != nil {
		a.pro.Register(mux, a)
	}
}
