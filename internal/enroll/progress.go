package enroll

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Progress shows how far a run has gone, in French: rows done, rows per second, and from the
// bytes read the percentage and the time left. On a terminal it rewrites one line at most once
// a second; elsewhere (a log file, a pipe) it prints a line every ten seconds. Write errors are
// ignored: progress is a courtesy. It is not safe for concurrent use.
type Progress struct {
	w        io.Writer
	total    int64
	terminal bool
	now      func() time.Time

	start      time.Time
	last       time.Time
	baseRows   int64
	baseOffset int64
	width      int // runes of the line shown on the terminal
}

// NewProgress starts measuring now. total is the size of the input in bytes (0 if unknown: no
// percentage nor time left is shown then).
func NewProgress(w io.Writer, total int64, terminal bool, now func() time.Time) *Progress {
	t := now()
	return &Progress{w: w, total: total, terminal: terminal, now: now, start: t, last: t}
}

// IsTerminal reports whether f is a terminal (a character device), to pick NewProgress's mode.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Resume tells a resumed run where the previous runs stopped: rows already handled and bytes
// already read (skipped in this run). The counts shown stay cumulative, rates and the time left
// use this run's work only.
func (p *Progress) Resume(rows, offset int64) {
	p.baseRows, p.baseOffset = rows, offset
}

func (p *Progress) interval() time.Duration {
	if p.terminal {
		return time.Second
	}
	return 10 * time.Second
}

// Update reports the cumulative counts (rows handled, of which bad) and the input offset in
// bytes. It prints only when the interval has passed since the last line, so it may be called
// after every row.
func (p *Progress) Update(rows, bad, offset int64) {
	t := p.now()
	if t.Sub(p.last) < p.interval() {
		return
	}
	p.last = t
	line := p.line(rows, bad, offset, t)
	if p.terminal {
		n := utf8.RuneCountInString(line)
		pad := ""
		if n < p.width {
			pad = strings.Repeat(" ", p.width-n)
		}
		p.width = n
		fmt.Fprint(p.w, "\r"+line+pad)
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *Progress) line(rows, bad, offset int64, t time.Time) string {
	var b strings.Builder
	b.WriteString(groupDigits(rows))
	b.WriteString(plural(rows, " ligne", " lignes"))
	if bad > 0 {
		b.WriteString(" · ")
		b.WriteString(groupDigits(bad))
		b.WriteString(plural(bad, " rejetée", " rejetées"))
	}
	elapsed := t.Sub(p.start)
	if elapsed > 0 {
		rate := float64(rows-p.baseRows) / elapsed.Seconds()
		b.WriteString(" · ")
		b.WriteString(groupDigits(int64(rate + 0.5)))
		b.WriteString(" lignes/s")
	}
	if p.total > 0 {
		pct := min(max(offset*100/p.total, 0), 100)
		fmt.Fprintf(&b, " · %d %%", pct)
		if done := offset - p.baseOffset; done > 0 && elapsed > 0 && offset <= p.total {
			left := time.Duration(float64(elapsed) * float64(p.total-offset) / float64(done))
			b.WriteString(" · reste ~ ")
			b.WriteString(clock(left))
		}
	}
	return b.String()
}

// Done prints the final summary: rows handled, valid and bad, time taken and rate.
func (p *Progress) Done(rows, bad int64) {
	elapsed := p.now().Sub(p.start)
	if p.terminal && p.width > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.width)+"\r")
		p.width = 0
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Terminé : %s%s en %s", groupDigits(rows), plural(rows, " ligne traitée", " lignes traitées"), clock(elapsed))
	if elapsed > 0 {
		fmt.Fprintf(&b, " (%s lignes/s)", groupDigits(int64(float64(rows-p.baseRows)/elapsed.Seconds()+0.5)))
	}
	fmt.Fprintf(&b, " · %s%s · %s%s\n", groupDigits(rows-bad), plural(rows-bad, " valide", " valides"),
		groupDigits(bad), plural(bad, " rejetée", " rejetées"))
	fmt.Fprint(p.w, b.String())
}

func plural(n int64, one, many string) string {
	if n == 0 || n == 1 {
		return one
	}
	return many
}

// groupDigits writes n with a space between groups of three digits: 1 234 567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// clock formats a duration as m:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}
