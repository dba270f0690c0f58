// Package blob holds what the blob stores (carnet.BlobStore) share: the rule for keys and a
// reader that enforces a body's announced size. The stores themselves are in the subpackages fs
// (filesystem, the default) and s3 (S3-compatible object storage); blobtest is the conformance
// suite that both pass.
//
// A blob store keeps opaque bytes: bodies arrive already encrypted by the caller.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/carnet-sante/carnet"
)

// MaxKeyLen is the longest accepted key, in bytes.
const MaxKeyLen = 255

// ValidateKey checks that key has the form "<shard>/<name>" (in Carnet "<patientID>/<documentID>"):
// exactly two non-empty segments separated by one "/", at most MaxKeyLen bytes, made only of
// ASCII letters, digits, '.', '_' and '-', with no segment starting with '.' and no "..". Such a
// key can be used as a relative file path or an object name without escaping the store's root.
// The error has code EINVALID.
func ValidateKey(key string) error {
	if err := checkKey(key); err != nil {
		return carnet.Errorf(carnet.EINVALID, "clé de contenu invalide : %s", err)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("vide")
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("plus de %d octets", MaxKeyLen)
	}
	slashes := 0
	start := 0 // start of the current segment
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '.':
			if i == start {
				return errors.New("un segment commence par « . »")
			}
		case c == '/':
			if i == start {
				return errors.New("segment vide")
			}
			slashes++
			start = i + 1
		default:
			return fmt.Errorf("caractère interdit à la position %d", i)
		}
	}
	if start == len(key) {
		return errors.New("segment vide")
	}
	if slashes != 1 {
		return errors.New("la forme attendue est « patient/document »")
	}
	// ".." is refused anywhere, even inside a name ("a..b"), to keep the rule simple to audit.
	for i := 0; i+1 < len(key); i++ {
		if key[i] == '.' && key[i+1] == '.' {
			return errors.New("« .. » interdit")
		}
	}
	return nil
}

// Shard returns the first segment of a valid key: the patient, under which stores group blobs.
func Shard(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return key
}

// NotFound returns the ENOTFOUND error of a missing key.
func NotFound(op string) error {
	e := carnet.Errorf(carnet.ENOTFOUND, "contenu introuvable")
	e.Op = op
	return e
}

// Conflict returns the ECONFLICT error of a Put on an existing key.
func Conflict(op string) error {
	e := carnet.Errorf(carnet.ECONFLICT, "contenu déjà enregistré sous cette clé")
	e.Op = op
	return e
}

// Check is the common start of every store operation: a valid key and a live context.
func Check(ctx context.Context, op, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return Unavailable(op, err)
	}
	return nil
}

// Unavailable wraps a backend failure (or the context's error) with op and code EUNAVAILABLE. An
// error that already carries a carnet code is returned as it is.
func Unavailable(op string, err error) error {
	var ce *carnet.Error
	if errors.As(err, &ce) {
		return err
	}
	return carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
}

// ExactReader reads a body that must be exactly as long as announced. It returns an EINVALID
// error instead of io.EOF when the body is shorter, and instead of its last bytes when the body
// is longer, so that a store streaming it never receives a complete body of the wrong size. It
// also stops with the context's error once ctx is done. An ExactReader is not safe for concurrent
// use.
type ExactReader struct {
	ctx  context.Context
	r    io.Reader
	size int64
	read int64 // bytes delivered so far
	done bool  // the end of r has been checked
	err  error // sticky error
}

// NewExactReader returns a reader of the size bytes of r.
func NewExactReader(ctx context.Context, r io.Reader, size int64) *ExactReader {
	return &ExactReader{ctx: ctx, r: r, size: size}
}

// Read implements io.Reader.
func (e *ExactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if err := e.ctx.Err(); err != nil {
		e.err = err
		return 0, err
	}
	left := e.size - e.read
	if left == 0 {
		if err := e.Verify(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := e.r.Read(p)
	e.read += int64(n)
	switch {
	case err == io.EOF && e.read < e.size:
		e.err = e.mismatch(e.read)
		return 0, e.err
	case err != nil && err != io.EOF:
		e.err = err
		return 0, err
	case e.read == e.size:
		// Hold back the last bytes until the end of the body is confirmed.
		if err := e.Verify(); err != nil {
			return 0, err
		}
		return n, io.EOF
	}
	return n, nil
}

// Verify checks, once all size bytes have been read, that the body has nothing more. It returns
// the reader's error if any, and an EINVALID error if not all size bytes were read yet or if the
// body goes on. Stores call it after a backend that may stop reading at size bytes.
func (e *ExactReader) Verify() error {
	if e.err != nil || e.done {
		return e.err
	}
	if e.read < e.size {
		e.err = e.mismatch(e.read)
		return e.err
	}
	var b [1]byte
	n, err := io.ReadAtLeast(e.r, b[:], 1)
	switch {
	case n > 0:
		e.err = e.mismatch(e.size + 1)
	case err != io.EOF:
		e.err = err
	}
	e.done = true
	return e.err
}

// Err returns the error that stopped the reader, if any.
func (e *ExactReader) Err() error { return e.err }

func (e *ExactReader) mismatch(got int64) error {
	if got > e.size {
		return carnet.Errorf(carnet.EINVALID, "contenu plus long que la taille annoncée (%d octets)", e.size)
	}
	return carnet.Errorf(carnet.EINVALID, "contenu de %d octets, %d annoncés", got, e.size)
}
