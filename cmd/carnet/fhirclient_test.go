package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFHIRClientKit drives the FHIR facade with fhir-kit-client (npm), a FHIR client this project
// did not write: create, search, read, replace, and a read the policy refuses. It needs Node and
// `npm ci --prefix tests/fhirclient` (which .ci/run does); without them it skips, except under
// CI=true.
func TestFHIRClientKit(t *testing.T) {
	dir, _ := filepath.Abs("../../tests/fhirclient")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "fhir-kit-client"))
	}
	if err != nil {
		msg := "fhir-kit-client test needs node and `npm ci --prefix tests/fhirclient`: " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	s := start(t, env, "serve", "--demo")
	doctor := apiClient{t, s.url, issueToken(t, env, rppsWithLuhn("1000123456"))}
	kineTok := issueToken(t, env, rppsWithLuhn("1000345678"))
	kine := apiClient{t, s.url, kineTok}
	pid := doctor.json("GET", "/api/v1/patients?ins="+DemoMarieNIR, nil, 200)["id"].(string)
	kine.json("POST", "/api/v1/patients/"+pid+"/consents", map[string]any{"kind": "oral"}, 201)

	cmd := exec.Command(node, "run.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CARNET_FHIR_URL="+s.url+"/fhir", "CARNET_TOKEN="+doctor.token,
		"CARNET_TOKEN_DENIED="+kineTok, "CARNET_PATIENT="+pid)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("fhir-kit-client: %v\n%s%s", err, out.String(), errb.String())
	}
	var res struct {
		Metadata, Created, Replaced string
		Denied                      int
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &res); err != nil || res.Denied != 403 || res.Created == "" || res.Replaced == "" {
		t.Fatalf("results: %v %q", err, out.String())
	}
	// The refused read is in the patient's history.
	s.stop(t)
	var found bool
	forEachEvent(t, data, pid, func(action, actor, decision, target string) {
		found = found || (action == "document.read" && decision == "deny" && target == res.Replaced)
	})
	if !found {
		t.Error("the refused FHIR read is not in the audit log")
	}
}
