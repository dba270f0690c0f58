package enroll

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkRead reads and validates a generated file of 100 000 rows (2 % bad) per iteration.
func BenchmarkRead(b *testing.B) {
	const n = 100000
	var buf bytes.Buffer
	if _, err := Generate(&buf, n, 2, 1); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), testNow)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGenerate writes 100 000 rows (2 % bad) per iteration.
func BenchmarkGenerate(b *testing.B) {
	const n = 100000
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		if _, err := Generate(io.Discard, n, 2, 1); err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
