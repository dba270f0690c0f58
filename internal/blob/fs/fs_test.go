package fs

import (
	"bytes"
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob/blobtest"
)

func open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if leftovers := tempFiles(t, s.Dir()); len(leftovers) > 0 {
			t.Errorf("temporary files left behind: %v", leftovers)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) carnet.BlobStore { return open(t) })
}

// tempFiles lists the temporary files under dir.
func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestLayoutAndPermissions(t *testing.T) {
	s := open(t)
	key := "patient-1/doc-1"
	if err := s.Put(context.Background(), key, strings.NewReader("secret"), 6); err != nil {
		t.Fatal(err)
	}
	dir, err := os.Stat(filepath.Join(s.Dir(), "patient-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !dir.IsDir() || dir.Mode().Perm()&0o077 != 0 {
		t.Errorf("patient directory: mode %v, want a directory without group or other access", dir.Mode())
	}
	root, err := os.Stat(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if root.Mode().Perm()&0o077 != 0 {
		t.Errorf("root directory: mode %v, want no group or other access", root.Mode())
	}
	file, err := os.Stat(filepath.Join(s.Dir(), "patient-1", "doc-1"))
	if err != nil {
		t.Fatal(err)
	}
	if file.Mode().Perm() != 0o600 {
		t.Errorf("blob file: mode %v, want 0600", file.Mode())
	}
}

func TestNoTempFilesOnError(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	key := "p/d"
	// Wrong sizes, then a conflict, then a canceled context midway.
	s.Put(ctx, key, strings.NewReader("12345"), 3)
	s.Put(ctx, key, strings.NewReader("12345"), 9)
	if err := s.Put(ctx, key, strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	s.Put(ctx, key, strings.NewReader("abc"), 3)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	s.Put(cctx, "p/e", strings.NewReader("abc"), 3)
	if leftovers := tempFiles(t, s.Dir()); len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

// A symbolic link planted in the root cannot lead a key outside it.
func TestSymlinkEscape(t *testing.T) {
	s := open(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "doc"), []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Dir(), "evil")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), "evil/doc"); err == nil {
		t.Fatal("Get through a symbolic link out of the root succeeded")
	}
	if err := s.Put(context.Background(), "evil/new", strings.NewReader("x"), 1); err == nil {
		t.Fatal("Put through a symbolic link out of the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); !errors.Is(err, iofs.ErrNotExist) {
		t.Fatalf("a file was written outside the root: %v", err)
	}
}

func TestLinkFallback(t *testing.T) {
	s := open(t)
	dir, err := s.openShard("p")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	for i, want := range []error{nil, iofs.ErrExist} {
		tmp, f, err := s.createTemp("p")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("body")
		f.Close()
		gone, err := linkThenUnlink(s.root, "p", tmp, "d")
		if !errors.Is(err, want) {
			t.Fatalf("link %d: %v, want %v", i, err, want)
		}
		if !gone {
			os.Remove(filepath.Join(s.Dir(), "p", tmp))
		}
	}
	got, err := s.Get(context.Background(), "p/d")
	if err != nil || string(got) != "body" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestRemoveTemp(t *testing.T) {
	s := open(t)
	if err := s.Put(context.Background(), "p/d", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(s.Dir(), "p", tempPrefix+"old")
	recent := filepath.Join(s.Dir(), "p", tempPrefix+"recent")
	for _, name := range []string{old, recent} {
		if err := os.WriteFile(name, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveTemp(context.Background(), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("RemoveTemp = %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("old temporary file still there: %v", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent temporary file removed: %v", err)
	}
	os.Remove(recent)
	if got, err := s.Get(context.Background(), "p/d"); err != nil || !bytes.Equal(got, []byte("x")) {
		t.Fatalf("blob after RemoveTemp: %q, %v", got, err)
	}
}

func TestOpen(t *testing.T) {
	if _, err := Open(""); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("Open(\"\") = %v, want code %q", err, carnet.EINVALID)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); carnet.ErrorCode(err) != carnet.EUNAVAILABLE {
		t.Errorf("Open(a file) = %v, want code %q", err, carnet.EUNAVAILABLE)
	}
	// Reopening finds the blobs.
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "p/d", strings.NewReader("kept"), 4); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Get(context.Background(), "p/d"); err != nil || string(got) != "kept" {
		t.Fatalf("Get after reopening = %q, %v", got, err)
	}
}

func BenchmarkPut(b *testing.B) {
	blobtest.BenchPut(b, func(b *testing.B) carnet.BlobStore { return open(b) })
}

func BenchmarkGet(b *testing.B) {
	blobtest.BenchGet(b, func(b *testing.B) carnet.BlobStore { return open(b) })
}
