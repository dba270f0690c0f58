package httpapi

import (
	"html/template"
	"net/http"
)

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Carnet — votre espace santé</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Carnet</h1>
<p>Le service d'espace santé est en marche (version {{.Version}}).</p>
<ul>
<li>{{.Stats.Patients}} espaces santé, {{.Stats.Professionals}} professionnels dans l'annuaire, {{.Stats.Documents}} documents chiffrés.</li>
<li>Santé du service : <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a>.</li>
</ul>
</main></body></html>`))

func (s *Server) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stats, err := s.svc.Stats(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		homePage.Execute(w, map[string]any{"Version": s.version, "Stats": stats})
	})
}
