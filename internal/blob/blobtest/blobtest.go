// Package blobtest is the conformance suite that every carnet.BlobStore must pass, and the
// benchmarks shared by the stores.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/carnet-sante/carnet"
	"github.com/google/uuid"
)

// NewStore returns a fresh, empty store for one test; the store is released by the caller's
// cleanups, registered on t.
type NewStore func(t *testing.T) carnet.BlobStore

// Run runs the whole suite, each test on a fresh store.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, carnet.BlobStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"SizeMismatch", testSizeMismatch},
		{"NoReplace", testNoReplace},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"BadKeys", testBadKeys},
		{"ConcurrentDistinctKeys", testConcurrentDistinct},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"CanceledContext", testCanceledContext},
		{"CancelDuringPut", testCancelDuringPut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// NewKey returns a fresh key of the form "<patientID>/<documentID>".
func NewKey() string {
	return uuid.NewString() + "/" + uuid.NewString()
}

// RandomBytes returns n random bytes.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// onlyReader hides every method of a reader but Read (io.Seeker, io.ReaderAt, WriterTo...), as
// a request body would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := carnet.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func mustPut(t *testing.T, s carnet.BlobStore, key string, body []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(body), err)
	}
}

func wantBody(t *testing.T, s carnet.BlobStore, key string, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes, want the %d bytes put", key, len(got), len(want))
	}
}

func wantMissing(t *testing.T, s carnet.BlobStore, key string) {
	t.Helper()
	_, err := s.Get(context.Background(), key)
	wantCode(t, err, carnet.ENOTFOUND)
}

func testRoundTrip(t *testing.T, s carnet.BlobStore) {
	ctx := context.Background()
	// A seekable reader, a plain reader and one returning short reads.
	bodies := map[string]func([]byte) io.Reader{
		"bytes.Reader": func(b []byte) io.Reader { return bytes.NewReader(b) },
		"reader":       func(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} },
		"short reads":  func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
	}
	for name, mk := range bodies {
		key := NewKey()
		body := RandomBytes(10_000)
		if err := s.Put(ctx, key, mk(body), int64(len(body))); err != nil {
			t.Fatalf("%s: Put: %v", name, err)
		}
		wantBody(t, s, key, body)
	}
	// Two documents of one patient.
	patient := uuid.NewString()
	k1, k2 := patient+"/"+uuid.NewString(), patient+"/"+uuid.NewString()
	b1, b2 := RandomBytes(100), RandomBytes(200)
	mustPut(t, s, k1, b1)
	mustPut(t, s, k2, b2)
	wantBody(t, s, k1, b1)
	wantBody(t, s, k2, b2)
	// Keys of other shapes than UUIDs are accepted.
	k3 := "patient_1/document-2.v1"
	mustPut(t, s, k3, b1)
	wantBody(t, s, k3, b1)
}

func testEmpty(t *testing.T, s carnet.BlobStore) {
	key := NewKey()
	if err := s.Put(context.Background(), key, onlyReader{strings.NewReader("")}, 0); err != nil {
		t.Fatalf("Put empty: %v", err)
	}
	wantBody(t, s, key, nil)
	wantCode(t, s.Put(context.Background(), key, strings.NewReader(""), 0), carnet.ECONFLICT)
}

