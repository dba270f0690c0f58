package enroll

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzReader checks that no input makes the reader panic, that lines strictly increase, that
// the offset never goes back nor past the input, and that SkipThrough agrees with Next.
func FuzzReader(f *testing.F) {
	a, m := adult(f), minor(f)
	f.Add([]byte(Header + "\n" + line(a, ";") + "\n" + line(m, ";") + "\n"))
	f.Add([]byte("\ufeff" + Header + "\r\n" + line(with(a, "postal_address", "1 rue X\n75002 Paris"), ";") + "\r\n\r\n" + line(a, ";")))
	f.Add([]byte("nir,vitale_serial,birth_name,given_names,sex,birth_date\n" + `"1",2,"x""y",4,5` + "\n\"open\n;;\n"))
	f.Add([]byte(Header + "\n" + `;"x";DU"PONT` + "\n" + `"a"b;` + "\n"))
	f.Add([]byte(""))
	var buf bytes.Buffer
	Generate(&buf, 30, 30, 1)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), testNow)
		if err != nil {
			return
		}
		prev, off := 0, r.Offset()
		var lines []int
		for {
			row, bad, err := r.Next()
			if err != nil {
				if _, _, again := r.Next(); again != err {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				break
			}
			if (row == nil) == (bad == nil) {
				t.Fatalf("row %v, bad %v", row, bad)
			}
			l := 0
			if row != nil {
				l = row.Line
				if row.Patient.Validate(testNow) != nil {
					t.Fatalf("line %d: a good row fails Validate", l)
				}
				p := row.Patient
				for _, s := range []string{p.NIR, p.BirthName, p.GivenNames, p.UsedName, string(p.Sex), p.Email, p.Mobile, p.PostalAddress, row.VitaleSerial, row.RightsHolderNIR} {
					if !utf8.ValidString(s) {
						t.Fatalf("line %d: invalid UTF-8 in a good row: %q", l, s)
					}
				}
			} else {
				l = bad.Line
				if bad.Reason == "" {
					t.Fatalf("line %d: no reason", l)
				}
			}
			if l <= prev {
				t.Fatalf("line %d after %d", l, prev)
			}
			prev = l
			lines = append(lines, l)
			if o := r.Offset(); o < off || o > int64(len(data)) {
				t.Fatalf("offset %d after %d (input %d bytes)", o, off, len(data))
			}
			off = r.Offset()
		}
		// Skipping through the k-th record leaves the ones after it.
		if len(lines) > 1 {
			k := len(lines) / 2
			r, _ := NewReader(bytes.NewReader(data), testNow)
			if err := r.SkipThrough(lines[k]); err != nil {
				t.Fatal(err)
			}
			for _, want := range lines[k+1:] {
				row, bad, err := r.Next()
				if err != nil {
					t.Fatalf("after SkipThrough: %v", err)
				}
				got := 0
				if row != nil {
					got = row.Line
				} else {
					got = bad.Line
				}
				if got != want {
					t.Fatalf("after SkipThrough(%d): line %d, want %d", lines[k], got, want)
				}
			}
			if _, _, err := r.Next(); err == nil {
				t.Fatal("after SkipThrough: more records than before")
			}
		}
	})
}
