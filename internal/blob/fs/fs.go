// Package fs is the filesystem blob store, Carnet's default: one file per key under a root
// directory, in a subdirectory per patient (the key's first segment).
//
// A Put writes the body to a temporary file in the patient's directory, syncs it, moves it to
// its name without replacing an existing file (renameat2 with RENAME_NOREPLACE on Linux, or a
// hard link then an unlink where that is not supported) and syncs the directory, so that an
// acknowledged write survives a crash and a key is never overwritten. Files are created 0600 and
// directories 0700. All access goes through an os.Root, so no name can reach outside the root
// even through a symbolic link.
package fs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob"
)

// tempPrefix starts the names of temporary files. Keys never have a segment starting with '.',
// so a temporary file can never be read as a blob.
const tempPrefix = ".tmp-"

// Store is a carnet.BlobStore on a local directory. It is safe for concurrent use, also by
// several processes sharing the directory.
type Store struct {
	root *os.Root
}

var _ carnet.BlobStore = (*Store)(nil)

// Open opens the store rooted at dir, creating the directory (0700) if needed.
func Open(dir string) (*Store, error) {
	const op = "blob/fs.Open"
	if dir == "" {
		return nil, carnet.Errorf(carnet.EINVALID, "répertoire des contenus non configuré")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EINVALID, err)
	}
	_, statErr := os.Stat(abs)
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	if errors.Is(statErr, iofs.ErrNotExist) {
		// Make the new directory's entry durable.
		if err := syncDir(filepath.Dir(abs)); err != nil {
			return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
		}
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	return &Store{root: root}, nil
}

// Close releases the root directory; the store is unusable afterwards.
func (s *Store) Close() error {
	if err := s.root.Close(); err != nil {
		return carnet.WrapErr("blob/fs.Close", carnet.EINTERNAL, err)
	}
	return nil
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.root.Name() }

// Put stores the size bytes of r under key. It fails with ECONFLICT if the key exists, with
// EINVALID if the key is invalid or r does not hold exactly size bytes, and leaves nothing behind
// when it fails. The blob is on stable storage when Put returns nil.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	const op = "blob/fs.Put"
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if size < 0 {
		return carnet.Errorf(carnet.EINVALID, "taille de contenu négative")
	}
	if err := ctx.Err(); err != nil {
		return blob.Unavailable(op, err)
	}
	shard := blob.Shard(key)
	name := key[len(shard)+1:]

	dir, err := s.openShard(shard)
	if err != nil {
		return blob.Unavailable(op, err)
	}
	defer dir.Close()

	// Refuse early rather than after writing the whole body; the no-replace move below is what
	// guarantees it under concurrency.
	if _, err := s.root.Lstat(key); err == nil {
		return blob.Conflict(op)
	} else if !errors.Is(err, iofs.ErrNotExist) {
		return blob.Unavailable(op, err)
	}

	tmp, f, err := s.createTemp(shard)
	if err != nil {
		return blob.Unavailable(op, err)
	}
	tmpGone := false
	defer func() {
		if f != nil {
			f.Close()
		}
		if !tmpGone {
			s.root.Remove(shard + "/" + tmp)
		}
	}()

	er := blob.NewExactReader(ctx, r, size)
	if _, err := io.Copy(f, er); err != nil {
		if rerr := er.Err(); rerr != nil {
			return blob.Unavailable(op, rerr)
		}
		return blob.Unavailable(op, err)
	}
	if err := er.Verify(); err != nil {
		return blob.Unavailable(op, err)
	}
	if err := f.Sync(); err != nil {
		return blob.Unavailable(op, err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return blob.Unavailable(op, err)
	}
	if err := ctx.Err(); err != nil {
		return blob.Unavailable(op, err)
	}

	tmpGone, err = publish(s.root, dir, shard, tmp, name)
	if errors.Is(err, iofs.ErrExist) {
		return blob.Conflict(op)
	}
	if err != nil {
		return blob.Unavailable(op, err)
	}
	if err := dir.Sync(); err != nil {
		return blob.Unavailable(op, err)
	}
	return nil
}

// Get returns the blob stored under key, or an ENOTFOUND error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	const op = "blob/fs.Get"
	if err := blob.Check(ctx, op, key); err != nil {
		return nil, err
	}
	b, err := s.root.ReadFile(key)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, blob.NotFound(op)
	}
	if err != nil {
		return nil, blob.Unavailable(op, err)
	}
	return b, nil
}

// Delete removes the blob stored under key, durably, or returns an ENOTFOUND error. The
// patient's directory stays, so that a concurrent Put in it never loses its directory.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "blob/fs.Delete"
	if err := blob.Check(ctx, op, key); err != nil {
		return err
	}
	err := s.root.Remove(key)
	if errors.Is(err, iofs.ErrNotExist) {
		return blob.NotFound(op)
	}
	if err != nil {
		return blob.Unavailable(op, err)
	}
	dir, err := s.root.Open(blob.Shard(key))
	if err != nil {
		return blob.Unavailable(op, err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return blob.Unavailable(op, err)
	}
	return nil
}

// RemoveTemp removes the temporary files older than olderThan, which only a crash in the middle
// of a Put leaves behind, and returns how many it removed. Run it at start-up or now and then
// with a margin (an hour, say) longer than any upload.
func (s *Store) RemoveTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	const op = "blob/fs.RemoveTemp"
	shards, err := readDir(s.root, ".")
	if err != nil {
		return 0, blob.Unavailable(op, err)
	}
	limit := time.Now().Add(-olderThan)
	removed := 0
	for _, sh := range shards {
		if !sh.IsDir() || strings.HasPrefix(sh.Name(), ".") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, blob.Unavailable(op, err)
		}
		entries, err := readDir(s.root, sh.Name())
		if err != nil {
			return removed, blob.Unavailable(op, err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tempPrefix) {
				continue
			}
			info, err := e.Info()
			if err != nil || info.ModTime().After(limit) {
				continue
			}
			err = s.root.Remove(sh.Name() + "/" + e.Name())
			if err != nil && !errors.Is(err, iofs.ErrNotExist) {
				return removed, blob.Unavailable(op, err)
			}
			if err == nil {
				removed++
			}
		}
	}
	return removed, nil
}

// openShard opens the patient's directory, creating it (durably) if needed.
func (s *Store) openShard(shard string) (*os.File, error) {
	err := s.root.Mkdir(shard, 0o700)
	switch {
	case err == nil:
		root, err := s.root.Open(".")
		if err != nil {
			return nil, err
		}
		err = root.Sync()
		root.Close()
		if err != nil {
			return nil, err
		}
	case !errors.Is(err, iofs.ErrExist):
		return nil, err
	}
	return s.root.Open(shard)
}

// createTemp creates a new temporary file, 0600, in the patient's directory and returns its name
// (without the directory).
func (s *Store) createTemp(shard string) (string, *os.File, error) {
	var b [12]byte
	for range 10 {
		rand.Read(b[:])
		name := tempPrefix + hex.EncodeToString(b[:])
		f, err := s.root.OpenFile(shard+"/"+name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, iofs.ErrExist) {
			continue
		}
		return name, f, err
	}
	return "", nil, errors.New("no free temporary file name")
}

func readDir(root *os.Root, name string) ([]iofs.DirEntry, error) {
	d, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
