package mongodb

import (
	"context"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/mongotest"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

var _ storetest.Store = (*Store)(nil)

func TestMain(m *testing.M) { mongotest.Main(m) }

// testDB is a database of the test's own (mongotest.Start).
func testDB(t *testing.T) mongotest.Database {
	t.Helper()
	return mongotest.Start(t)
}

// openStore opens a Store on db, closed when the test ends.
func openStore(t *testing.T, db mongotest.Database) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{URI: db.URI, Database: db.Name, OperationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	// The feed's entries are listed at once: no test writes from two
	// clocks, and the horizon has its own test.
	s.feedHorizon = 0
	return s
}

// newStore opens a Store on a new database of the test's own.
func newStore(t *testing.T) *Store {
	t.Helper()
	return openStore(t, testDB(t))
}

// ferretNoAtomicUpdates is why the tests of concurrent compare-and-sets
// by update skip on FerretDB.
const ferretNoAtomicUpdates = "FerretDB v1.24 limitation: it applies an update with a condition as a read and a later write, not atomically, so several concurrent compare-and-sets on one document can all match; MongoDB checks the filter and writes in one step"

// gateways opens n Stores on db, as n gateways sharing it would.
func gateways(t *testing.T, db mongotest.Database, n int) []*Store {
	t.Helper()
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = openStore(t, db)
	}
	return stores
}
