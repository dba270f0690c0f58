package sms

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one line of a FileSink's file.
type Record struct {
	Time           time.Time `json:"time"`
	To             string    `json:"to"`
	Text           string    `json:"text"`
	IdempotencyKey string    `json:"idempotency_key"`
}

// FileSink is a Gateway for development and tests: it appends each message as one JSON line to
// a file (created with mode 0600: it holds phone numbers), and syncs the file before returning,
// so that an acknowledged message is on disk.
type FileSink struct {
	path  string
	clock func() time.Time

	mu        sync.Mutex
	dirSynced bool // the directory entry of the file is durable
}

// NewFileSink returns a sink appending to path; its directory must exist. clock stamps the
// records (nil: time.Now).
func NewFileSink(path string, clock func() time.Time) *FileSink {
	if clock == nil {
		clock = time.Now
	}
	return &FileSink{path: path, clock: clock}
}

// Path is the file the sink appends to.
func (f *FileSink) Path() string { return f.path }

// Send appends the message. Lines are written whole with O_APPEND, so several processes may
// share the file.
func (f *FileSink) Send(ctx context.Context, to, text, idempotencyKey string) error {
	n, err := check(to, text, idempotencyKey)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &Error{Err: err}
	}
	line, err := json.Marshal(Record{Time: f.clock().UTC(), To: n, Text: text, IdempotencyKey: idempotencyKey})
	if err != nil {
		return &Error{Err: err}
	}
	line = append(line, '\n')

	f.mu.Lock()
	defer f.mu.Unlock()
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return &Error{Err: err}
	}
	if _, err := file.Write(line); err != nil {
		file.Close()
		return &Error{Err: err}
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return &Error{Err: err}
	}
	if err := file.Close(); err != nil {
		return &Error{Err: err}
	}
	if !f.dirSynced {
		// The file may have just been created: make its name durable too.
		if err := syncDir(filepath.Dir(f.path)); err != nil {
			return &Error{Err: err}
		}
		f.dirSynced = true
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReadFile reads the records of a FileSink's file, oldest first; a missing file has none. Tests
// use it to find the code sent to a phone.
func ReadFile(path string) ([]Record, error) {
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var out []Record
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return out, fmt.Errorf("%s:%d: %w", filepath.Base(path), line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
