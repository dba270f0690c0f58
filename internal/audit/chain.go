// Package audit builds and checks Carnet's tamper-evident access history: every event of a
// patient is chained to the previous one by SHA-256, so that an edited, deleted, inserted or
// reordered event breaks the chain.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
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
	writeField(h, "carnet-audit-v1")
	writeField(h, e.ID)
	writeField(h, e.PatientID)
	writeField(h, strconv.FormatInt(e.Seq, 10))
	writeField(h, strconv.FormatInt(e.Time.UTC().UnixMicro(), 10))
	writeField(h, string(e.ActorKind))
	writeField(h, e.ActorID)
	writeField(h, e.ActorName)
	writeField(h, string(e.ActorProfession))
	writeField(h, e.ActorStructure)
	writeField(h, e.OnBehalfOf)
	writeField(h, e.Action)
	writeField(h, e.TargetType)
	writeField(h, e.TargetID)
	writeField(h, string(e.Mode))
	writeField(h, e.Decision)
	writeField(h, e.Reason)
	writeField(h, e.RequestID)
	h.Write(e.PrevHash)
	return h.Sum(nil)
}

func writeField(h hash.Hash, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