func testLarge(t *testing.T, s carnet.BlobStore) {
	key := NewKey()
	body := RandomBytes(5<<20 + 12345) // not a multiple of any buffer size
	if err := s.Put(context.Background(), key, iotest.HalfReader(onlyReader{bytes.NewReader(body)}), int64(len(body))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	wantBody(t, s, key, body)
}

func testSizeMismatch(t *testing.T, s carnet.BlobStore) {
	ctx := context.Background()
	cases := []struct {
		name string
		body int
		size int64
	}{
		{"shorter", 1000, 1500},
		{"longer", 1500, 1000},
		{"one byte longer", 1001, 1000},
		{"one byte shorter", 999, 1000},
		{"empty but announced", 0, 10},
		{"announced empty", 10, 0},
		{"large longer", 3 << 20, 1 << 20},
	}
	for _, c := range cases {
		for _, seekable := range []bool{true, false} {
			key := NewKey()
			var r io.Reader = bytes.NewReader(RandomBytes(c.body))
			if !seekable {
				r = onlyReader{r}
			}
			err := s.Put(ctx, key, r, c.size)
			if carnet.ErrorCode(err) != carnet.EINVALID {
				t.Fatalf("%s (seekable %v): Put = %v, want code %q", c.name, seekable, err, carnet.EINVALID)
			}
			wantMissing(t, s, key)
			// Nothing left behind: the key is free for a correct Put.
			good := RandomBytes(c.body)
			mustPut(t, s, key, good)
			wantBody(t, s, key, good)
		}
	}
	wantCode(t, s.Put(ctx, NewKey(), strings.NewReader(""), -1), carnet.EINVALID)
}

func testNoReplace(t *testing.T, s carnet.BlobStore) {
	key := NewKey()
	first := RandomBytes(3000)
	mustPut(t, s, key, first)
	for _, second := range [][]byte{RandomBytes(3000), RandomBytes(10), first, nil} {
		err := s.Put(context.Background(), key, bytes.NewReader(second), int64(len(second)))
		wantCode(t, err, carnet.ECONFLICT)
		wantBody(t, s, key, first)
	}
	// A refused Put with a wrong size does not disturb the original either.
	err := s.Put(context.Background(), key, bytes.NewReader(first), 5)
	if err == nil {
		t.Fatal("Put with a wrong size on an existing key succeeded")
	}
	wantBody(t, s, key, first)
}

func testMissing(t *testing.T, s carnet.BlobStore) {
	ctx := context.Background()
	key := NewKey()
	_, err := s.Get(ctx, key)
	wantCode(t, err, carnet.ENOTFOUND)
	wantCode(t, s.Delete(ctx, key), carnet.ENOTFOUND)
	// A missing key next to an existing one of the same patient.
	mustPut(t, s, key, []byte("x"))
	other := key[:strings.IndexByte(key, '/')] + "/" + uuid.NewString()
	_, err = s.Get(ctx, other)
	wantCode(t, err, carnet.ENOTFOUND)
	wantCode(t, s.Delete(ctx, other), carnet.ENOTFOUND)
}

func testDelete(t *testing.T, s carnet.BlobStore) {
	ctx := context.Background()
	key, kept := NewKey(), NewKey()
	mustPut(t, s, key, []byte("to delete"))
	mustPut(t, s, kept, []byte("to keep"))
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, key)
	wantCode(t, s.Delete(ctx, key), carnet.ENOTFOUND)
	wantBody(t, s, kept, []byte("to keep"))
	// A deleted key can be used again.
	mustPut(t, s, key, []byte("again"))
	wantBody(t, s, key, []byte("again"))
}

// BadKeys returns keys that every store must refuse with EINVALID: path traversal, absolute
// paths, empty or hidden segments, other shapes than "<patient>/<document>", forbidden
// characters, too long.
func BadKeys() []string {
	return []string{
		"",
		"/",
		"a",
		"a/",
		"/a",
		"/a/b",
		"a/b/",
		"a//b",
		"a/b/c",
		"../a",
		"a/..",
		"a/../b",
		"../../etc/passwd",
		"a/b/../../../x",
		"..",
		".",
		"./a",
		"a/.",
		".a/b",
		"a/.b",
		"a/.tmp-123",
		"a..b/c",
		"a/b..c",
		"a\\b",
		"a\\..\\b",
		"a b/c",
		"a/b\x00",
		"a\x00/b",
		"a/b\n",
		"é/b",
		"a/b?c",
		"a/b%2F..",
		"a:b/c",
		"~/a",
		strings.Repeat("a", 200) + "/" + strings.Repeat("b", 60),
	}
}

func testBadKeys(t *testing.T, s carnet.BlobStore) {
	ctx := context.Background()
	for _, key := range BadKeys() {
		err := s.Put(ctx, key, strings.NewReader("x"), 1)
		if carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("Put(%q) = %v, want code %q", key, err, carnet.EINVALID)
		}
		_, err = s.Get(ctx, key)
		if carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("Get(%q) = %v, want code %q", key, err, carnet.EINVALID)
		}
		err = s.Delete(ctx, key)
		if carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("Delete(%q) = %v, want code %q", key, err, carnet.EINVALID)
		}
	}
	// The longest key is accepted.
	long := strings.Repeat("a", 127) + "/" + strings.Repeat("b", 127)
	mustPut(t, s, long, []byte("long"))
	wantBody(t, s, long, []byte("long"))
}

