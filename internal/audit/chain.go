// Package audit builds and checks Carnet's tamper-evident access history: every event of a
// patient is chained to the previous one by SHA-256, so that an edited, deleted, inserted or
// reordered event breaks the chain.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"strconv"

	"github.com/carnet-sante/carnet"
)

// HashSize is the size of a chain link.
const HashSize = sha256.Size

// zeroHash is the PrevHash of the first event of a chain.
var zeroHash = make([]byte, HashSize)

// Link sets e's Seq and PrevHash from the chain head and computes its Hash. The caller holds the
// head's lock (Tx.AuditHead) and appends e in the same transaction.
func Link(e *carnet.AuditEvent, head carnet.AuditHead) {
	e.Seq = head.Seq + 1
	if len(head.Hash) == 0 {
		e.PrevHash = zeroHash
	} else {
		e.PrevHash = head.Hash
	}
	e.Hash = Hash(e)
}

// Hash computes the hash of an event: SHA-256 over a length-prefixed encoding of every field
// except Hash itself (the ID included, so that a row cannot be swapped for another).
func Hash(e *carnet.AuditEvent) []byte {
	h := sha256.New()
	pre, post := HashParts(e)
	h.Write(pre)
	writeField(h, strconv.FormatInt(e.Seq, 10))
	h.Write(post)
	h.Write(e.PrevHash)
	return h.Sum(nil)
}

// HashParts returns the encoding of the fields that come before and after the sequence number
// in Hash's input: Hash(e) = SHA-256(pre ‖ len(seq) ‖ seq ‖ post ‖ PrevHash), seq in decimal and
// its length as 4 bytes big-endian. A store that links events in SQL (PostgreSQL's sha256, where
// the head's seq and hash are only known under its lock) computes the same hash from them.
func HashParts(e *carnet.AuditEvent) (pre, post []byte) {
	var b bytes.Buffer
	writeField(&b, "carnet-audit-v1")
	writeField(&b, e.ID)
	writeField(&b, e.PatientID)
	pre = bytes.Clone(b.Bytes())
	b.Reset()
	writeField(&b, strconv.FormatInt(e.Time.UTC().UnixMicro(), 10))
	writeField(&b, string(e.ActorKind))
	writeField(&b, e.ActorID)
	writeField(&b, e.ActorName)
	writeField(&b, string(e.ActorProfession))
	writeField(&b, e.ActorStructure)
	writeField(&b, e.OnBehalfOf)
	writeField(&b, e.Action)
	writeField(&b, e.TargetType)
	writeField(&b, e.TargetID)
	writeField(&b, string(e.Mode))
	writeField(&b, e.Decision)
	writeField(&b, e.Reason)
	writeField(&b, e.RequestID)
	return pre, b.Bytes()
}

// ZeroHash returns the PrevHash of a chain's first event (a copy).
func ZeroHash() []byte { return make([]byte, HashSize) }

func writeField(h io.Writer, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
