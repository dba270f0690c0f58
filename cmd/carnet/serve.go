package main

import (
	"context"

	"errors"
	"fmt"
	"github.com/carnet-sante/carnet"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/carnet-sante/carnet/internal/httpapi"
	"github.com/carnet-sante/carnet/internal/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// decisionMetrics counts the policy's decisions.
type decisionMetrics struct{ c *prometheus.CounterVec }

func (m decisionMetrics) Decision(action string, allowed bool) {
	outcome := "deny"
	if allowed {
		outcome = "allow"
	}
	m.c.WithLabelValues(action, outcome).Inc()
}

func (e *env) serve(ctx context.Context, args []string, demo bool) error {
	fs := e.flags("serve")
	addr := fs.String("addr", "127.0.0.1:8080", "adresse d'écoute")
	data := fs.String("data", "", "dossier des données (défaut $CARNET_DATA ou ./carnet-data)")
	fs.BoolVar(&demo, "demo", demo, "charger le monde de démonstration")
	baseURL := fs.String("base-url", "", "adresse publique du service (liens des notifications)")
	maxBody := fs.Int64("max-body", 20<<20, "taille maximale d'un document en octets")
	synthetic := fs.Int("demo-patients", 0, "avec --demo : patients synthétiques en plus (tests de charge)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carnet_policy_decisions_total", Help: "Access decisions by action and outcome.",
	}, []string{"action", "outcome"})
	reg.MustRegister(decisions)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("écoute sur %s : %w", *addr, err)
	}
	defer ln.Close()
	if *baseURL == "" {
		*baseURL = "http://" + ln.Addr().String()
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
			// A name, not an address: passkeys (WebAuthn) refuse an IP address as relying party.
			*baseURL = fmt.Sprintf("http://localhost:%d", tcp.Port)
		}
	}
	cfg := serviceConfig(e)
	cfg.BaseURL, cfg.MaxBodySize = *baseURL, *maxBody
	// Strict-Transport-Security when the public address is HTTPS. Cookies are always Secure
	// (browsers accept them from http://localhost and 127.0.0.1 too), unless
	// CARNET_INSECURE_COOKIES=1 for a plain-HTTP deployment behind a proxy that never exists.
	hsts := strings.HasPrefix(*baseURL, "https://")
	secure := e.getenv("CARNET_INSECURE_COOKIES") != "1"
	a, err := e.open(ctx, e.dataDir(*data), cfg, decisionMetrics{decisions})
	if err != nil {
		return err
	}
	defer a.Close()
	if demo {
		if err := loadDemo(ctx, a.svc, a.store, e.log); err != nil {
			return fmt.Errorf("monde de démonstration : %w", err)
		}
		if err := loadSynthetic(ctx, a.svc, *synthetic); err != nil {
			return fmt.Errorf("patients synthétiques : %w", err)
		}
	}
	iss, err := e.issuer(a.dataDir)
	if err != nil {
		return err
	}
	authn, err := e.newAuthenticator(ctx, a, iss)
	if err != nil {
		return err
	}
	jwks, err := iss.JWKS()
	if err != nil {
		return err
	}
	site, err := web.New(web.Options{Logger: e.log, Secure: hsts})
	if err != nil {
		return err
	}
	var proxies []netip.Prefix
	for _, v := range strings.FieldsFunc(e.getenv("CARNET_TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			addr, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return carnet.Errorf(carnet.EINVALID, "CARNET_TRUSTED_PROXIES : %q n'est ni une adresse ni un réseau", v)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		proxies = append(proxies, p)
	}
	portal := web.NewApp(site, a.svc, web.AppOptions{Secure: secure, HSTS: hsts, ProLogin: e.proLogin(a, iss, demo), TrustedProxies: proxies})
	srv := &http.Server{
		Handler: httpapi.NewServer(httpapi.Deps{Service: a.svc, Ready: a.store.Ping, Logger: e.log, Registry: reg, Version: version,
			Auth: authn, MaxBody: *maxBody, JWKS: jwks, Web: portal.Handler()}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	priv, err := e.signingKey(a.dataDir, true)
	if err != nil {
		return err
	}
	every := 10 * time.Minute
	if v := e.getenv("CARNET_CHECKPOINT_INTERVAL"); v != "" {
		if every, err = time.ParseDuration(v); err != nil || every <= 0 {
			return carnet.Errorf(carnet.EINVALID, "CARNET_CHECKPOINT_INTERVAL invalide : %q", v)
		}
	}
	jobsEvery := time.Hour
	if v := e.getenv("CARNET_JOBS_INTERVAL"); v != "" {
		if jobsEvery, err = time.ParseDuration(v); err != nil || jobsEvery <= 0 {
			return carnet.Errorf(carnet.EINVALID, "CARNET_JOBS_INTERVAL invalide : %q", v)
		}
	}
	worker, err := e.newWorker(a, reg)
	if err != nil {
		return err
	}
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		if err := worker.Run(workerCtx); err != nil {
			e.log.Error("outbox worker stopped", "err", err)
		}
	}()
	checkpointDone := make(chan struct{})
	go func() {
		defer close(checkpointDone)
		e.checkpointLoop(workerCtx, a, priv, every)
	}()
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		e.jobsLoop(workerCtx, a, jobsEvery)
	}()
	defer func() {
		stopWorker()
		<-workerDone
		<-checkpointDone
		<-jobsDone
	}()
	e.log.Info("carnet serving", "addr", ln.Addr().String(), "data", a.dataDir, "version", version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	e.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
