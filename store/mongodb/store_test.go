package mongodb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/internal/mongotest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

func TestDescribeHidesThePassword(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	if !strings.Contains(s.Describe(), "database t_") {
		t.Fatalf("Describe = %q, want the database named", s.Describe())
	}
	// Connecting is lazy: a URI with a password to a port nothing listens
	// on opens no connection until the ping, which fails.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, Config{URI: "mongodb://bob:s3cret@127.0.0.1:1/", OperationTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("Open of an unreachable store succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "bob:xxxxx@127.0.0.1:1") {
		t.Fatalf("the error does not name the URI without its password: %v", err)
	}
	if !store.IsUnavailable(err) {
		t.Fatalf("an unreachable store is not unavailability: %v", err)
	}
}

// Every index the store's queries name exists on the server after Open;
// where the server has TTL and partial indexes, the expiry indexes are TTL
// ones and the children's index is partial.
func TestIndexesExist(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	s := openStore(t, db)
	for _, ix := range s.indexes() {
		cur, err := ix.coll.Indexes().List(bg(t))
		if err != nil {
			t.Fatal(err)
		}
		var specs []bson.M
		if err := cur.All(bg(t), &specs); err != nil {
			t.Fatal(err)
		}
		var found bson.M
		for _, sp := range specs {
			if sp["name"] == ix.name {
				found = sp
			}
		}
		if found == nil {
			t.Fatalf("%s has no index %s: %v", ix.coll.Name(), ix.name, specs)
		}
		if ix.unique && found["unique"] != true {
			t.Errorf("%s.%s is not unique: %v", ix.coll.Name(), ix.name, found)
		}
		if _, ttl := found["expireAfterSeconds"]; ix.ttl && !db.FerretDB && !ttl {
			t.Errorf("%s.%s is not a TTL index: %v", ix.coll.Name(), ix.name, found)
		}
		if _, partial := found["partialFilterExpression"]; ix.partial != nil && !db.FerretDB && !partial {
			t.Errorf("%s.%s is not a partial index: %v", ix.coll.Name(), ix.name, found)
		}
	}
	// Opening again is a no-op.
	openStore(t, db)
}

// The server goes away under an open store and comes back on the same
// files: meanwhile every operation fails promptly as unavailability, and
// afterwards the store serves again, old data included, without reopening.
func TestStoreKilledAndRestarted(t *testing.T) {
	t.Parallel()
	srv := mongotest.StartServer(t)
	db := mongotest.Database{URI: srv.URI(), Name: "scwm", FerretDB: true}
	ctx := bg(t)
	s, err := Open(ctx, Config{URI: db.URI, Database: db.Name, OperationTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	inc := newIncident("i1")
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"FindIncident", func() error { _, err := s.FindIncident(ctx, "default", "i1", 0); return err }},
		{"WriteChange", func() error { return s.WriteChange(ctx, change(inc, 2, "a")) }},
		{"ClaimIdempotencyKey", func() error { _, err := s.ClaimIdempotencyKey(ctx, newRecord("k", time.Now())); return err }},
	} {
		start := time.Now()
		err := op.run()
		if !store.IsUnavailable(err) {
			t.Errorf("%s during the outage: %v, want unavailability", op.name, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s during the outage took %v", op.name, took)
		}
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The driver finds the server again within its heartbeat; the first
	// operations may still fail.
	deadline := time.Now().Add(30 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not come back")
		}
	}
	checkAt(t, s, "i1", 1, nil)
	ch := change(inc, 2, "after")
	if err := s.WriteChange(ctx, ch); err != nil {
		t.Fatal(err)
	}
	checkAt(t, s, "i1", 2, &ch)
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err         error
		unavailable bool
		is          error
	}{
		{context.DeadlineExceeded, true, nil},
		{errors.New("something else"), false, nil},
	} {
		got := mapError(c.err)
		if store.IsUnavailable(got) != c.unavailable {
			t.Errorf("mapError(%v) = %v: unavailable %v, want %v", c.err, got, store.IsUnavailable(got), c.unavailable)
		}
	}
	s := newStore(t)
	ctx := bg(t)
	if _, err := s.FindClient(ctx, "nope"); !errors.Is(err, store.ErrNotFound) || store.IsUnavailable(err) {
		t.Fatalf("a missing document: %v", err)
	}
	if err := s.InsertOAuthClient(ctx, store.OAuthClient{ClientID: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertOAuthClient(ctx, store.OAuthClient{ClientID: "x"}); !errors.Is(err, store.ErrDuplicate) || store.IsUnavailable(err) {
		t.Fatalf("a duplicate key: %v", err)
	}
	// An operation whose caller's deadline has passed is a timeout.
	done, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.FindClient(done, "nope"); !store.IsUnavailable(err) {
		t.Fatalf("an expired context: %v, want unavailability", err)
	}
}