func testConcurrentDistinct(t *testing.T, s carnet.BlobStore) {
	const workers, each = 8, 8
	type item struct {
		key  string
		body []byte
	}
	items := make([][]item, workers)
	for w := range items {
		patient := uuid.NewString()
		for i := range each {
			key := NewKey()
			if i%2 == 0 {
				key = patient + "/" + uuid.NewString() // several documents of one patient
			}
			items[w] = append(items[w], item{key, RandomBytes(1000 + 997*i)})
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for _, it := range items[w] {
				if err := s.Put(context.Background(), it.key, bytes.NewReader(it.body), int64(len(it.body))); err != nil {
					errs <- fmt.Errorf("Put(%q): %w", it.key, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, list := range items {
		for _, it := range list {
			wantBody(t, s, it.key, it.body)
		}
	}
}

func testConcurrentSameKey(t *testing.T, s carnet.BlobStore) {
	const writers = 8
	key := NewKey()
	bodies := make([][]byte, writers)
	for i := range bodies {
		bodies[i] = RandomBytes(64 << 10)
	}
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			errs[i] = s.Put(context.Background(), key, bytes.NewReader(bodies[i]), int64(len(bodies[i])))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch carnet.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("Puts %d and %d of the same key both succeeded", winner, i)
			}
			winner = i
		case carnet.ECONFLICT:
		default:
			t.Fatalf("Put %d: %v, want success or code %q", i, err, carnet.ECONFLICT)
		}
	}
	if winner < 0 {
		t.Fatal("no Put of the key succeeded")
	}
	wantBody(t, s, key, bodies[winner])
}

func testCanceledContext(t *testing.T, s carnet.BlobStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := NewKey()
	err := s.Put(ctx, key, strings.NewReader("body"), 4)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a canceled context = %v, want context.Canceled", err)
	}
	wantMissing(t, s, key)

	mustPut(t, s, key, []byte("body"))
	if _, err := s.Get(ctx, key); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, key); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with a canceled context = %v, want context.Canceled", err)
	}
	wantBody(t, s, key, []byte("body"))
}

// cancelingReader returns its body in chunks and cancels the context after the first one.
type cancelingReader struct {
	r      io.Reader
	cancel context.CancelFunc
	reads  int
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	n, err := c.r.Read(p)
	c.reads++
	if c.reads == 1 {
		c.cancel()
	}
	return n, err
}

func testCancelDuringPut(t *testing.T, s carnet.BlobStore) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := NewKey()
	body := RandomBytes(1 << 20)
	err := s.Put(ctx, key, &cancelingReader{r: bytes.NewReader(body), cancel: cancel}, int64(len(body)))
	if err == nil {
		t.Fatal("Put whose context was canceled midway succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put canceled midway = %v, want context.Canceled", err)
	}
	wantMissing(t, s, key)
	mustPut(t, s, key, body)
	wantBody(t, s, key, body)
}

// benchSizes are the body sizes of the benchmarks.
func benchSizes() []struct {
	name string
	size int
} {
	return []struct {
		name string
		size int
	}{
		{"4KiB", 4 << 10},
		{"256KiB", 256 << 10},
		{"4MiB", 4 << 20},
	}
}

// BenchPut measures Put of new keys (a new patient each time) for bodies of 4 KiB, 256 KiB and 4 MiB.
func BenchPut(b *testing.B, newStore func(b *testing.B) carnet.BlobStore) {
	for _, bs := range benchSizes() {
		b.Run(bs.name, func(b *testing.B) {
			s := newStore(b)
			body := RandomBytes(bs.size)
			r := bytes.NewReader(body)
			ctx := context.Background()
			b.SetBytes(int64(bs.size))
			for b.Loop() {
				r.Reset(body)
				if err := s.Put(ctx, NewKey(), r, int64(len(body))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchGet measures Get of existing keys for bodies of 4 KiB, 256 KiB and 4 MiB.
func BenchGet(b *testing.B, newStore func(b *testing.B) carnet.BlobStore) {
	const keys = 8
	for _, bs := range benchSizes() {
		b.Run(bs.name, func(b *testing.B) {
			s := newStore(b)
			ctx := context.Background()
			var list []string
			for range keys {
				key := NewKey()
				body := RandomBytes(bs.size)
				if err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body))); err != nil {
					b.Fatal(err)
				}
				list = append(list, key)
			}
			b.SetBytes(int64(bs.size))
			i := 0
			for b.Loop() {
				got, err := s.Get(ctx, list[i%keys])
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != bs.size {
					b.Fatalf("Get = %d bytes, want %d", len(got), bs.size)
				}
				i++
			}
		})
	}
}
