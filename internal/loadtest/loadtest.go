// Package loadtest is Carnet's small HTTP load generator: a fixed number of clients send
// requests back to back for a fixed time, bounded in count too, and the run reports throughput
// and latency percentiles. It only targets the address it is given (a server on this machine).
package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Scenario is one kind of request.
type Scenario struct {
	Name   string
	Method string
	URL    string
	URLs   []string // when set, requests go to these in turn (spread over records)
	Header http.Header
	Want   int // expected status (default 200)
	// OtherCPU, when set, reads the CPU time used so far by other processes that serve the
	// scenario (see ProcessesCPU); the measure records its increase.
	OtherCPU func() time.Duration
}

// Result is what a run measured.
type Result struct {
	Scenario   string
	Clients    int
	Requests   int
	Errors     int
	Duration   time.Duration
	Throughput float64 // requests per second
	P50, P99   time.Duration
	// CPU time spent during the measure by this process (the load generator, and the server when
	// it runs in the same process) and by the scenario's other processes (Scenario.OtherCPU: the
	// database on this machine). Per request, these do not depend on what else shares the machine
	// as much as the throughput does.
	CPU, OtherCPU time.Duration
}

// CPUPerRequest is the CPU time (this process and the others) per request.
func (r Result) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return (r.CPU + r.OtherCPU) / time.Duration(r.Requests)
}

// Run sends the scenario's request from clients goroutines for d (and at most maxRequests in
// all), after a short warm-up, and returns the measures.
func Run(ctx context.Context, client *http.Client, sc Scenario, clients int, d time.Duration, maxRequests int) (Result, error) {
	if sc.Want == 0 {
		sc.Want = http.StatusOK
	}
	if sc.Method == "" {
		sc.Method = http.MethodGet
	}
	var next atomic.Uint64
	do := func() (time.Duration, error) {
		u := sc.URL
		if len(sc.URLs) > 0 {
			u = sc.URLs[next.Add(1)%uint64(len(sc.URLs))]
		}
		req, err := http.NewRequestWithContext(ctx, sc.Method, u, nil)
		if err != nil {
			return 0, err
		}
		for k, v := range sc.Header {
			req.Header[k] = v
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != sc.Want {
			return 0, fmt.Errorf("%s: status %d", sc.Name, resp.StatusCode)
		}
		return time.Since(start), nil
	}
	// Warm-up: connections, caches.
	for i := 0; i < clients*5; i++ {
		if _, err := do(); err != nil {
			return Result{}, err
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var firstErr error
	var count int
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	cpu0, other0 := processCPU(), time.Duration(0)
	if sc.OtherCPU != nil {
		other0 = sc.OtherCPU()
	}
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				mu.Lock()
				if count >= maxRequests {
					mu.Unlock()
					break
				}
				count++
				mu.Unlock()
				l, err := do()
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				local = append(local, l)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := Result{Scenario: sc.Name, Clients: clients, Requests: len(lat), Errors: errs, Duration: elapsed, CPU: processCPU() - cpu0}
	if sc.OtherCPU != nil {
		r.OtherCPU = sc.OtherCPU() - other0
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		r.Throughput = float64(len(lat)) / elapsed.Seconds()
		r.P50 = lat[len(lat)*50/100]
		r.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	if errs > 0 {
		return r, fmt.Errorf("%d errors, first: %w", errs, firstErr)
	}
	return r, nil
}

// Markdown formats results as a table.
func Markdown(rs []Result) string {
	s := "| scenario | clients | requests | req/s | p50 | p99 | errors | CPU/req | of which DB |\n|---|---|---|---|---|---|---|---|---|\n"
	for _, r := range rs {
		per := func(d time.Duration) string {
			if r.Requests == 0 {
				return "—"
			}
			return fmt.Sprintf("%d µs", (d / time.Duration(r.Requests)).Microseconds())
		}
		s += fmt.Sprintf("| %s | %d | %d | %.0f | %s | %s | %d | %s | %s |\n", r.Scenario, r.Clients, r.Requests, r.Throughput,
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors, per(r.CPU+r.OtherCPU), per(r.OtherCPU))
	}
	return s
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ProcessesCPU returns the CPU time used so far by the processes of this machine whose command
// name is name (from /proc: Linux only; 0 elsewhere or when unreadable). Give it as
// Scenario.OtherCPU to count a local database server's work. A process that exits between two
// readings takes its time with it: count long-lived processes (a server's backends in a pool).
func ProcessesCPU(name string) func() time.Duration {
	return func() time.Duration {
		files, _ := filepath.Glob("/proc/[0-9]*/stat")
		var total time.Duration
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			if d, ok := statCPU(b, name); ok {
				total += d
			}
		}
		return total
	}
}

// statCPU reads the user and system time of a /proc/PID/stat line, if its command is name.
func statCPU(b []byte, name string) (time.Duration, bool) {
	// pid (comm) state ppid ... utime stime: fields 14 and 15, counted after the comm's ')'.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || string(b[open+1:end]) != name {
		return 0, false
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * (time.Second / 100), true // USER_HZ is 100 on Linux
}
