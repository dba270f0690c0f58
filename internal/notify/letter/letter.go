// Package letter posts Carnet's paper letters (activation codes for people without an email
// address, closure notices): a Sink takes a batch of letters at once, as a print-and-post
// service does; FileSink, for development, writes each batch as a text file.
package letter

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// Letter is one letter of a batch.
type Letter struct {
	ID             string // the outbox message ID, unique in a batch
	Recipient      string // postal address, one line per "\n" (name first)
	Subject        string
	Body           string
	IdempotencyKey string // printed on the letter: the same key on two letters means one notification posted twice
}

// Sink posts letters. SendBatch returns nil when every letter was accepted. Otherwise it returns
// either a *BatchError, naming the letters that failed (the others were accepted), or any other
// error, meaning that none was. An error whose Permanent() method returns true is not retried.
type Sink interface {
	SendBatch(ctx context.Context, batch []Letter) error
}

// BatchError reports the letters of a batch that were refused, by letter ID.
type BatchError struct {
	Failed map[string]error
}

func (e *BatchError) Error() string {
	ids := make([]string, 0, len(e.Failed))
	for id := range e.Failed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "letter: %d letter(s) refused", len(ids))
	for i, id := range ids {
		if i == 3 {
			b.WriteString(", …")
			break
		}
		fmt.Fprintf(&b, "; %s: %v", id, e.Failed[id])
	}
	return b.String()
}

// Error is a refused letter or a failed batch.
type Error struct {
	Err       error
	permanent bool
}

func (e *Error) Error() string { return "letter: " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether posting the letter again cannot succeed (an invalid address).
func (e *Error) Permanent() bool { return e.permanent }

// Check validates a letter: an address of 2 to 6 lines of at most 38 characters (the French
// postal standard, NF Z10-011), and a body.
func Check(l Letter) error {
	lines := strings.Split(strings.TrimSpace(l.Recipient), "\n")
	if len(lines) < 2 || len(lines) > 6 {
		return invalid("adresse postale : 2 à 6 lignes attendues")
	}
	for _, line := range lines {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			return invalid("adresse postale : ligne vide")
		}
		if utf8.RuneCountInString(line) > 38 {
			return invalid("adresse postale : ligne de plus de 38 caractères")
		}
	}
	if strings.TrimSpace(l.Body) == "" {
		return invalid("lettre vide")
	}
	for _, s := range []string{l.Recipient, l.Subject, l.Body, l.IdempotencyKey} {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\f") {
			return invalid("caractère interdit")
		}
	}
	return nil
}

func invalid(msg string) *Error {
	return &Error{permanent: true, Err: carnet.Errorf(carnet.EINVALID, "lettre invalide, %s", msg)}
}

// FileSink writes each batch to a new text file in a directory, letters separated by form feeds,
// each headed by its ID and idempotency key; the file is synced before SendBatch returns.
// Invalid letters are left out and reported in a *BatchError.
type FileSink struct {
	dir   string
	clock func() time.Time

	mu  sync.Mutex
	seq int
}

// NewFileSink returns a sink writing into dir (created if needed). clock names the files (nil:
// time.Now).
func NewFileSink(dir string, clock func() time.Time) *FileSink {
	if clock == nil {
		clock = time.Now
	}
	return &FileSink{dir: dir, clock: clock}
}

// SendBatch writes the valid letters of batch into one new file.
func (f *FileSink) SendBatch(ctx context.Context, batch []Letter) error {
	if err := ctx.Err(); err != nil {
		return &Error{Err: err}
	}
	failed := map[string]error{}
	var b strings.Builder
	n := 0
	for _, l := range batch {
		if err := Check(l); err != nil {
			failed[l.ID] = err
			continue
		}
		if n > 0 {
			b.WriteString("\f\n")
		}
		n++
		fmt.Fprintf(&b, "=== Lettre %s — référence %s ===\n\n", l.ID, l.IdempotencyKey)
		b.WriteString(strings.TrimSpace(l.Recipient))
		b.WriteString("\n\n")
		if l.Subject != "" {
			fmt.Fprintf(&b, "Objet : %s\n\n", l.Subject)
		}
		b.WriteString(strings.TrimRight(l.Body, "\n"))
		b.WriteString("\n")
	}
	if n > 0 {
		if err := f.write(b.String()); err != nil {
			return &Error{Err: err}
		}
	}
	if len(failed) > 0 {
		return &BatchError{Failed: failed}
	}
	return nil
}

func (f *FileSink) write(text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return err
	}
	f.seq++
	name := fmt.Sprintf("lettres-%s-%d-%03d.txt", f.clock().UTC().Format("20060102T150405.000000Z"), os.Getpid(), f.seq)
	path := filepath.Join(f.dir, name)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = file.WriteString(text)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	d, err := os.Open(f.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Files lists the batch files of a FileSink directory, oldest first.
func Files(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "lettres-*.txt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(m)
	return m, nil
}
