package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob/fs"
	"github.com/carnet-sante/carnet/internal/blob/s3"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/store/postgres"
	"github.com/carnet-sante/carnet/internal/store/sqlite"
)

// app is what the commands work with: adapters chosen here, and only here.
type app struct {
	dataDir string
	store   carnet.Store
	blobs   carnet.BlobStore
	keys    *keys.Keyring
	keySrc  keys.Source
	svc     *service.Service
}

func (a *app) Close() error {
	if a.store != nil {
		return a.store.Close()
	}
	return nil
}

func (e *env) dataDir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := e.getenv("CARNET_DATA"); v != "" {
		return v
	}
	return "carnet-data"
}

// openStore opens PostgreSQL if CARNET_DATABASE_URL is set, else SQLite under the data dir.
func (e *env) openStore(ctx context.Context, dataDir string) (carnet.Store, error) {
	if url := e.getenv("CARNET_DATABASE_URL"); url != "" {
		o := postgres.Options{Logger: e.log}
		if v := e.getenv("CARNET_PG_APPEND_BATCH"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, carnet.Errorf(carnet.EINVALID, "CARNET_PG_APPEND_BATCH : un entier positif est attendu (1 : pas de regroupement), pas %q", v)
			}
			o.AppendBatch = n
		}
		return postgres.Open(ctx, url, o)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, carnet.WrapErr("open data dir", carnet.EUNAVAILABLE, err)
	}
	return sqlite.Open(ctx, filepath.Join(dataDir, "carnet.db"), sqlite.Options{Logger: e.log})
}

func (e *env) openBlobs(ctx context.Context, dataDir string) (carnet.BlobStore, error) {
	if ep := e.getenv("CARNET_S3_ENDPOINT"); ep != "" {
		bucket := e.getenv("CARNET_S3_BUCKET")
		if bucket == "" {
			bucket = "carnet-documents"
		}
		return s3.Open(ctx, s3.Config{Endpoint: ep, AccessKey: e.getenv("CARNET_S3_ACCESS_KEY"),
			SecretKey: e.getenv("CARNET_S3_SECRET_KEY"), Bucket: bucket, UseTLS: strings.EqualFold(e.getenv("CARNET_S3_TLS"), "true")})
	}
	st, err := fs.Open(filepath.Join(dataDir, "blobs"))
	if err != nil {
		return nil, err
	}
	// Temp files left by a crash mid-put are never referenced: clear the old ones.
	if n, err := st.RemoveTemp(ctx, time.Hour); err != nil {
		e.log.Warn("blob temp clean-up failed", "err", err)
	} else if n > 0 {
		e.log.Info("blob temp files removed", "count", n)
	}
	return st, nil
}

func (e *env) keySource(dataDir string) keys.Source {
	return keys.Source{File: filepath.Join(dataDir, "master.key"), Env: e.getenv("CARNET_MASTER_KEY"), EnvNext: e.getenv("CARNET_MASTER_KEY_NEXT")}
}

// open wires the whole application. It refuses to start with a wrong master key, and never
// creates a new key over a database that holds encrypted data.
func (e *env) open(ctx context.Context, dataDir string, cfg service.Config, metrics service.Metrics) (*app, error) {
	a := &app{dataDir: dataDir}
	var err error
	if a.store, err = e.openStore(ctx, dataDir); err != nil {
		return nil, err
	}
	fail := func(err error) (*app, error) {
		a.Close()
		return nil, err
	}
	initialized, err := service.KeysInitialized(ctx, a.store)
	if err != nil {
		return fail(err)
	}
	a.keySrc = e.keySource(dataDir)
	var created bool
	if a.keys, created, err = keys.Load(a.keySrc, !initialized); err != nil {
		return fail(err)
	}
	if created {
		e.log.Info("new master key created", "file", a.keySrc.File)
	}
	if a.blobs, err = e.openBlobs(ctx, dataDir); err != nil {
		return fail(err)
	}
	a.svc, err = service.New(ctx, service.Deps{Store: a.store, Blobs: a.blobs, Keys: a.keys, Logger: e.log, Config: cfg, Metrics: metrics})
	if err != nil {
		return fail(err)
	}
	return a, nil
}
