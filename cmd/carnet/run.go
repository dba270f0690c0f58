package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/service"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `carnet — l'espace santé

Usage :
  carnet serve [--addr 127.0.0.1:8080] [--data ./carnet-data] [--demo]
                               démarre le service (SQLite et fichiers sous --data par défaut)
  carnet demo [--addr ...]     démarre le service avec un monde de démonstration
  carnet keys rotate           rechiffre les clés des patients sous une nouvelle clé maîtresse
  carnet keys generate         affiche une nouvelle clé maîtresse (pour CARNET_MASTER_KEY)
  carnet grid load FILE        charge une nouvelle grille d'habilitation
  carnet grid diff FILE        montre ce qu'une grille changerait
  carnet grid show             affiche la grille en vigueur
  carnet enroll [--batch 20000] [--report F] FICHIER.csv
                               inscrit les assurés d'un fichier (reprend après une interruption)
  carnet enroll generate --rows N [--bad 1] FICHIER.csv
                               écrit un fichier synthétique (essais, mesures)
  carnet account code NIR [--vitale N]   envoie un nouveau code provisoire (courrier perdu)
  carnet account request NIR  ouvre l'espace d'une personne qui s'était opposée, à sa demande
  carnet jobs run              tâches planifiées : créations automatiques, majorité, destructions,
                               notifications
  carnet version

Environnement :
  CARNET_DATA            dossier des données (défaut ./carnet-data)
  CARNET_DATABASE_URL    PostgreSQL (postgres://…) au lieu de SQLite
  CARNET_MASTER_KEY      clé maîtresse en base64 (sinon fichier <data>/master.key)
  CARNET_S3_ENDPOINT, CARNET_S3_ACCESS_KEY, CARNET_S3_SECRET_KEY, CARNET_S3_BUCKET, CARNET_S3_TLS
                         stockage S3 des documents chiffrés (sinon <data>/blobs)
  CARNET_SMTP_HOST, CARNET_SMTP_PORT, CARNET_SMTP_TLS (none|starttls|tls), CARNET_SMTP_USER,
  CARNET_SMTP_PASSWORD, CARNET_SMTP_FROM
                         serveur SMTP des courriels (sinon boîte de développement <data>/mail)
  CARNET_SMS_URL, CARNET_SMS_TOKEN
                         passerelle SMS HTTP (sinon fichier <data>/sms.jsonl)
  CARNET_OIDC_ISSUER, CARNET_OIDC_AUDIENCE
                         émetteur OpenID Connect des jetons des professionnels (Pro Santé Connect)
  CARNET_OIDC_CLIENT_ID, CARNET_OIDC_CLIENT_SECRET, CARNET_OIDC_REDIRECT_URL, CARNET_OIDC_SCOPES
                         connexion des professionnels au portail (Pro Santé Connect)
  CARNET_TOKEN_ISSUER, CARNET_TOKEN_KEY_FILE
                         émetteur intégré des jetons (défaut <data>/token-signing.key)
  CARNET_AUDIT_KEY_FILE  clé Ed25519 des points de contrôle (défaut <data>/audit-signing.key)
  CARNET_CHECKPOINT_INTERVAL  fréquence des points de contrôle du journal (défaut 10m)
  CARNET_BREAK_GLASS_WINDOW  durée d'une session bris de glace (défaut 120h)
  CARNET_OPPOSITION_PERIOD  délai avant création automatique (défaut 1008h = 6 semaines)
  CARNET_ARCHIVE_PERIOD  conservation d'un espace fermé (défaut 87600h = 10 ans)
  CARNET_HANDOVER_AGE    âge où le mineur reprend son espace (défaut 18)
  CARNET_SESSION_IDLE, CARNET_SESSION_MAX  inactivité (30m) et durée maximale (12h) d'une session
  CARNET_TRUSTED_PROXIES  mandataires inverses (adresses ou réseaux) dont X-Forwarded-For est cru
                         pour limiter les tentatives par adresse du client
  CARNET_JOBS_INTERVAL   fréquence des tâches planifiées dans serve (défaut 1h)
  CARNET_LOG_LEVEL       debug, info (défaut), warn, error
`

// env is the process environment as run receives it.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	e.log = newLogger(stderr, getenv("CARNET_LOG_LEVEL"))
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("commande manquante")
	}
	cmd, rest := args[1], args[2:]
	var err error
	switch cmd {
	case "serve":
		err = e.serve(ctx, rest, false)
	case "demo":
		err = e.serve(ctx, rest, true)
	case "keys":
		err = e.keys(ctx, rest)
	case "grid":
		err = e.grid(ctx, rest)
	case "enroll":
		err = e.enroll(ctx, rest)
	case "account":
		err = e.account(ctx, rest)
	case "jobs":
		err = e.jobs(ctx, rest)
	case "audit":
		err = e.audit(ctx, rest)
	case "token":
		err = e.token(ctx, rest)
	case "directory":
		err = e.directory(ctx, rest)
	case "bench":
		err = e.bench(ctx, rest)
	case "version":
		fmt.Fprintln(stdout, "carnet", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("commande inconnue : %q", cmd)
	}
	if err != nil && carnet.ErrorCode(err) != carnet.EINTERNAL {
		// A known error: say it in the user's words, keep the cause in the log.
		e.log.Debug("command failed", "err", err)
		return errors.New(carnet.ErrorMessage(err))
	}
	return err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, opts))
		}
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// flags returns a flag set that writes its errors to stderr.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// serviceConfig reads the service's tunables from the environment.
func serviceConfig(e *env) service.Config {
	var cfg service.Config
	if v := e.getenv("CARNET_BREAK_GLASS_WINDOW"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			cfg.BreakGlassWindow = d
		} else {
			e.log.Warn("CARNET_BREAK_GLASS_WINDOW ignored", "value", v)
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"CARNET_OPPOSITION_PERIOD", &cfg.OppositionPeriod}, {"CARNET_ARCHIVE_PERIOD", &cfg.ArchivePeriod},
		{"CARNET_SESSION_IDLE", &cfg.Sessions.Idle}, {"CARNET_SESSION_MAX", &cfg.Sessions.Absolute}} {
		if v := e.getenv(d.name); v != "" {
			if x, err := time.ParseDuration(v); err == nil && x > 0 {
				*d.dst = x
			} else {
				e.log.Warn(d.name+" ignored", "value", v)
			}
		}
	}
	if cfg.Sessions.Idle > 0 || cfg.Sessions.Absolute > 0 {
		def := identity.DefaultSessionPolicy()
		if cfg.Sessions.Idle == 0 {
			cfg.Sessions.Idle = def.Idle
		}
		if cfg.Sessions.Absolute == 0 {
			cfg.Sessions.Absolute = def.Absolute
		}
	}
	if v := e.getenv("CARNET_HANDOVER_AGE"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 18 {
			cfg.HandOverAge = n
		} else {
			e.log.Warn("CARNET_HANDOVER_AGE ignored (10 to 18)", "value", v)
		}
	}
	if e.getenv("CARNET_PASSWORD_COST") == "test" {
		// Cheap argon2id parameters for tests and demos on slow machines; never in production.
		e.log.Warn("CARNET_PASSWORD_COST=test: weak password hashing, for tests only")
		cfg.PasswordParams = identity.TestPasswordParams()
	}
	return cfg
}
