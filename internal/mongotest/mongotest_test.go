package mongotest

import (
	"context"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestMain(m *testing.M) { Main(m) }

// A server keeps what it was given across a kill and a restart on the
// same address, and stops cleanly on SIGTERM.
func TestServerKillRestartStop(t *testing.T) {
	t.Parallel()
	srv := StartServer(t)
	addr := srv.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	coll := c.Database("d").Collection("c")
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "x"}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := coll.FindOne(ctx, bson.M{"_id": "x"}).Err(); err == nil {
		t.Fatal("a killed server answered")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", srv.Addr(), addr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := coll.FindOne(ctx, bson.M{"_id": "x"}).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the document is gone after the restart: %v", err)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
}

// A server whose test process is gone (its standard input closed) stops
// by itself, cleanly.
func TestServerStopsWithItsParent(t *testing.T) {
	t.Parallel()
	srv := StartServer(t)
	srv.mu.Lock()
	_ = srv.stdin.Close()
	exited := srv.exited
	srv.mu.Unlock()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop when its standard input closed")
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
}

// Start gives each test a database of its own.
func TestStartGivesADatabaseOfItsOwn(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t)
	if a.Name == b.Name || a.URI == "" {
		t.Fatalf("databases %+v and %+v", a, b)
	}
	if os.Getenv("MONGODB_URI") == "" && !a.FerretDB {
		t.Fatal("the shared server is not recognised as FerretDB")
	}
}
