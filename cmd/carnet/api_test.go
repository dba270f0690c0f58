package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// apiClient calls the running server with a bearer token.
type apiClient struct {
	t     *testing.T
	url   string
	token string
}

func (c apiClient) do(method, path, contentType string, body []byte) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

func (c apiClient) json(method, path string, in any, want int) map[string]any {
	c.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	resp, b := c.do(method, path, "application/json", body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func issueToken(t *testing.T, env map[string]string, rpps string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"carnet", "token", "--rpps", rpps}, func(k string) string { return env[k] }, nil, &out, io.Discard); err != nil {
		t.Fatalf("token: %v", err)
	}
	return strings.TrimSpace(out.String())
}

// TestProfessionalAPI drives the JSON API and the FHIR facade of a running server with real
// tokens: consent, search by INS, listing filtered by the grid, reading, depositing, bad input,
// emergency access with its mode stated, and a deactivated professional shut out.
func TestProfessionalAPI(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	s := start(t, env, "serve", "--demo")
	kineRPPS, nurseRPPS := rppsWithLuhn("1000345678"), rppsWithLuhn("1000567890")
	kine := apiClient{t, s.url, issueToken(t, env, kineRPPS)}
	nurse := apiClient{t, s.url, issueToken(t, env, nurseRPPS)}

	// No token, a bad token.
	resp, _ := apiClient{t, s.url, ""}.do("GET", "/api/v1/patients?ins="+DemoMarieNIR, "", nil)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp, _ := (apiClient{t, s.url, kine.token + "x"}).do("GET", "/api/v1/patients?ins="+DemoMarieNIR, "", nil); resp.StatusCode != 401 {
		t.Errorf("tampered token: %d", resp.StatusCode)
	}

	p := kine.json("GET", "/api/v1/patients?ins=urn:oid:1.2.250.1.213.1.4.8|"+DemoMarieNIR, nil, 200)
	pid := p["id"].(string)
	// Without consent, no listing.
	kine.json("GET", "/api/v1/patients/"+pid+"/documents", nil, 403)
	kine.json("POST", "/api/v1/patients/"+pid+"/consents", map[string]any{"kind": "oral"}, 201)
	list := kine.json("GET", "/api/v1/patients/"+pid+"/documents", nil, 200)
	docs := list["documents"].([]any)
	var labID string
	for _, d := range docs {
		if d.(map[string]any)["type_code"] == "11502-2" {
			t.Error("the kiné sees a lab report")
		}
	}
	if len(docs) == 0 {
		t.Fatal("the kiné sees no document")
	}
	// The médecin sees the lab report; the kiné asking for it directly is refused.
	doctor := apiClient{t, s.url, issueToken(t, env, rppsWithLuhn("1000123456"))}
	for _, d := range doctor.json("GET", "/api/v1/patients/"+pid+"/documents?type=11502-2", nil, 200)["documents"].([]any) {
		labID = d.(map[string]any)["id"].(string)
	}
	if labID == "" {
		t.Fatal("no lab report for the médecin")
	}
	if resp, b := kine.do("GET", "/api/v1/patients/"+pid+"/documents/"+labID+"/content", "", nil); resp.StatusCode != 403 || !strings.Contains(string(b), "grille") {
		t.Errorf("kiné reading a lab report: %d %s", resp.StatusCode, b)
	}
	first := docs[0].(map[string]any)
	resp, body := kine.do("GET", "/api/v1/patients/"+pid+"/documents/"+first["id"].(string)+"/content", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != first["media_type"] || len(body) == 0 {
		t.Errorf("content: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// Deposit, then bad deposits.
	pdf := demoPDF("Bilan kinésithérapique")
	dep := kine.json("POST", "/api/v1/patients/"+pid+"/documents", map[string]any{"type_code": "11488-4", "title": "Bilan kiné",
		"media_type": "application/pdf", "content": base64.StdEncoding.EncodeToString(pdf)}, 201)
	bad := []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"type_code": "0000-0", "title": "x", "media_type": "text/plain", "content": base64.StdEncoding.EncodeToString([]byte("x"))}, 400},
		{map[string]any{"type_code": "11488-4", "title": "x", "media_type": "application/pdf", "content": base64.StdEncoding.EncodeToString([]byte("pas un pdf"))}, 400},
		{map[string]any{"type_code": "11488-4", "title": "x", "media_type": "text/plain", "content": "%%%"}, 400},
		{map[string]any{"type_code": "11488-4", "title": "x", "media_type": "text/plain", "content": "", "extra": 1}, 400},
	}
	for _, b := range bad {
		kine.json("POST", "/api/v1/patients/"+pid+"/documents", b.body, b.want)
	}
	kine.json("POST", "/api/v1/patients/"+pid+"/documents/"+dep["id"].(string)+"/replace", map[string]any{"type_code": "11488-4",
		"title": "Bilan kiné v2", "media_type": "application/pdf", "content": base64.StdEncoding.EncodeToString(pdf)}, 201)
	kine.json("POST", "/api/v1/patients/"+pid+"/documents/"+dep["id"].(string)+"/replace", map[string]any{"type_code": "11488-4",
		"title": "encore", "media_type": "application/pdf", "content": base64.StdEncoding.EncodeToString(pdf)}, 409)
	kine.json("POST", "/api/v1/patients/"+pid+"/vaccinations", map[string]any{"label": "Tétanos", "date": "2026-11-01"}, 201)
	if v := kine.json("GET", "/api/v1/patients/"+pid+"/vaccinations", nil, 200)["vaccinations"].([]any); len(v) < 2 {
		t.Errorf("vaccinations: %v", v)
	}
	kine.json("GET", "/api/v1/patients/"+pid+"/wishes", nil, 200)

	// Emergency: the nurse has no consent; bris de glace opens access, and every response of the
	// session says so.
	nurse.json("GET", "/api/v1/patients/"+pid+"/documents", nil, 403)
	nurse.json("POST", "/api/v1/patients/"+pid+"/emergency", map[string]any{"mode": "bris_de_glace", "reason": ""}, 400)
	nurse.json("POST", "/api/v1/patients/"+pid+"/emergency", map[string]any{"mode": "bris_de_glace", "reason": "patiente inconsciente à domicile"}, 201)
	resp, _ = nurse.do("GET", "/api/v1/patients/"+pid+"/documents", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Carnet-Access-Mode") != "bris_de_glace" {
		t.Errorf("emergency listing: %d mode %q", resp.StatusCode, resp.Header.Get("X-Carnet-Access-Mode"))
	}

	// Centre 15: the SAMU regulating doctor reads, and only reads, with the mode stated.
	samu := apiClient{t, s.url, issueToken(t, env, rppsWithLuhn("1000678901"))}
	samu.json("POST", "/api/v1/patients/"+pid+"/emergency", map[string]any{"mode": "centre15", "reason": "appel au 15 pour douleur thoracique"}, 201)
	resp, _ = samu.do("GET", "/api/v1/patients/"+pid+"/documents", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Carnet-Access-Mode") != "centre15" {
		t.Errorf("centre 15 listing: %d mode %q", resp.StatusCode, resp.Header.Get("X-Carnet-Access-Mode"))
	}
	samu.json("POST", "/api/v1/patients/"+pid+"/documents", map[string]any{"type_code": "11488-4", "title": "x",
		"media_type": "application/pdf", "content": base64.StdEncoding.EncodeToString(pdf)}, 403)
	// A masseur-kinésithérapeute cannot open centre 15.
	kine.json("POST", "/api/v1/patients/"+pid+"/emergency", map[string]any{"mode": "centre15", "reason": "essai de régulation"}, 403)

	// FHIR.
	resp, b := kine.do("GET", "/fhir/metadata", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "CapabilityStatement") {
		t.Errorf("metadata: %d", resp.StatusCode)
	}
	resp, b = kine.do("GET", "/fhir/DocumentReference?patient=Patient/"+pid+"&type=http://loinc.org|11488-4", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"searchset"`) || !strings.Contains(string(b), "DocumentReference") {
		t.Errorf("FHIR search: %d %.300s", resp.StatusCode, b)
	}
	resp, b = kine.do("GET", "/fhir/DocumentReference/"+labID, "", nil)
	if resp.StatusCode != 403 || !strings.Contains(string(b), "OperationOutcome") {
		t.Errorf("FHIR denied read: %d %.300s", resp.StatusCode, b)
	}
	for _, raw := range []string{`{`, `{"resourceType":"Patient"}`, `{"resourceType":"DocumentReference","status":"current"}`} {
		resp, b = kine.do("POST", "/fhir/DocumentReference", "application/fhir+json", []byte(raw))
		if resp.StatusCode != 400 || !strings.Contains(string(b), "OperationOutcome") {
			t.Errorf("FHIR bad create %s: %d %.200s", raw, resp.StatusCode, b)
		}
	}

	// A deactivated professional loses access at once.
	file := filepath.Join(t.TempDir(), "rpps.txt")
	os.WriteFile(file, []byte("RPPS|profession|specialite|civilite|nom|prenom|structure|nom structure|actif\n"+
		kineRPPS+"|70||M.|Bernard|Sophie|750034567|Cabinet de kinésithérapie du Parc|non\n"), 0o600)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"carnet", "directory", "import", file}, func(k string) string { return env[k] }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 mis à jour") {
		t.Errorf("import: %s", out.String())
	}
	if resp, b := kine.do("GET", "/api/v1/patients/"+pid+"/documents", "", nil); resp.StatusCode != 403 || !strings.Contains(string(b), "annuaire") {
		t.Errorf("deactivated professional: %d %s", resp.StatusCode, b)
	}
	if resp, _ := kine.do("GET", "/api/v1/patients?ins="+DemoMarieNIR, "", nil); resp.StatusCode != 403 {
		t.Errorf("deactivated professional searching by INS: %d", resp.StatusCode)
	}
	// The OpenAPI document is served.
	resp, b = kine.do("GET", "/api/openapi.json", "", nil)
	var doc map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || doc["openapi"] != "3.0.3" {
		t.Errorf("openapi: %d", resp.StatusCode)
	}
}

// TestFHIRPatientRead: a professional with access reads the patient by ID (recorded); one
// without access is refused; an oversized attachment is refused with an OperationOutcome.
func TestFHIRPatientReadAndLimits(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	s := start(t, env, "serve", "--demo", "--max-body", "2048")
	doctor := apiClient{t, s.url, issueToken(t, env, rppsWithLuhn("1000123456"))}
	nurse := apiClient{t, s.url, issueToken(t, env, rppsWithLuhn("1000567890"))}
	pid := doctor.json("GET", "/api/v1/patients?ins="+DemoMarieNIR, nil, 200)["id"].(string)
	resp, b := doctor.do("GET", "/fhir/Patient/"+pid, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), DemoMarieNIR) {
		t.Errorf("doctor reads the patient: %d %.200s", resp.StatusCode, b)
	}
	if resp, b := nurse.do("GET", "/fhir/Patient/"+pid, "", nil); resp.StatusCode != 403 || !strings.Contains(string(b), "OperationOutcome") {
		t.Errorf("nurse without consent: %d %.200s", resp.StatusCode, b)
	}
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 4096))
	raw := `{"resourceType":"DocumentReference","status":"current","type":{"coding":[{"system":"http://loinc.org","code":"11488-4"}]},` +
		`"subject":{"reference":"Patient/` + pid + `"},"description":"Trop gros","content":[{"attachment":{"contentType":"text/plain","data":"` + big + `"}}]}`
	resp, b = doctor.do("POST", "/fhir/DocumentReference", "application/fhir+json", []byte(raw))
	if resp.StatusCode != 413 || !strings.Contains(string(b), "OperationOutcome") {
		t.Errorf("oversized attachment: %d %.200s", resp.StatusCode, b)
	}
	doctor.json("POST", "/api/v1/patients/"+pid+"/documents", map[string]any{"type_code": "11488-4", "title": "Trop gros",
		"media_type": "text/plain", "content": big}, 413)
	s.stop(t)
	var read int
	forEachEvent(t, data, pid, func(action, actor, decision, target string) {
		if action == "patient.read" && decision == "allow" {
			read++
		}
	})
	if read != 1 {
		t.Errorf("%d patient.read events", read)
	}
}

// TestFHIRTransactionWithBinary: an IHE MHD Provide Document Bundle (transaction: List,
// DocumentReference, Binary referenced by urn:uuid) deposits one document; the Binary is then
// readable by its ID.
func TestFHIRTransactionWithBinary(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	s := start(t, env, "serve", "--demo")
	doctor := apiClient{t, s.url, issueToken(t, env, rppsWithLuhn("1000123456"))}
	pid := doctor.json("GET", "/api/v1/patients?ins="+DemoMarieNIR, nil, 200)["id"].(string)
	content := base64.StdEncoding.EncodeToString([]byte("Compte rendu transmis en transaction."))
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:1c3b9a2e-0000-4000-8000-000000000001","resource":{"resourceType":"List","status":"current","mode":"working"},"request":{"method":"POST","url":"List"}},
	 {"fullUrl":"urn:uuid:1c3b9a2e-0000-4000-8000-000000000002","resource":{"resourceType":"DocumentReference","status":"current",
	   "type":{"coding":[{"system":"http://loinc.org","code":"11488-4"}]},"subject":{"reference":"Patient/` + pid + `"},
	   "description":"Compte rendu (MHD)","content":[{"attachment":{"contentType":"text/plain","url":"urn:uuid:1c3b9a2e-0000-4000-8000-000000000003"}}]},
	   "request":{"method":"POST","url":"DocumentReference"}},
	 {"fullUrl":"urn:uuid:1c3b9a2e-0000-4000-8000-000000000003","resource":{"resourceType":"Binary","contentType":"text/plain","data":"` + content + `"},
	   "request":{"method":"POST","url":"Binary"}}]}`
	resp, b := doctor.do("POST", "/fhir", "application/fhir+json", []byte(bundle))
	if resp.StatusCode != 200 || !strings.Contains(string(b), "transaction-response") {
		t.Fatalf("transaction: %d %s", resp.StatusCode, b)
	}
	var out struct {
		Entry []struct{ Response struct{ Location string } }
	}
	json.Unmarshal(b, &out)
	binLoc := out.Entry[1].Response.Location
	resp, b = doctor.do("GET", "/fhir/"+binLoc, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), content) {
		t.Errorf("Binary read: %d %.200s", resp.StatusCode, b)
	}
	// A transaction whose attachment points nowhere is refused, nothing stored.
	broken := strings.Replace(bundle, `"url":"urn:uuid:1c3b9a2e-0000-4000-8000-000000000003"`, `"url":"urn:uuid:00000000-0000-4000-8000-000000000009"`, 1)
	if resp, b := doctor.do("POST", "/fhir", "application/fhir+json", []byte(broken)); resp.StatusCode != 400 || !strings.Contains(string(b), "OperationOutcome") {
		t.Errorf("broken transaction: %d %.200s", resp.StatusCode, b)
	}
}

// TestPortalTokenIsNotAnAPIToken signs a professional in on the portal (demo sign-in) and
// presents the session cookie's token to the API: refused.
func TestPortalTokenIsNotAnAPIToken(t *testing.T) {
	env := map[string]string{"CARNET_DATA": t.TempDir(), "CARNET_INSECURE_COOKIES": "1"}
	s := start(t, env, "serve", "--demo")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.url + "/pro/connexion")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(page))
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page:\n%s", page)
	}
	resp, err = c.PostForm(s.url+"/pro/connexion/demo", url.Values{"csrf": {m[1]}, "rpps": {rppsWithLuhn("1000123456")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(s.url)
	token := ""
	for _, ck := range jar.Cookies(u) {
		if strings.Contains(ck.Name, "carnet-pro") {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatalf("no portal session cookie after the demo sign-in (status %d)", resp.StatusCode)
	}
	api := apiClient{t, s.url, token}
	if resp, body := api.do("GET", "/api/v1/patients?ins="+DemoMarieNIR, "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the API accepted a portal token: %d %s", resp.StatusCode, body)
	}
}
