package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnet-sante/carnet/internal/keys"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a running `carnet` process, inside the test.
type server struct {
	url    string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start runs `carnet <args> --addr 127.0.0.1:0` with the environment env and waits until it
// serves.
func start(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	getenv := func(k string) string { return env[k] }
	go func() {
		if !slices.Contains(args, "--addr") {
			args = append(args, "--addr", "127.0.0.1:0")
		}
		s.done <- run(ctx, append([]string{"carnet"}, args...), getenv, strings.NewReader(""), io.Discard, s.stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			cancel()
			t.Fatalf("carnet exited early: %v\n%s", err, s.stderr)
		default:
		}
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "carnet serving" {
				s.url = "http://" + rec.Addr
			}
		}
		if s.url != "" {
			if resp, err := http.Get(s.url + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					t.Cleanup(func() { s.stop(t) })
					return s
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	t.Fatalf("carnet did not start:\n%s", s.stderr)
	return nil
}

// stop asks for a graceful shutdown, as SIGTERM does, and checks that run returns cleanly.
func (s *server) stop(t *testing.T) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("no shutdown within 20 s")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeDemo(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	s := start(t, env, "serve", "--demo")
	if code, body := get(t, s.url+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz: %d %s", code, body)
	}
	if code, _ := get(t, s.url+"/readyz"); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	code, body := get(t, s.url+"/etat")
	if code != 200 || !strings.Contains(body, "4 espaces santé") || !strings.Contains(body, "6 professionnels") {
		t.Errorf("home: %d %s", code, body)
	}
	if _, metrics := get(t, s.url+"/metrics"); !strings.Contains(metrics, `carnet_http_requests_total{code="200",route="GET /healthz"}`) ||
		!strings.Contains(metrics, `carnet_policy_decisions_total{action="document.deposit",outcome="allow"}`) {
		t.Errorf("metrics lack Carnet's series:\n%s", metrics)
	}
	// The outbox worker delivered the demo's notifications (first accesses, actions) to the
	// development mailbox.
	deadline := time.Now().Add(10 * time.Second)
	var mails []os.DirEntry
	for time.Now().Before(deadline) {
		mails, _ = os.ReadDir(filepath.Join(data, "mail"))
		if len(mails) >= 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(mails) < 3 {
		t.Errorf("%d notification emails delivered", len(mails))
	}
	s.stop(t)

	// Nothing readable at rest: no document body or title, no NIR, in the database or blobs.
	secrets := []string{"Document de démonstration", "Bilan sanguin annuel", "Radiographie du genou", "Penser à refaire",
		"hypertension", "pénicilline", "Amlodipine", DemoMarieNIR, nirWithKey("1521169123045"), nirWithKey("290012A004015"),
		"Paul Dupont", "conjoint"}
	filepath.Walk(data, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q in clear", p, secret)
			}
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", p, fi.Mode().Perm())
		}
		return nil
	})

	// A second start reuses the data and the key and loads the demo only once.
	s2 := start(t, env, "serve", "--demo")
	if _, body := get(t, s2.url+"/etat"); !strings.Contains(body, "4 espaces santé") {
		t.Errorf("after restart: %s", body)
	}
	s2.stop(t)
}

// TestRefusesWrongOrMissingKey: the server never starts with a wrong master key, and never
// creates a new key over a database that holds encrypted data.
func TestRefusesWrongOrMissingKey(t *testing.T) {
	data := t.TempDir()
	s := start(t, map[string]string{"CARNET_DATA": data}, "serve")
	s.stop(t)
	keyFile := filepath.Join(data, "master.key")
	original, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := keys.GenerateMasterKey()
	runOnce := func(env map[string]string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return run(ctx, []string{"carnet", "serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] },
			strings.NewReader(""), io.Discard, io.Discard)
	}
	err = runOnce(map[string]string{"CARNET_DATA": data, "CARNET_MASTER_KEY": other.Encode()})
	if err == nil || !strings.Contains(err.Error(), "clé maîtresse") {
		t.Errorf("wrong key from environment: %v", err)
	}
	err = runOnce(map[string]string{"CARNET_DATA": data, "CARNET_MASTER_KEY": "pas une clé"})
	if err == nil || !strings.Contains(err.Error(), "CARNET_MASTER_KEY") {
		t.Errorf("malformed key: %v", err)
	}
	os.Rename(keyFile, keyFile+".moved")
	err = runOnce(map[string]string{"CARNET_DATA": data})
	if err == nil || !strings.Contains(err.Error(), "introuvable") {
		t.Errorf("missing key: %v", err)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("a new key was created over encrypted data")
	}
	os.Rename(keyFile+".moved", keyFile)
	os.WriteFile(keyFile, []byte(other.Encode()), 0o600)
	err = runOnce(map[string]string{"CARNET_DATA": data})
	if err == nil || !strings.Contains(err.Error(), "clé maîtresse") {
		t.Errorf("wrong key file: %v", err)
	}
	if b, _ := os.ReadFile(keyFile); string(b) != other.Encode() {
		t.Error("key file was overwritten")
	}
	os.WriteFile(keyFile, original, 0o600)
	s = start(t, map[string]string{"CARNET_DATA": data}, "serve")
	s.stop(t)
}

// TestKeysRotate rotates the master key of a demo world with the CLI, then serves it.
func TestKeysRotate(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	s := start(t, env, "serve", "--demo")
	s.stop(t)
	before, _ := keys.ReadKeyFile(filepath.Join(data, "master.key"))
	var out bytes.Buffer
	err := run(context.Background(), []string{"carnet", "keys", "rotate"}, func(k string) string { return env[k] }, nil, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "4 clés de patients rechiffrées") {
		t.Errorf("output: %s", out.String())
	}
	after, err := keys.ReadKeyFile(filepath.Join(data, "master.key"))
	if err != nil || after.ID() == before.ID() {
		t.Fatalf("key not replaced: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "master.key.retired-"+before.ID())); err != nil {
		t.Errorf("old key not kept: %v", err)
	}
	s = start(t, env, "serve", "--demo")
	if _, body := get(t, s.url+"/etat"); !strings.Contains(body, "8 documents") {
		t.Errorf("after rotation: %s", body)
	}
	s.stop(t)
}

func TestGridCommands(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	getenv := func(k string) string { return env[k] }
	var shown bytes.Buffer
	if err := run(context.Background(), []string{"carnet", "grid", "show"}, getenv, nil, &shown, io.Discard); err != nil {
		t.Fatal(err)
	}
	// A new version that lets the kinésithérapeute read lab results too.
	edited := strings.Replace(shown.String(), "version,2023-10-26.1", "version,test-2026-11", 1)
	if !strings.Contains(edited, "\n70,,11502-2,deny") {
		t.Fatalf("grid show lacks the kiné's lab row:\n%s", edited)
	}
	edited = strings.Replace(edited, "\n70,,11502-2,deny", "\n70,,11502-2,allow", 1)
	file := filepath.Join(t.TempDir(), "grid.csv")
	os.WriteFile(file, []byte(edited), 0o600)
	var diff bytes.Buffer
	if err := run(context.Background(), []string{"carnet", "grid", "diff", file}, getenv, nil, &diff, io.Discard); err != nil {
		t.Fatalf("diff: %v", err)
	}
	if !strings.Contains(diff.String(), "test-2026-11") || !strings.Contains(diff.String(), "1 changement") {
		t.Errorf("diff output: %s", diff.String())
	}
	var load bytes.Buffer
	if err := run(context.Background(), []string{"carnet", "grid", "load", file}, getenv, nil, &load, io.Discard); err != nil {
		t.Fatalf("load: %v", err)
	}
	var after bytes.Buffer
	run(context.Background(), []string{"carnet", "grid", "show"}, getenv, nil, &after, io.Discard)
	if !strings.Contains(after.String(), "test-2026-11") {
		t.Errorf("loaded grid not in force: %s", after.String()[:200])
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("version,x\n99,,11488-4,lecture\n"), 0o600)
	if err := run(context.Background(), []string{"carnet", "grid", "load", bad}, getenv, nil, io.Discard, io.Discard); err == nil {
		t.Error("bad grid loaded")
	}
}
