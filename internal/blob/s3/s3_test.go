package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob/blobtest"
	"github.com/minio/minio-go/v7"
)

// testConfig returns the server of the tests, from CARNET_TEST_S3_ENDPOINT,
// CARNET_TEST_S3_ACCESS_KEY, CARNET_TEST_S3_SECRET_KEY and optionally CARNET_TEST_S3_TLS=true and
// CARNET_TEST_S3_REGION, as printed by scripts/minio.sh. Without an endpoint the test is skipped,
// except under CI=true, where it fails.
func testConfig(t testing.TB) Config {
	t.Helper()
	endpoint := os.Getenv("CARNET_TEST_S3_ENDPOINT")
	if endpoint == "" {
		const msg = "CARNET_TEST_S3_ENDPOINT is not set: the S3 blob store tests need MinIO; " +
			`start it with eval "$(scripts/minio.sh)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cfg := Config{
		Endpoint:  endpoint,
		AccessKey: os.Getenv("CARNET_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("CARNET_TEST_S3_SECRET_KEY"),
		UseTLS:    os.Getenv("CARNET_TEST_S3_TLS") == "true",
		Region:    os.Getenv("CARNET_TEST_S3_REGION"),
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		t.Fatal("CARNET_TEST_S3_ENDPOINT is set but CARNET_TEST_S3_ACCESS_KEY or CARNET_TEST_S3_SECRET_KEY is not (see scripts/minio.sh)")
	}
	return cfg
}

// open returns a store on a new bucket, emptied and removed when the test ends.
func open(t testing.TB) *Store {
	t.Helper()
	cfg := testConfig(t)
	var b [6]byte
	rand.Read(b[:])
	cfg.Bucket = "carnet-test-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open(%s, bucket %s): %v", cfg.Endpoint, cfg.Bucket, err)
	}
	t.Cleanup(func() { removeBucket(t, s) })
	return s
}

func removeBucket(t testing.TB, s *Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	objects := s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true})
	for e := range s.client.RemoveObjects(ctx, s.bucket, objects, minio.RemoveObjectsOptions{}) {
		t.Logf("remove %s/%s: %v", s.bucket, e.ObjectName, e.Err)
	}
	if err := s.client.RemoveBucket(ctx, s.bucket); err != nil {
		t.Logf("remove bucket %s: %v", s.bucket, err)
	}
}

func TestConformance(t *testing.T) {
	testConfig(t) // skip or fail once, not in every subtest
	blobtest.Run(t, func(t *testing.T) carnet.BlobStore { return open(t) })
}

// Open creates a missing bucket and accepts an existing one.
func TestOpenExistingBucket(t *testing.T) {
	s := open(t)
	cfg := testConfig(t)
	cfg.Bucket = s.Bucket()
	again, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open on an existing bucket: %v", err)
	}
	if err := again.Put(context.Background(), "p/d", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(context.Background(), "p/d"); err != nil || string(got) != "x" {
		t.Fatalf("Get through the first store = %q, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(context.Background(), Config{Bucket: "b"}); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("Open without endpoint = %v, want code %q", err, carnet.EINVALID)
	}
	if _, err := Open(context.Background(), Config{Endpoint: "127.0.0.1:9"}); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("Open without bucket = %v, want code %q", err, carnet.EINVALID)
	}
	// Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, Config{Endpoint: "127.0.0.1:9", AccessKey: "a", SecretKey: "b", Bucket: "bucket"})
	if carnet.ErrorCode(err) != carnet.EUNAVAILABLE {
		t.Errorf("Open on a closed port = %v, want code %q", err, carnet.EUNAVAILABLE)
	}
}

func TestWrongCredentials(t *testing.T) {
	s := open(t)
	cfg := testConfig(t)
	cfg.Bucket = s.Bucket()
	cfg.SecretKey += "-wrong"
	_, err := Open(context.Background(), cfg)
	if carnet.ErrorCode(err) != carnet.EUNAVAILABLE {
		t.Fatalf("Open with a wrong secret = %v, want code %q", err, carnet.EUNAVAILABLE)
	}
}

func BenchmarkPut(b *testing.B) {
	testConfig(b)
	blobtest.BenchPut(b, func(b *testing.B) carnet.BlobStore { return open(b) })
}

func BenchmarkGet(b *testing.B) {
	testConfig(b)
	blobtest.BenchGet(b, func(b *testing.B) carnet.BlobStore { return open(b) })
}
