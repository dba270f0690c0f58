package enroll

import (
	"bufio"
	"encoding/csv"
	"io"
	"os"
	"strconv"

	"github.com/carnet-sante/carnet"
)

// ReportHeader is the first line of a report.
const ReportHeader = "ligne;motif\n"

// Report is the CSV file of bad rows (ligne;motif) written during a run. It is not safe for
// concurrent use.
type Report struct {
	f       *os.File
	count   countingWriter
	cw      *csv.Writer
	flushed int64
	rec     [2]string
	closed  bool
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// OpenReport creates or reopens the report at path and cuts it to truncateAt bytes: 0 for a
// fresh run (any older report is emptied and the header written), or the Offset saved with the
// checkpoint of an interrupted run, so that the resumed run's report equals an uninterrupted
// run's. The file is readable by its owner only: reasons may quote an email or a phone number.
func OpenReport(path string, truncateAt int64) (*Report, error) {
	const op = "enroll.OpenReport"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	fail := func(err error) (*Report, error) {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(carnet.WrapErr(op, carnet.EUNAVAILABLE, err))
	}
	if truncateAt < 0 || truncateAt > fi.Size() {
		return fail(carnet.Errorf(carnet.EINVALID,
			"rapport %s : %d octets, reprise demandée à l'octet %d ; le rapport ne correspond pas au point de reprise",
			path, fi.Size(), truncateAt))
	}
	if err := f.Truncate(truncateAt); err != nil {
		return fail(carnet.WrapErr(op, carnet.EUNAVAILABLE, err))
	}
	if _, err := f.Seek(truncateAt, io.SeekStart); err != nil {
		return fail(carnet.WrapErr(op, carnet.EUNAVAILABLE, err))
	}
	r := &Report{f: f, count: countingWriter{w: f, n: truncateAt}, flushed: truncateAt}
	bw := bufio.NewWriterSize(&r.count, 64<<10)
	r.cw = csv.NewWriter(bw) // uses bw as is: it is large enough
	r.cw.Comma = ';'
	if truncateAt == 0 {
		if _, err := bw.WriteString(ReportHeader); err != nil {
			return fail(carnet.WrapErr(op, carnet.EUNAVAILABLE, err))
		}
		if err := r.Sync(); err != nil {
			return fail(err)
		}
	}
	return r, nil
}

// Add appends a bad row to the report (buffered: call Sync before saving a checkpoint).
func (r *Report) Add(b Bad) error {
	if r.closed {
		return carnet.Errorf(carnet.EINTERNAL, "rapport déjà fermé")
	}
	r.rec[0], r.rec[1] = strconv.Itoa(b.Line), b.Reason
	if err := r.cw.Write(r.rec[:]); err != nil {
		return carnet.WrapErr("enroll.Report.Add", carnet.EUNAVAILABLE, err)
	}
	return nil
}

// Sync flushes the buffered rows and commits the file to stable storage.
func (r *Report) Sync() error {
	const op = "enroll.Report.Sync"
	if r.closed {
		return carnet.Errorf(carnet.EINTERNAL, "rapport déjà fermé")
	}
	r.cw.Flush()
	if err := r.cw.Error(); err != nil {
		return carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	if err := r.f.Sync(); err != nil {
		return carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	r.flushed = r.count.n
	return nil
}

// Offset is the size of the report as of the last Sync: the value to save with a checkpoint
// and to pass back to OpenReport when resuming.
func (r *Report) Offset() int64 { return r.flushed }

// Close syncs and closes the report.
func (r *Report) Close() error {
	if r.closed {
		return nil
	}
	err := r.Sync()
	r.closed = true
	if cerr := r.f.Close(); err == nil && cerr != nil {
		err = carnet.WrapErr("enroll.Report.Close", carnet.EUNAVAILABLE, cerr)
	}
	return err
}
