package main

import (
	"context"
	"path/filepath"
	"strconv"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/notify"
	"github.com/carnet-sante/carnet/internal/notify/email"
	"github.com/carnet-sante/carnet/internal/notify/letter"
	"github.com/carnet-sante/carnet/internal/notify/sms"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/prometheus/client_golang/prometheus"
)

// newWorker builds the outbox worker from the environment: SMTP when CARNET_SMTP_HOST is set
// (else a development mailbox under <data>/mail), an HTTP SMS gateway when CARNET_SMS_URL is set
// (else <data>/sms.jsonl), postal letters as files under <data>/letters.
func (e *env) newWorker(a *app, reg *prometheus.Registry) (*notify.Worker, error) {
	w := &notify.Worker{Store: a.store, Logger: e.log, Reveal: a.svc.RevealSecret, Feed: a.svc.QueueEnrolmentCodes}
	from := e.getenv("CARNET_SMTP_FROM")
	if from == "" {
		from = "Carnet <ne-pas-repondre@carnet.invalid>"
	}
	if host := e.getenv("CARNET_SMTP_HOST"); host != "" {
		port := 587
		if p := e.getenv("CARNET_SMTP_PORT"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, carnet.Errorf(carnet.EINVALID, "CARNET_SMTP_PORT invalide : %q", p)
			}
			port = n
		}
		mode, err := email.ParseTLSMode(e.getenv("CARNET_SMTP_TLS"))
		if err != nil {
			return nil, carnet.Errorf(carnet.EINVALID, "CARNET_SMTP_TLS invalide : %v", err)
		}
		s, err := email.New(email.Config{Host: host, Port: port, From: from, Username: e.getenv("CARNET_SMTP_USER"),
			Password: e.getenv("CARNET_SMTP_PASSWORD"), TLS: mode})
		if err != nil {
			return nil, carnet.Errorf(carnet.EINVALID, "configuration SMTP : %v", err)
		}
		w.Email = s
	} else {
		s, err := email.NewDirSink(filepath.Join(a.dataDir, "mail"), from)
		if err != nil {
			return nil, err
		}
		w.Email = s
	}
	if u := e.getenv("CARNET_SMS_URL"); u != "" {
		g, err := sms.NewHTTPGateway(sms.HTTPConfig{URL: u, Token: e.getenv("CARNET_SMS_TOKEN")})
		if err != nil {
			return nil, carnet.Errorf(carnet.EINVALID, "CARNET_SMS_URL : %v", err)
		}
		w.SMS = g
	} else {
		w.SMS = sms.NewFileSink(filepath.Join(a.dataDir, "sms.jsonl"), nil)
	}
	// Letters go out as one printable PDF per batch, for a print-and-post service.
	w.Letters = letter.NewPDFSink(filepath.Join(a.dataDir, "letters"))
	if reg != nil {
		c := &notify.Counters{}
		w.Metrics = c
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "carnet_notifications_sent_total", Help: "Notifications delivered."},
				func() float64 { return float64(c.SentTotal()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "carnet_notifications_retried_total", Help: "Notification attempts that will be retried."},
				func() float64 { return float64(c.RetriedTotal()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "carnet_notifications_failed_total", Help: "Notifications given up."},
				func() float64 { return float64(c.FailedTotal()) }),
		)
	}
	return w, nil
}

// jobs runs the scheduled jobs once: automatic creation of spaces after the opposition
// period, hand-over of minors' spaces, destruction of closed spaces after the archive period,
// then the outbox.
func (e *env) jobs(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet jobs run")
	}
	fs := e.flags("jobs run")
	data := fs.String("data", "", "dossier des données")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := e.open(ctx, e.dataDir(*data), serviceConfig(e), nil)
	if err != nil {
		return err
	}
	defer a.Close()
	w, err := e.newWorker(a, nil)
	if err != nil {
		return err
	}
	r, err := a.svc.RunJobs(ctx)
	if err != nil {
		return err
	}
	e.log.Info("account jobs done", "created", r.Created, "handed_over", r.HandedOver, "destroyed", r.Destroyed)
	total, err := w.Drain(ctx)
	if err != nil {
		return err
	}
	e.log.Info("jobs done", "notifications_sent", total)
	return nil
}

// jobsLoop runs the account jobs inside serve, every interval, until ctx ends.
func (e *env) jobsLoop(ctx context.Context, a *app, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r, err := a.svc.RunJobs(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("account jobs failed", "err", err)
		} else if r != (service.JobReport{}) {
			e.log.Info("account jobs", "created", r.Created, "handed_over", r.HandedOver, "destroyed", r.Destroyed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
