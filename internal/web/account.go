package web

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
	qrcode "github.com/skip2/go-qrcode"
)

// The pages of a patient's account: activation, opposition, sign-in with a second factor,
// security settings (authenticator app, passkeys, log out everywhere), closing and reopening.

func (a *App) accountRoutes(mux *http.ServeMux) {
	mux.Handle("GET /activer", a.form(a.activateStart))
	mux.Handle("POST /activer", a.form(a.activateStart))
	mux.Handle("GET /activer/identifiants", a.form(a.activateCredentials))
	mux.Handle("POST /activer/identifiants", a.form(a.activateCredentials))
	mux.Handle("GET /activer/confirmation", a.form(a.activateConfirm))
	mux.Handle("POST /activer/confirmation", a.form(a.activateConfirm))
	mux.Handle("GET /opposition", a.form(a.oppose))
	mux.Handle("POST /opposition", a.form(a.oppose))
	mux.Handle("GET /connexion", a.form(a.login))
	mux.Handle("POST /connexion", a.form(a.login))
	mux.Handle("GET /connexion/code", a.form(a.loginCode))
	mux.Handle("POST /connexion/code", a.form(a.loginCode))
	mux.Handle("POST /connexion/code/renvoyer", a.form(a.loginResend))
	mux.Handle("GET /connexion/totp", a.form(a.loginTOTP))
	mux.Handle("POST /connexion/totp", a.form(a.loginTOTP))
	mux.Handle("POST /connexion/cle/options", a.form(a.loginPasskeyOptions))
	mux.Handle("POST /connexion/cle", a.form(a.loginPasskey))
	mux.Handle("POST /deconnexion", a.form(a.logout))

	mux.Handle("GET /espace/securite", a.patient(a.security))
	mux.Handle("POST /espace/securite/totp", a.patient(a.securityTOTP))
	mux.Handle("POST /espace/securite/totp/confirmer", a.patient(a.securityTOTPConfirm))
	mux.Handle("POST /espace/securite/cle/options", a.patient(a.securityPasskeyOptions))
	mux.Handle("POST /espace/securite/cle", a.patient(a.securityPasskey))
	mux.Handle("POST /espace/securite/deconnexion-partout", a.patient(a.logoutEverywhere))
	mux.Handle("GET /espace/fermeture", a.patient(a.closing))
	mux.Handle("POST /espace/fermeture", a.patient(a.closeSpace))
	mux.Handle("POST /espace/fermeture/rouvrir", a.patient(a.reopen))
	mux.Handle("GET /espace/enfants/{enfant}/fermeture", a.patient(a.closing))
	mux.Handle("POST /espace/enfants/{enfant}/fermeture", a.patient(a.closeSpace))
}

func (a *App) activateStart(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		a.render(w, r, http.StatusOK, "activer", a.formPage(w, r, nil))
		return
	}
	tok, err := a.svc.BeginActivation(r.Context(), service.ActivationCheck{NIR: r.PostFormValue("nir"),
		Code: r.PostFormValue("code"), VitaleSerial: r.PostFormValue("vitale")}, client(r))
	if err != nil {
		a.render(w, r, statusOf(err), "activer", a.formPage(w, r, err))
		return
	}
	a.setSession(w, tok)
	http.Redirect(w, r, "/activer/identifiants", http.StatusSeeOther)
}

func (a *App) activateCredentials(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		a.render(w, r, http.StatusOK, "activer-identifiants", a.formPage(w, r, nil))
		return
	}
	err := a.svc.SetCredentials(r.Context(), a.sessionToken(r), service.Credentials{Login: r.PostFormValue("identifiant"),
		Password: r.PostFormValue("motdepasse"), Channel: r.PostFormValue("canal"), Contact: r.PostFormValue("contact")})
	if err != nil {
		a.render(w, r, statusOf(err), "activer-identifiants", a.formPage(w, r, err, "identifiant", "canal", "contact"))
		return
	}
	http.Redirect(w, r, "/activer/confirmation", http.StatusSeeOther)
}

func (a *App) activateConfirm(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		a.render(w, r, http.StatusOK, "activer-confirmation", a.formPage(w, r, nil))
		return
	}
	if err := a.svc.ConfirmContact(r.Context(), a.sessionToken(r), r.PostFormValue("code"), client(r)); err != nil {
		a.render(w, r, statusOf(err), "activer-confirmation", a.formPage(w, r, err))
		return
	}
	http.Redirect(w, r, "/espace", http.StatusSeeOther)
}

