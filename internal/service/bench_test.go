package service_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/service"
)

// BenchmarkDeposit measures a whole deposit through the door: validation, sealing under the
// patient's key, a durable blob write, the policy, and metadata + audit event in one transaction.
// BenchmarkRead measures the reverse: policy, audit event, blob read, decryption, hash check.
func BenchmarkDeposit(b *testing.B) {
	for _, e := range engines() {
		for _, size := range []int{4 << 10, 256 << 10} {
			b.Run(fmt.Sprintf("%s/%dKiB", e.name, size>>10), func(b *testing.B) {
				st, path := e.open(b)
				w := newWorld(b, st, path)
				body := bytes.Repeat([]byte("compte rendu "), size/13+1)[:size]
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := w.svc.DepositDocument(ctx, w.doctor, w.patient.ID, service.NewDocument{TypeCode: "11488-4",
						Title: "Consultation", MediaType: "text/plain", Body: bytes.NewReader(body)}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, e := range engines() {
		for _, size := range []int{4 << 10, 256 << 10} {
			b.Run(fmt.Sprintf("%s/%dKiB", e.name, size>>10), func(b *testing.B) {
				st, path := e.open(b)
				w := newWorld(b, st, path)
				body := bytes.Repeat([]byte("compte rendu "), size/13+1)[:size]
				d, err := w.svc.DepositDocument(ctx, w.doctor, w.patient.ID, service.NewDocument{TypeCode: "11488-4",
					Title: "Consultation", MediaType: "text/plain", Body: bytes.NewReader(body)})
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, _, err := w.svc.ReadDocument(ctx, w.kine, w.patient.ID, d.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSealOpen is the encryption alone, as a baseline for the two above.
func BenchmarkSealOpen(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10} {
		key, _ := keys.NewDataKey()
		body := make([]byte, size)
		aad := keys.AAD("document-body", "p", "d")
		b.Run(fmt.Sprintf("seal/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				if _, err := keys.Seal(key, body, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
		sealed, _ := keys.Seal(key, body, aad)
		b.Run(fmt.Sprintf("open/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				if _, err := keys.Open(key, sealed, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var _ = carnet.EINVALID

// BenchmarkReadParallel16: 16 concurrent audited reads of one patient's document, the shape of
// the API benchmark without HTTP.
func BenchmarkReadParallel16(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			st, path := e.open(b)
			w := newWorld(b, st, path)
			d, err := w.svc.DepositDocument(ctx, w.doctor, w.patient.ID, service.NewDocument{TypeCode: "11488-4",
				Title: "Consultation", MediaType: "text/plain", Body: bytes.NewReader(bytes.Repeat([]byte("x"), 4096))})
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := w.svc.ReadDocument(ctx, w.kine, w.patient.ID, d.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
