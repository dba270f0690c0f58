package web

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob/fs"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/store/sqlite"
)

// newTestService builds the real service over a temporary SQLite store and blob directory, with
// cheap password hashing unless cfg says otherwise; the pages' tests build their worlds on it.
func newTestService(t *testing.T, cfg service.Config) (*service.Service, carnet.Store) {
	t.Helper()
	return newTestServiceIn(t, cfg, t.TempDir())
}

// newTestServiceIn is newTestService with its database and blobs (under "blobs") in dir.
func newTestServiceIn(t *testing.T, cfg service.Config, dir string) (*service.Service, carnet.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "carnet.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := keys.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PasswordParams == (identity.PasswordParams{}) {
		cfg.PasswordParams = identity.TestPasswordParams()
	}
	svc, err := service.New(ctx, service.Deps{Store: st, Blobs: blobs, Keys: keys.NewKeyring(mk), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}
