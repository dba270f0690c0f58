// Package pgtest gives tests a fresh PostgreSQL database of their own. It reads the server from
// CARNET_TEST_POSTGRES (default: host=127.0.0.1 port=5432 user=postgres dbname=postgres). When no
// server answers the test is skipped with a message, except under CI=true, where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DefaultServer is used when CARNET_TEST_POSTGRES is unset.
const DefaultServer = "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable"

// NewDatabase creates an empty database, drops it when the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("CARNET_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultServer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		msg := fmt.Sprintf("PostgreSQL is not reachable at %q (%v): set CARNET_TEST_POSTGRES or start it "+
			"(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", admin, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "carnet_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
		db.Close()
	})
	return withDBName(admin, name)
}

// withDBName replaces or adds the dbname of a key=value or URL connection string.
func withDBName(conn, name string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		rest := conn
		query := ""
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest, query = rest[:i], rest[i:]
		}
		scheme := rest[:strings.Index(rest, "://")+3]
		hostPart := rest[len(scheme):]
		if i := strings.IndexByte(hostPart, '/'); i >= 0 {
			hostPart = hostPart[:i]
		}
		return scheme + hostPart + "/" + name + query
	}
	var parts []string
	for _, f := range strings.Fields(conn) {
		if !strings.HasPrefix(f, "dbname=") {
			parts = append(parts, f)
		}
	}
	return strings.Join(append(parts, "dbname="+name), " ")
}
