// Package service is the one door to patient data. Every use case — read, list, deposit,
// replace, hide, block, consent, emergency access, settings, exports — loads what it needs, asks
// the policy, performs the action and appends the audit event in the same transaction, and
// queues the notifications in the outbox in that transaction too. The JSON API, the FHIR facade,
// the pages, the jobs and the CLI call this package; none of them touches a store.
package service

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/policy"
	"github.com/google/uuid"
)

// Config holds the service's tunables.
type Config struct {
	// MaxBodySize bounds a document body (default 20 MiB).
	MaxBodySize int64
	// BaseURL is where links in notifications point (default http://127.0.0.1:8080).
	BaseURL string
	// BreakGlassWindow bounds a bris de glace session (default 5 days).
	BreakGlassWindow time.Duration
	// DigestWindow groups the notifications of actions by others: one message per window
	// (default 10 minutes), sent at its end. Emergencies and first accesses are sent at once.
	DigestWindow time.Duration

	// Accounts.
	HandOverAge       int           // a minor takes over their own space at this age (default 18)
	OppositionPeriod  time.Duration // without opposition, the space is created after this (default 6 weeks)
	ActivationCodeTTL time.Duration // a provisional code's life (default 90 days)
	ArchivePeriod     time.Duration // a closed space is kept this long, then destroyed (default 10 years)
	PasswordParams    identity.PasswordParams
	Sessions          identity.SessionPolicy
	AccountLimits     identity.Limits // attempts per account or person
	AddressLimits     identity.Limits // attempts per client address
	// WebAuthn relying party (default: the host of BaseURL).
	PasskeyRPID    string
	PasskeyOrigins []string
}

// Deps are what the service is built from; cmd/carnet chooses them.
type Deps struct {
	Store   carnet.Store
	Blobs   carnet.BlobStore
	Keys    *keys.Keyring
	Logger  *slog.Logger
	Config  Config
	Now     func() time.Time // default time.Now
	NewID   func() string    // default UUIDv7
	Metrics Metrics          // optional
}

// Metrics receives counts of decisions; nil-safe.
type Metrics interface {
	Decision(action string, allowed bool)
}

// Service is the one door to patient data.
type Service struct {
	store    carnet.Store
	blobs    carnet.BlobStore
	ring     *keys.Keyring
	indexKey []byte
	// Account secrets, each a random key wrapped by the master key in meta: codeKey keys the
	// hashes of codes, Vitale serials and addresses; outboxKey seals codes waiting in the outbox;
	// sessionKey keys the CSRF tokens.
	codeKey, outboxKey, sessionKey []byte
	decoy                          string // a password hash for unknown identifiers (decoyHash)
	decoyErr                       error
	decoyOnce                      sync.Once
	hashing                        chan struct{} // bounds concurrent password hashes
	policy                         atomic.Pointer[policy.Policy]
	cfg                            Config
	log                            *slog.Logger
	now                            func() time.Time
	newID                          func() string
	metrics                        Metrics
}

// Meta keys.
const (
	metaIndexKey   = "keys.index" // the NIR index key, wrapped by the master key
	metaCodeKey    = "keys.codes"
	metaOutboxKey  = "keys.outbox"
	metaSessionKey = "keys.sessions"
	metaGrid       = "policy.grid"
)

type wrappedKey struct {
	KEK     string `json:"kek"`
	Wrapped []byte `json:"wrapped"`
}

// New builds the service. It loads (or, on a fresh database, creates) the NIR index key, which
// also proves that the configured master key is the right one: with a wrong key New fails with
// an EKEY error and the server does not start. It loads the authorization grid stored by
// `carnet grid load`, or the embedded default.
func New(ctx context.Context, d Deps) (*Service, error) {
	s := &Service{store: d.Store, blobs: d.Blobs, ring: d.Keys, cfg: d.Config, log: d.Logger, now: d.Now, newID: d.NewID, metrics: d.Metrics}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if s.cfg.MaxBodySize <= 0 {
		s.cfg.MaxBodySize = 20 << 20
	}
	if s.cfg.BaseURL == "" {
		s.cfg.BaseURL = "http://127.0.0.1:8080"
	}
	if s.cfg.DigestWindow <= 0 {
		s.cfg.DigestWindow = 10 * time.Minute
	}
	if s.cfg.BreakGlassWindow <= 0 {
		s.cfg.BreakGlassWindow = 5 * 24 * time.Hour
	}
	if err := s.loadIndexKey(ctx); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		name string
		dst  *[]byte
	}{{metaCodeKey, &s.codeKey}, {metaOutboxKey, &s.outboxKey}, {metaSessionKey, &s.sessionKey}} {
		var err error
		if *k.dst, err = s.systemKey(ctx, k.name); err != nil {
			return nil, err
		}
	}
	if err := s.initAccounts(); err != nil {
		return nil, err
	}
	if err := s.loadGrid(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) loadIndexKey(ctx context.Context) error {
	k, err := s.systemKey(ctx, metaIndexKey)
	s.indexKey = k
	return err
}

