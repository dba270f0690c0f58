package postgres_test

import (
	"context"
	"testing"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/store/postgres"
	"github.com/carnet-sante/carnet/internal/store/postgres/pgtest"
	"github.com/carnet-sante/carnet/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) carnet.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) carnet.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return db
	})
}

func BenchmarkAuditAppend(b *testing.B) {
	storetest.BenchAudit(b, func(b *testing.B) carnet.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return db
	})
}