func (a *App) oppose(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		a.render(w, r, http.StatusOK, "opposition", a.formPage(w, r, nil))
		return
	}
	err := a.svc.Oppose(r.Context(), service.ActivationCheck{NIR: r.PostFormValue("nir"), Code: r.PostFormValue("code")}, client(r))
	if err != nil {
		a.render(w, r, statusOf(err), "opposition", a.formPage(w, r, err))
		return
	}
	p := a.formPage(w, r, nil)
	p.Extra = true // done
	a.render(w, r, http.StatusOK, "opposition", p)
}

// loginView is the data of the second-factor pages.
type loginView struct {
	formPage
	CodeTo  string
	Factors map[string]bool
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		if _, err := a.svc.Authenticate(r.Context(), a.sessionToken(r)); err == nil {
			http.Redirect(w, r, "/espace", http.StatusSeeOther)
			return
		}
		a.render(w, r, http.StatusOK, "connexion", a.formPage(w, r, nil))
		return
	}
	step, err := a.svc.Login(r.Context(), r.PostFormValue("identifiant"), r.PostFormValue("motdepasse"), client(r))
	if err != nil {
		a.render(w, r, statusOf(err), "connexion", a.formPage(w, r, err, "identifiant"))
		return
	}
	a.setSession(w, step.Token)
	a.setCookie(w, "carnet-code-to", step.CodeTo, 600)
	target := "/connexion/code"
	for _, f := range step.Factors {
		if f == carnet.FactorTOTP {
			target = "/connexion/totp"
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (a *App) loginCode(w http.ResponseWriter, r *http.Request) {
	v := loginView{formPage: a.formPage(w, r, nil)}
	if c, err := r.Cookie("carnet-code-to"); err == nil {
		v.CodeTo = c.Value
	}
	if r.Method == http.MethodGet {
		a.render(w, r, http.StatusOK, "connexion-code", v)
		return
	}
	if err := a.svc.VerifyLoginCode(r.Context(), a.sessionToken(r), r.PostFormValue("code"), client(r)); err != nil {
		v.formPage = a.formPage(w, r, err)
		a.render(w, r, statusOf(err), "connexion-code", v)
		return
	}
	a.setCookie(w, "carnet-code-to", "", -1)
	http.Redirect(w, r, "/espace", http.StatusSeeOther)
}

func (a *App) loginResend(w http.ResponseWriter, r *http.Request) {
	to, err := a.svc.SendLoginCode(r.Context(), a.sessionToken(r), client(r))
	v := loginView{formPage: a.formPage(w, r, err), CodeTo: to}
	if err != nil {
		a.render(w, r, statusOf(err), "connexion-code", v)
		return
	}
	a.setCookie(w, "carnet-code-to", to, 600)
	a.render(w, r, http.StatusOK, "connexion-code", v)
}

func (a *App) loginTOTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		a.render(w, r, http.StatusOK, "connexion-totp", a.formPage(w, r, nil))
		return
	}
	if err := a.svc.VerifyLoginTOTP(r.Context(), a.sessionToken(r), r.PostFormValue("code"), client(r)); err != nil {
		a.render(w, r, statusOf(err), "connexion-totp", a.formPage(w, r, err))
		return
	}
	http.Redirect(w, r, "/espace", http.StatusSeeOther)
}

// The passkey ceremonies are driven by static/carnet/passkey.js, which posts JSON.
func (a *App) loginPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	opts, err := a.svc.BeginPasskeyLogin(r.Context(), a.sessionToken(r))
	jsonReply(w, opts, err)
}

func (a *App) loginPasskey(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = a.svc.FinishPasskeyLogin(r.Context(), a.sessionToken(r), body, client(r))
	}
	jsonReply(w, []byte(`{"next":"/espace"}`), err)
}

