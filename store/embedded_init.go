package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// initDirPrefix names the scratch directories in which a new embedded
// database is built.
const initDirPrefix = ".init-"

// initEmbedded makes sure the embedded database file exists with every
// collection and index the gateway uses, before the store serves anything.
//
// FerretDB v1.24 on SQLite creates a table or index and records it in its
// own catalogue in separate statements; a kill between the two leaves a
// file that it refuses from then on ("table already exists", "no such
// table: _ferretdb_collections") — seen here when the gateway was killed
// during its first start or its first add. So a new database is built
// whole in a scratch directory inside dir and moved into place with one
// rename: a kill leaves either no database (built again next start) or a
// complete one. Every collection and index is created there, so the
// serving store never changes its schema.
func initEmbedded(ctx context.Context, cfg Config) error {
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir %q: %w", cfg.DataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	removeScratch(dir)
	file := filepath.Join(dir, cfg.Database+".sqlite")
	if _, err := os.Stat(file); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("data dir: %w", err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	scratch := filepath.Join(dir, initDirPrefix+hex.EncodeToString(suffix[:]))
	build := cfg
	build.DataDir = scratch
	build.built = true
	s, err := Open(ctx, build)
	if err != nil {
		return fmt.Errorf("build the embedded database: %w", err)
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("build the embedded database: %w", err)
	}
	entries, err := os.ReadDir(scratch)
	if err != nil {
		return err
	}
	// After a clean close SQLite has folded its WAL into the file; move
	// any side file first so that the database file arrives last.
	for _, e := range entries {
		name := e.Name()
		if name != cfg.Database+".sqlite" && strings.HasPrefix(name, cfg.Database+".sqlite") {
			if err := os.Rename(filepath.Join(scratch, name), filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	if err := os.Rename(filepath.Join(scratch, cfg.Database+".sqlite"), file); err != nil {
		return fmt.Errorf("move the new embedded database into place: %w", err)
	}
	syncDir(dir)
	return os.RemoveAll(scratch)
}

// removeScratch deletes scratch directories a killed first start left.
func removeScratch(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), initDirPrefix) {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// collectionNames are every collection the gateway uses.
func (s *Store) collections() []*mongo.Collection {
	return []*mongo.Collection{s.companies, s.networks, s.clients, s.sequences, s.versions, s.idempotency, s.users, s.oauthClients, s.tokens}
}

// ensureCollections creates every collection that does not exist yet, so
// that no collection is created implicitly while the store serves.
func (s *Store) ensureCollections(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, map[string]any{})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n] = true
	}
	for _, c := range s.collections() {
		if !have[c.Name()] {
			if err := s.db.CreateCollection(ctx, c.Name()); err != nil {
				return fmt.Errorf("create collection %s: %w", c.Name(), err)
			}
		}
	}
	return nil
}
