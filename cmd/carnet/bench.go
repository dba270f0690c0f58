package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/loadtest"
)

// bench measures the professional API under load: it starts a server with the demo world in a
// temporary data directory (SQLite, or PostgreSQL with CARNET_DATABASE_URL), issues a token for
// the demo's médecin traitant, and runs each scenario at each client count against it, beside a
// baseline (the same server answering a static JSON body). Traffic goes to loopback only, and
// every run is bounded in time and in requests.
func (e *env) bench(ctx context.Context, args []string) error {
	fs := e.flags("bench")
	clientsFlag := fs.String("clients", "4,16", "nombres de clients simultanés")
	duration := fs.Duration("duration", 5*time.Second, "durée de chaque mesure")
	maxReq := fs.Int("max-requests", 500000, "nombre maximal de requêtes par mesure")
	only := fs.String("only", "", "ne mesurer que les scénarios dont le nom contient ce texte (et la référence)")
	cpuProfile := fs.String("cpuprofile", "", "profils CPU (pprof) du serveur et des clients, un par mesure hors référence (FICHIER-scénario-clients)")
	spread := fs.Int("patients", 0, "répartir les lectures sur ce nombre de patients synthétiques (0 : une seule patiente)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var clients []int
	for _, c := range strings.Split(*clientsFlag, ",") {
		var n int
		if _, err := fmt.Sscan(c, &n); err != nil || n < 1 || n > 256 {
			return carnet.Errorf(carnet.EINVALID, "--clients : entiers de 1 à 256 séparés par des virgules")
		}
		clients = append(clients, n)
	}
	dir, err := os.MkdirTemp("", "carnet-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := map[string]string{}
	for _, k := range []string{"CARNET_DATABASE_URL"} {
		env[k] = e.getenv(k)
	}
	env["CARNET_DATA"] = dir
	getenv := func(k string) string { return env[k] }
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	addrs := make(chan string, 1)
	errc := make(chan error, 1)
	logs := &addrSniffer{found: addrs}
	go func() {
		errc <- run(srvCtx, []string{"carnet", "serve", "--demo", "--demo-patients", fmt.Sprint(*spread), "--addr", "127.0.0.1:0"},
			getenv, nil, io.Discard, logs)
	}()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a
	case err := <-errc:
		return fmt.Errorf("serveur : %w", err)
	case <-time.After(60 * time.Second):
		return fmt.Errorf("le serveur n'a pas démarré")
	}
	var tok strings.Builder
	if err := run(ctx, []string{"carnet", "token", "--rpps", rppsWithLuhn("1000123456"), "--ttl", "2h"}, getenv, nil, &tok, io.Discard); err != nil {
		return err
	}
	hdr := http.Header{"Authorization": {"Bearer " + strings.TrimSpace(tok.String())}}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}
	// Find the demo patient and one of her documents.
	get := func(path string, v any) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header = hdr.Clone()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s : %d %s", path, resp.StatusCode, b)
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}
	// The records read: the demo's patient, or the synthetic ones.
	nirs := []string{DemoMarieNIR}
	if *spread > 0 {
		nirs = nirs[:0]
		for i := 0; i < *spread; i++ {
			nirs = append(nirs, nirWithKey(fmt.Sprintf("1800175%03d%03d", 100+i/1000, i%1000)))
		}
	}
	var lists, reads, contents []string
	for _, nir := range nirs {
		var pat struct{ ID string }
		if err := get("/api/v1/patients?ins="+nir, &pat); err != nil {
			return err
		}
		var list struct {
			Documents []struct{ ID string }
		}
		if err := get("/api/v1/patients/"+pat.ID+"/documents", &list); err != nil || len(list.Documents) == 0 {
			return fmt.Errorf("liste des documents : %v", err)
		}
		docPath := base + "/api/v1/patients/" + pat.ID + "/documents/" + list.Documents[0].ID
		lists = append(lists, base+"/api/v1/patients/"+pat.ID+"/documents")
		reads = append(reads, docPath)
		contents = append(contents, docPath+"/content")
	}
	scenarios := []loadtest.Scenario{
		{Name: "baseline: static JSON", URL: base + "/api/v1/ping"},
		{Name: "document list (audited)", URLs: lists, Header: hdr},
		{Name: "document read (audited, metadata)", URLs: reads, Header: hdr},
		{Name: "document content (audited, decrypted)", URLs: contents, Header: hdr},
	}
	store := "SQLite"
	if env["CARNET_DATABASE_URL"] != "" {
		store = "PostgreSQL"
		// A PostgreSQL on this machine shares its cores: count its processes' CPU too.
		for i := range scenarios {
			scenarios[i].OtherCPU = loadtest.ProcessesCPU("postgres")
		}
	}
	if *only != "" {
		kept := scenarios[:1]
		for _, sc := range scenarios[1:] {
			if strings.Contains(sc.Name, *only) {
				kept = append(kept, sc)
			}
		}
		scenarios = kept
	}
	fmt.Fprintf(e.stdout, "Store: %s — %d patient(s) — %d s per measure\n\n", store, len(nirs), int(duration.Seconds()))
	var results []loadtest.Result
	for _, c := range clients {
		for i, sc := range scenarios {
			// The baseline is not profiled: each audited measure has its own profile, so that
			// one scenario's work is not diluted by another's.
			stopProfile := func() {}
			if *cpuProfile != "" && i > 0 {
				if stopProfile, err = startCPUProfile(measureProfile(*cpuProfile, sc.Name, c)); err != nil {
					return err
				}
			}
			r, err := loadtest.Run(ctx, client, sc, c, *duration, *maxReq)
			stopProfile()
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	fmt.Fprint(e.stdout, loadtest.Markdown(results))
	stop()
	return <-errc
}

// measureProfile names the profile of one measure: the scenario's first word after "document"
// and the number of clients go before the extension ("p.prof" → "p-read-16.prof").
func measureProfile(path, scenario string, clients int) string {
	word := strings.Fields(strings.TrimPrefix(scenario, "document "))[0]
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%s-%d%s", strings.TrimSuffix(path, ext), word, clients, ext)
}

// addrSniffer reads the server's JSON log lines and reports the address it listens on.
type addrSniffer struct {
	found chan string
	buf   []byte
	done  bool
}

func (a *addrSniffer) Write(p []byte) (int, error) {
	if a.done {
		return len(p), nil
	}
	a.buf = append(a.buf, p...)
	for {
		i := strings.IndexByte(string(a.buf), '\n')
		if i < 0 {
			break
		}
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(a.buf[:i], &rec) == nil && rec.Msg == "carnet serving" {
			a.found <- rec.Addr
			a.done = true
			return len(p), nil
		}
		a.buf = a.buf[i+1:]
	}
	return len(p), nil
}