// systemKey loads the system key stored under name, wrapped by the master key, creating it on
// first use.
func (s *Service) systemKey(ctx context.Context, name string) ([]byte, error) {
	var key []byte
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		raw, err := tx.Meta(ctx, name)
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			k, err := keys.NewDataKey()
			if err != nil {
				return err
			}
			w, kek, err := s.ring.Wrap(k, name)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(wrappedKey{KEK: kek, Wrapped: w})
			key = k
			return tx.PutMeta(ctx, name, b)
		}
		if err != nil {
			return err
		}
		var wk wrappedKey
		if err := json.Unmarshal(raw, &wk); err != nil {
			return carnet.WrapErr("service.systemKey", carnet.EINTEGRITY, err)
		}
		key, err = s.ring.Unwrap(wk.Wrapped, wk.KEK, name)
		return err
	})
	return key, err
}

// KeysInitialized reports whether the database already holds data encrypted under a master key,
// in which case a missing key must never be replaced by a new one.
func KeysInitialized(ctx context.Context, st carnet.Store) (bool, error) {
	var ok bool
	err := st.View(ctx, func(tx carnet.Tx) error {
		_, err := tx.Meta(ctx, metaIndexKey)
		switch carnet.ErrorCode(err) {
		case "":
			ok = true
			return nil
		case carnet.ENOTFOUND:
			return nil
		}
		return err
	})
	return ok, err
}

// RotateMasterKey re-wraps the system keys (NIR index, codes, outbox, sessions) and every live data key under next.Current(); bodies
// are not re-encrypted. It runs in batches and can be interrupted and run again. It returns the
// number of data keys re-wrapped.
func RotateMasterKey(ctx context.Context, st carnet.Store, ring *keys.Keyring, batch int) (int, error) {
	kek := ring.Current().ID()
	err := st.Update(ctx, func(tx carnet.Tx) error {
		for _, name := range []string{metaIndexKey, metaCodeKey, metaOutboxKey, metaSessionKey} {
			raw, err := tx.Meta(ctx, name)
			if carnet.ErrorCode(err) == carnet.ENOTFOUND && name != metaIndexKey {
				continue // created by a later version's first start
			}
			if err != nil {
				return err
			}
			var wk wrappedKey
			if err := json.Unmarshal(raw, &wk); err != nil {
				return carnet.WrapErr("service.RotateMasterKey", carnet.EINTEGRITY, err)
			}
			if wk.KEK == kek {
				continue
			}
			k, err := ring.Unwrap(wk.Wrapped, wk.KEK, name)
			if err != nil {
				return err
			}
			w, id, err := ring.Wrap(k, name)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(wrappedKey{KEK: id, Wrapped: w})
			if err := tx.PutMeta(ctx, name, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	total, after := 0, ""
	for {
		n := 0
		err := st.Update(ctx, func(tx carnet.Tx) error {
			ks, err := tx.DataKeysNotWrappedBy(ctx, kek, after, batch)
			if err != nil {
				return err
			}
			n = len(ks)
			for _, k := range ks {
				dek, err := ring.Unwrap(k.Wrapped, k.KEKID, k.PatientID)
				if err != nil {
					return err
				}
				if k.Wrapped, k.KEKID, err = ring.Wrap(dek, k.PatientID); err != nil {
					return err
				}
				if err := tx.UpdateDataKey(ctx, k); err != nil {
					return err
				}
				after = k.PatientID
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

// Grid returns the authorization grid in force.
func (s *Service) Grid() *policy.Grid { return s.policy.Load().Grid() }

func (s *Service) loadGrid(ctx context.Context) error {
	var raw []byte
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		raw, err = tx.Meta(ctx, metaGrid)
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			raw, err = nil, nil
		}
		return err
	})
	if err != nil {
		return err
	}
	g := policy.DefaultGrid()
	if raw != nil {
		if g, err = policy.ParseGrid(bytesReader(raw)); err != nil {
			return carnet.WrapErr("service.loadGrid", carnet.EINTEGRITY, err)
		}
	}
	s.policy.Store(policy.New(g, policy.Options{BreakGlassWindow: s.cfg.BreakGlassWindow}))
	return nil
}

// LoadGrid stores a new authorization grid, used from now on by this service and by every
// server started after it. Only the operator loads the grid.
func (s *Service) LoadGrid(ctx context.Context, actor carnet.Actor, g *policy.Grid) error {
	if actor.Kind != carnet.ActorOperator && actor.Kind != carnet.ActorSystem {
		return carnet.Errorf(carnet.EFORBIDDEN, "seul l'opérateur charge la grille d'habilitation")
	}
	var buf bytes.Buffer
	if err := g.Encode(&buf); err != nil {
		return err
	}
	if err := s.store.Update(ctx, func(tx carnet.Tx) error { return tx.PutMeta(ctx, metaGrid, buf.Bytes()) }); err != nil {
		return err
	}
	s.policy.Store(s.policy.Load().WithGrid(g))
	s.log.Info("authorization grid loaded", "version", g.Version())
	return nil
}
