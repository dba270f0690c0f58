package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/carnet-sante/carnet/internal/service"

	"github.com/carnet-sante/carnet"
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
  CARNET_TOKEN_ISSUER, CARNET_TOKEN_KEY_FILE
                         émetteur intégré des jetons (défaut <data>/token-signing.key)
  CARNET_AUDIT_KEY_FILE  clé Ed25519 des points de contrôle (défaut <data>/audit-signing.key)
  CARNET_CHECKPOINT_INTERVAL  fréquence des points de contrôle du journal (défaut 10m)
  CARNET_BREAK_GLASS_WINDOW  durée d'une session bris de glace (défaut 120h)
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
	return cfg
}
