// Package loadtest is Carnet's small HTTP load generator: a fixed number of clients send
// requests back to back for a fixed time, bounded in count too, and the run reports throughput
// and latency percentiles. It only targets the address it is given (a server on this machine).
package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
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
	slices.Sort(lat)
	r := Result{Scenario: sc.Name, Clients: clients, Requests: len(lat), Errors: errs, Duration: elapsed}
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
	s := "| scenario | clients | requests | req/s | p50 | p99 | errors |\n|---|---|---|---|---|---|---|\n"
	for _, r := range rs {
		s += fmt.Sprintf("| %s | %d | %d | %.0f | %s | %s | %d |\n", r.Scenario, r.Clients, r.Requests, r.Throughput,
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
	}
	return s
}
