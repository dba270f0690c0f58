package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"os"
	"path/filepath"
	"time"
)

// DirSink is a development mailbox: it writes each message, as it would be sent, to a .eml file
// in a directory (0600), named after its idempotency key so that a re-sent message replaces its
// earlier copy. Use a real SMTP server (Sender) in production.
type DirSink struct {
	dir  string
	from *mail.Address
	now  func() time.Time
}

// NewDirSink returns a sink writing to dir, creating it (0700) if needed.
func NewDirSink(dir, from string) (*DirSink, error) {
	addr, err := parseAddress("expéditeur", from)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &DirSink{dir: dir, from: addr, now: time.Now}, nil
}

// Send writes the message to <dir>/<hash of the idempotency key>.eml.
func (d *DirSink) Send(ctx context.Context, m Message) error {
	to, err := parseAddress("destinataire", m.To)
	if err != nil {
		return err
	}
	raw, err := build(&m, d.from, to, d.now())
	if err != nil {
		return err
	}
	key := m.IdempotencyKey
	if key == "" {
		key = m.To + m.Subject + d.now().String()
	}
	sum := sha256.Sum256([]byte(key))
	name := filepath.Join(d.dir, hex.EncodeToString(sum[:8])+".eml")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
