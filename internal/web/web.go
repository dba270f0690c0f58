// Package web is Carnet's portal: server-rendered pages (html/template) built with the French
// State Design System (DSFR), whose files are embedded, so the binary needs nothing else at run
// time. routes.go lists the routes; Site renders pages and serves /static/.
//
// The pages follow a strict Content-Security-Policy (see SecurityHeaders): no inline script, no
// inline style, no style attribute, nothing from another origin. They work without JavaScript;
// the DSFR script and htmx only enhance them.
//
// The files under static/dsfr and static/htmx, static/VERSIONS and browsertest/axe.min.js are
// copied from npm packages by scripts/web-assets.sh (versions pinned in web/package.json); do not
// edit them. static/carnet holds Carnet's own CSS and JavaScript.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

//go:embed static
var staticFS embed.FS

//go:embed templates
var templateFS embed.FS

// Options configure a Site.
type Options struct {
	// Logger receives the errors that pages cannot show (template failures, internal
	// errors). Nil discards them.
	Logger *slog.Logger
	// Secure says that the site is served over HTTPS: Handler then sends
	// Strict-Transport-Security.
	Secure bool
}

// Site renders Carnet's pages and serves their static files. It is safe for concurrent use.
type Site struct {
	log    *slog.Logger
	secure bool
	static *staticFiles
	pages  map[string]*template.Template
}

// View is what a page template receives: the page's own data in .Data, and what the layout
// needs.
type View struct {
	Page   string // the page's name, e.g. "accueil"
	Path   string // the request's path, e.g. to mark the current link with aria-current
	Status int    // the response's status code
	Data   any    // the page's data, as given to Render
	User   *UserView
}

// UserView is the signed-in person, for the header of every page: their name, the CSRF token
// of the "se déconnecter" form, and the emergency mode of a professional's session.
type UserView struct {
	Name         string
	CSRF         string
	Professional bool
	Mode         string // "" or the French label of an emergency mode
}

type userCtxKey struct{}

// WithUser returns a request context that carries the signed-in person for the layout.
func WithUser(ctx context.Context, u *UserView) context.Context {
	return context.WithValue(ctx, userCtxKey{}, u)
}