func jsonReply(w http.ResponseWriter, body []byte, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		st, ok := errorStatus[carnet.ErrorCode(err)]
		if !ok {
			st = http.StatusInternalServerError
		}
		w.WriteHeader(st)
		msg := carnet.ErrorMessage(err)
		if !ok {
			msg = "erreur interne"
		}
		b, _ := json.Marshal(map[string]string{"error": msg})
		w.Write(b)
		return
	}
	w.Write(body)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	_ = a.svc.Logout(r.Context(), a.sessionToken(r))
	a.clearSession(w)
	http.Redirect(w, r, "/connexion?deconnecte=1", http.StatusSeeOther)
}

// securityView is the data of the security settings page.
type securityView struct {
	CSRF       string
	Error      string
	Done       string
	TOTPSecret string
	TOTPQR     string // data: URL of the QR code
}

func (a *App) security(w http.ResponseWriter, r *Request) {
	a.render(w, r.Request, http.StatusOK, "securite", securityView{CSRF: r.Session.CSRF, Done: r.URL.Query().Get("fait")})
}

func (a *App) securityTOTP(w http.ResponseWriter, r *Request) {
	secret, url, err := a.svc.StartTOTP(r.Context(), r.Token)
	v := securityView{CSRF: r.Session.CSRF}
	if err != nil {
		v.Error = carnet.ErrorMessage(err)
		a.render(w, r.Request, statusOf(err), "securite", v)
		return
	}
	v.TOTPSecret = secret
	if png, err := qrcode.Encode(url, qrcode.Medium, 240); err == nil {
		v.TOTPQR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	a.render(w, r.Request, http.StatusOK, "securite", v)
}

func (a *App) securityTOTPConfirm(w http.ResponseWriter, r *Request) {
	if err := a.svc.ConfirmTOTP(r.Context(), r.Token, r.PostFormValue("code")); err != nil {
		a.render(w, r.Request, statusOf(err), "securite", securityView{CSRF: r.Session.CSRF, Error: carnet.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r.Request, "/espace/securite?fait=totp", http.StatusSeeOther)
}

func (a *App) securityPasskeyOptions(w http.ResponseWriter, r *Request) {
	opts, err := a.svc.BeginPasskeyRegistration(r.Context(), r.Token)
	jsonReply(w, opts, err)
}

func (a *App) securityPasskey(w http.ResponseWriter, r *Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = a.svc.FinishPasskeyRegistration(r.Context(), r.Token, body, r.URL.Query().Get("nom"))
	}
	jsonReply(w, []byte(`{"next":"/espace/securite?fait=cle"}`), err)
}

func (a *App) logoutEverywhere(w http.ResponseWriter, r *Request) {
	if _, err := a.svc.LogoutEverywhere(r.Context(), r.Session.Actor); err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	a.clearSession(w)
	http.Redirect(w, r.Request, "/connexion?deconnecte=partout", http.StatusSeeOther)
}

// closingView is the data of the closing page.
type closingView struct {
	CSRF   string
	Closed bool
	Child  *carnet.Patient
	Error  string
}

func (a *App) closing(w http.ResponseWriter, r *Request) {
	a.render(w, r.Request, http.StatusOK, "fermeture", closingView{CSRF: r.Session.CSRF, Closed: r.Session.Closed && r.Child == nil, Child: r.Child})
}

func (a *App) closeSpace(w http.ResponseWriter, r *Request) {
	if r.PostFormValue("confirmation") != "oui" {
		a.render(w, r.Request, http.StatusBadRequest, "fermeture", closingView{CSRF: r.Session.CSRF, Child: r.Child,
			Error: "Cochez la case de confirmation pour fermer l'espace santé."})
		return
	}
	if err := a.svc.CloseSpace(r.Context(), r.Actor, r.PatientID, r.PostFormValue("detruire") == "oui"); err != nil {
		a.render(w, r.Request, statusOf(err), "fermeture", closingView{CSRF: r.Session.CSRF, Child: r.Child, Error: carnet.ErrorMessage(err)})
		return
	}
	if r.Child != nil {
		http.Redirect(w, r.Request, "/espace/enfants", http.StatusSeeOther)
		return
	}
	a.clearSession(w)
	http.Redirect(w, r.Request, "/connexion?deconnecte=fermeture", http.StatusSeeOther)
}

func (a *App) reopen(w http.ResponseWriter, r *Request) {
	if err := a.svc.ReopenSpace(r.Context(), r.Actor, r.PatientID); err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	http.Redirect(w, r.Request, "/espace", http.StatusSeeOther)
}
