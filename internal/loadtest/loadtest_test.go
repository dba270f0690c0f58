package loadtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// burn spends CPU time in this process.
func burn(d time.Duration) {
	b := make([]byte, 4096)
	for end := time.Now().Add(d); time.Now().Before(end); {
		s := sha256.Sum256(b)
		b[0] = s[0]
	}
}

func TestRunCountsRequestsAndCPU(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		burn(200 * time.Microsecond)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	other := time.Duration(0)
	sc := Scenario{Name: "ping", URL: srv.URL, OtherCPU: func() time.Duration { other += 3 * time.Millisecond; return other }}
	r, err := Run(context.Background(), srv.Client(), sc, 2, 300*time.Millisecond, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Throughput <= 0 || r.P50 <= 0 || r.P99 < r.P50 {
		t.Fatalf("result: %+v", r)
	}
	// Each request burns 200 µs in this process: the CPU per request cannot be less.
	if r.CPU < time.Duration(r.Requests)*200*time.Microsecond || r.OtherCPU != 3*time.Millisecond {
		t.Errorf("CPU %v for %d requests, other %v", r.CPU, r.Requests, r.OtherCPU)
	}
	if got := r.CPUPerRequest(); got < 200*time.Microsecond {
		t.Errorf("CPU per request %v", got)
	}
	md := Markdown([]Result{r})
	if !strings.Contains(md, "| ping | 2 |") || !strings.Contains(md, "µs |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestProcessesCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip(err)
	}
	name := string(stat[bytes.IndexByte(stat, '(')+1 : bytes.LastIndexByte(stat, ')')])
	// This process's own line (other processes of the same name, such as a parallel test run,
	// may come and go): burn 100ms of CPU as getrusage counts it, and /proc must see about as
	// much (it counts in 10ms ticks).
	before, ok := statCPU(stat, name)
	own := processCPU()
	for processCPU()-own < 100*time.Millisecond {
		burn(time.Millisecond)
	}
	stat, _ = os.ReadFile("/proc/self/stat")
	after, ok2 := statCPU(stat, name)
	if !ok || !ok2 || after-before < 70*time.Millisecond {
		t.Errorf("this process (%q) used %v by /proc (%v %v), %v by getrusage", name, after-before, ok, ok2, processCPU()-own)
	}
	if _, ok := statCPU(stat, "no-such-process-x"); ok {
		t.Error("a line of another command counted")
	}
	if ProcessesCPU(name)() < after {
		t.Error("the sum over processes named like this one is less than this one's time")
	}
	if ProcessesCPU("no-such-process-x")() != 0 {
		t.Error("CPU of processes that do not exist")
	}
}