// New parses every template and indexes the static files; an error means a broken template or
// asset, and the server must not start.
func New(o Options) (*Site, error) {
	s := &Site{log: o.Logger, secure: o.Secure}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	st, err := newStaticFiles(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s.static = st
	if s.pages, err = parsePages(templateFS, template.FuncMap{"asset": st.url}); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return s, nil
}

// parsePages parses the layout and the partials once, then, for each templates/pages/NAME.html,
// a clone of them with that page's definitions.
func parsePages(fsys fs.FS, funcs template.FuncMap) (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(fsys, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(files))
	for _, f := range files {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if t, err = t.ParseFS(fsys, f); err != nil {
			return nil, err
		}
		for _, name := range []string{"title", "content"} {
			if t.Lookup(name) == nil {
				return nil, fmt.Errorf("%s does not define %q", f, name)
			}
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	if pages["erreur"] == nil {
		return nil, errors.New("no templates/pages/erreur.html")
	}
	return pages, nil
}

// Render writes the page named page (templates/pages/<page>.html) with status and data (the
// template's .Data). The page is rendered into a buffer first, so a template error never
// leaves half a page: it is logged and the user gets the error page. Pages are never cached
// (Cache-Control: no-store), as they may hold health data.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t, ok := s.pages[page]
	if !ok {
		s.log.Error("web: no such page", "page", page, "route", r.Pattern)
		s.renderError(w, r, http.StatusInternalServerError, errorFor(http.StatusInternalServerError, ""))
		return
	}
	var buf bytes.Buffer
	v := View{Page: page, Path: r.URL.Path, Status: status, Data: data}
	v.User, _ = r.Context().Value(userCtxKey{}).(*UserView)
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("web: render", "page", page, "route", r.Pattern, "err", err)
		if page != "erreur" {
			s.renderError(w, r, http.StatusInternalServerError, errorFor(http.StatusInternalServerError, ""))
			return
		}
		http.Error(w, "Erreur interne", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = buf.WriteTo(w)
	}
}

// errorPage is the data of the error page.
type errorPage struct {
	Title   string
	Message string
	Detail  string
}

// errorFor returns the error page's texts for status; message, when not empty, replaces the
// generic one.
func errorFor(status int, message string) errorPage {
	p := errorPage{Title: "Erreur inattendue",
		Message: "Désolé, le service rencontre un problème. Nous travaillons à le résoudre le plus rapidement possible.",
		Detail:  "Essayez de rafraîchir la page ou réessayez un peu plus tard."}
	switch status {
	case http.StatusBadRequest:
		p = errorPage{Title: "Requête invalide", Message: "La demande n’a pas pu être traitée."}
	case http.StatusUnauthorized:
		p = errorPage{Title: "Connexion requise", Message: "Connectez-vous pour accéder à cette page."}
	case http.StatusForbidden:
		p = errorPage{Title: "Accès refusé", Message: "Vous n’avez pas accès à cette page."}
	case http.StatusNotFound:
		p = errorPage{Title: "Page non trouvée",
			Message: "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée.",
			Detail:  "Si vous avez tapé l’adresse web dans le navigateur, vérifiez qu’elle est correcte. La page n’est peut-être plus disponible."}
	case http.StatusMethodNotAllowed:
		p = errorPage{Title: "Requête invalide", Message: "Cette adresse n’accepte pas ce type de requête."}
	case http.StatusConflict:
		p = errorPage{Title: "Conflit", Message: "L’opération est en conflit avec l’état actuel de vos données."}
	case http.StatusRequestEntityTooLarge:
		p = errorPage{Title: "Contenu trop volumineux", Message: "Le contenu envoyé dépasse la taille autorisée."}
	case http.StatusTooManyRequests:
		p = errorPage{Title: "Trop de tentatives", Message: "Trop de tentatives : réessayez plus tard."}
	case http.StatusServiceUnavailable:
		p = errorPage{Title: "Service indisponible", Message: "Le service est momentanément indisponible.",
			Detail: "Réessayez dans quelques instants."}
	}
	if message != "" {
		p.Message = message
	}
	return p
}

// errorStatus maps Carnet's error codes to HTTP statuses, as the JSON API does.
var errorStatus = map[string]int{
	carnet.EINVALID:      http.StatusBadRequest,
	carnet.ENOTFOUND:     http.StatusNotFound,
	carnet.EFORBIDDEN:    http.StatusForbidden,
	carnet.EUNAUTHORIZED: http.StatusUnauthorized,
	carnet.ECONFLICT:     http.StatusConflict,
	carnet.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	carnet.ERATELIMIT:    http.StatusTooManyRequests,
	carnet.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// Error answers with the error page for err: its status comes from its code and its text from
// carnet.ErrorMessage. An internal error (or one of integrity or keys) shows a generic text and
// is logged, with its cause, for us.
func (s *Site) Error(w http.ResponseWriter, r *http.Request, err error) {
	status, ok := errorStatus[carnet.ErrorCode(err)]
	if !ok {
		s.log.Error("web: internal error", "route", r.Pattern, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, errorFor(http.StatusInternalServerError, ""))
		return
	}
	if status == http.StatusServiceUnavailable {
		s.log.Warn("web: unavailable", "route", r.Pattern, "err", err)
	}
	s.renderError(w, r, status, errorFor(status, capitalize(carnet.ErrorMessage(err))))
}

// NotFound answers with the "page non trouvée" page (404).
func (s *Site) NotFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, errorFor(http.StatusNotFound, ""))
}

func (s *Site) renderError(w http.ResponseWriter, r *http.Request, status int, p errorPage) {
	s.Render(w, r, status, "erreur", p)
}

// capitalize upper-cases the first letter of a message ("introuvable" → "Introuvable").
func capitalize(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(c)) + s[n:]
}

// Asset returns the URL of a static file, e.g. Asset("dsfr/dsfr.min.css"), with the version of
// the static files in its path, so that browsers may cache it for good. It panics if there is
// no such file: a page naming a missing asset is a bug (templates use the "asset" function,
// which fails the rendering instead).
func (s *Site) Asset(name string) string {
	u, err := s.static.url(name)
	if err != nil {
		panic(err)
	}
	return u
}
