package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob"
	"github.com/carnet-sante/carnet/internal/blob/blobtest"
)

func TestValidateKey(t *testing.T) {
	good := []string{
		"0190a4b2-7c1e-7d3a-9f00-1234567890ab/0190a4b2-7c1e-7d3a-9f00-ba0987654321",
		"p/d",
		"P_1/d-2.bin",
		"a.b/c.d.e",
		strings.Repeat("a", 127) + "/" + strings.Repeat("b", 127),
	}
	for _, k := range good {
		if err := blob.ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", k, err)
		}
	}
	for _, k := range blobtest.BadKeys() {
		err := blob.ValidateKey(k)
		if carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("ValidateKey(%q) = %v, want code %q", k, err, carnet.EINVALID)
		}
	}
}

func FuzzValidateKey(f *testing.F) {
	for _, k := range append(blobtest.BadKeys(), "p/d", "a.b/c") {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if blob.ValidateKey(key) != nil {
			return
		}
		if len(key) > blob.MaxKeyLen || strings.Contains(key, "..") || strings.HasPrefix(key, "/") ||
			strings.Count(key, "/") != 1 || strings.HasSuffix(key, "/") {
			t.Fatalf("ValidateKey accepted %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg[0] == '.' {
				t.Fatalf("ValidateKey accepted %q", key)
			}
		}
		if blob.Shard(key) != key[:strings.IndexByte(key, '/')] {
			t.Fatalf("Shard(%q) = %q", key, blob.Shard(key))
		}
	})
}

func readAll(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, r)
	return buf.Bytes(), err
}

func TestExactReader(t *testing.T) {
	ctx := context.Background()
	body := blobtest.RandomBytes(10_000)
	for _, c := range []struct {
		name string
		body []byte
		size int64
		ok   bool
	}{
		{"exact", body, 10_000, true},
		{"empty", nil, 0, true},
		{"shorter", body[:9_999], 10_000, false},
		{"longer", body, 9_999, false},
		{"empty announced", nil, 1, false},
		{"announced empty", body[:1], 0, false},
	} {
		for _, half := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(c.body)
			if half {
				r = iotest.HalfReader(r)
			}
			er := blob.NewExactReader(ctx, r, c.size)
			got, err := readAll(er)
			if c.ok {
				if err != nil || !bytes.Equal(got, c.body) || er.Verify() != nil {
					t.Errorf("%s: read %d bytes, %v; Verify %v", c.name, len(got), err, er.Verify())
				}
				continue
			}
			if carnet.ErrorCode(err) != carnet.EINVALID {
				t.Errorf("%s: error %v, want code %q", c.name, err, carnet.EINVALID)
			}
			if int64(len(got)) >= c.size && c.size > 0 {
				t.Errorf("%s: %d bytes delivered of a wrong body announced at %d", c.name, len(got), c.size)
			}
			if carnet.ErrorCode(er.Verify()) != carnet.EINVALID {
				t.Errorf("%s: Verify = %v", c.name, er.Verify())
			}
		}
	}
}

// A reader that stops reading at size bytes still learns from Verify that the body is longer.
func TestExactReaderVerify(t *testing.T) {
	er := blob.NewExactReader(context.Background(), strings.NewReader("abcdef"), 3)
	buf := make([]byte, 2)
	if _, err := io.ReadFull(er, buf); err != nil {
		t.Fatal(err)
	}
	if carnet.ErrorCode(er.Verify()) != carnet.EINVALID {
		t.Fatalf("Verify after 2 of 3 bytes = %v", er.Verify())
	}
}

func TestExactReaderContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	er := blob.NewExactReader(ctx, strings.NewReader("abcdef"), 6)
	buf := make([]byte, 2)
	if _, err := er.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := er.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel = %v", err)
	}
	if !errors.Is(er.Err(), context.Canceled) {
		t.Fatalf("Err = %v", er.Err())
	}
}

func TestUnavailable(t *testing.T) {
	err := blob.Unavailable("op", io.ErrUnexpectedEOF)
	if carnet.ErrorCode(err) != carnet.EUNAVAILABLE || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Unavailable = %v", err)
	}
	inv := carnet.Errorf(carnet.EINVALID, "x")
	if blob.Unavailable("op", inv) != error(inv) {
		t.Fatal("Unavailable rewrapped a carnet error")
	}
	if carnet.ErrorCode(blob.NotFound("op")) != carnet.ENOTFOUND || carnet.ErrorCode(blob.Conflict("op")) != carnet.ECONFLICT {
		t.Fatal("NotFound or Conflict has the wrong code")
	}
}
