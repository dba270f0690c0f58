package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/store/postgres/pgtest"
)

// TestServeOnPostgreSQLAndS3 runs the whole program on the scale-out adapters: PostgreSQL for the
// store and, when a MinIO server is configured (scripts/minio.sh; required under CI=true), S3 for
// the encrypted bodies. The demo loads, the API answers, and a restart reuses everything.
func TestServeOnPostgreSQLAndS3(t *testing.T) {
	env := map[string]string{"CARNET_DATA": t.TempDir(), "CARNET_DATABASE_URL": pgtest.NewDatabase(t)}
	if ep := os.Getenv("CARNET_TEST_S3_ENDPOINT"); ep != "" {
		var b [4]byte
		rand.Read(b[:])
		env["CARNET_S3_ENDPOINT"] = ep
		env["CARNET_S3_ACCESS_KEY"] = os.Getenv("CARNET_TEST_S3_ACCESS_KEY")
		env["CARNET_S3_SECRET_KEY"] = os.Getenv("CARNET_TEST_S3_SECRET_KEY")
		env["CARNET_S3_BUCKET"] = "carnet-cmd-test-" + hex.EncodeToString(b[:])
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CARNET_TEST_S3_ENDPOINT is not set: run scripts/minio.sh (CI does)")
	} else {
		t.Log("no MinIO configured: bodies on the filesystem, store on PostgreSQL")
	}
	s := start(t, env, "serve", "--demo")
	if _, body := get(t, s.url+"/etat"); !strings.Contains(body, "4 espaces santé") || !strings.Contains(body, "8 documents") {
		t.Fatalf("home on PostgreSQL: %s", body)
	}
	doctor := apiClient{t, s.url, issueToken(t, env, rppsWithLuhn("1000123456"))}
	pid := doctor.json("GET", "/api/v1/patients?ins="+DemoMarieNIR, nil, 200)["id"].(string)
	docs := doctor.json("GET", "/api/v1/patients/"+pid+"/documents", nil, 200)["documents"].([]any)
	if len(docs) == 0 {
		t.Fatal("no document")
	}
	id := docs[0].(map[string]any)["id"].(string)
	if resp, b := doctor.do("GET", "/api/v1/patients/"+pid+"/documents/"+id+"/content", "", nil); resp.StatusCode != 200 || len(b) == 0 {
		t.Errorf("content from %s: %d", env["CARNET_S3_ENDPOINT"], resp.StatusCode)
	}
	s.stop(t)
	s2 := start(t, env, "serve", "--demo")
	if _, body := get(t, s2.url+"/etat"); !strings.Contains(body, "4 espaces santé") {
		t.Errorf("after restart: %s", body)
	}
}

// TestAppendBatchSetting: CARNET_PG_APPEND_BATCH takes a positive integer and refuses anything
// else before connecting; 1 (no batching) and a size both open the store.
func TestAppendBatchSetting(t *testing.T) {
	for _, bad := range []string{"0", "-3", "beaucoup"} {
		e := &env{getenv: func(k string) string {
			return map[string]string{"CARNET_DATABASE_URL": "host=127.0.0.1 port=1", "CARNET_PG_APPEND_BATCH": bad}[k]
		}, log: slog.New(slog.DiscardHandler)}
		_, err := e.openStore(context.Background(), t.TempDir())
		if carnet.ErrorCode(err) != carnet.EINVALID || !strings.Contains(err.Error(), "CARNET_PG_APPEND_BATCH") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	url := pgtest.NewDatabase(t)
	for _, good := range []string{"1", "16"} {
		e := &env{getenv: func(k string) string {
			return map[string]string{"CARNET_DATABASE_URL": url, "CARNET_PG_APPEND_BATCH": good}[k]
		}, log: slog.New(slog.DiscardHandler)}
		s, err := e.openStore(context.Background(), t.TempDir())
		if err != nil {
			t.Fatalf("%q: %v", good, err)
		}
		s.Close()
	}
}
