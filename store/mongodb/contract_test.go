package mongodb

import (
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// The MongoDB store keeps the contract: every case on a database of its
// own, and any number of stores (gateways) on one database at once. On
// the FerretDB test server, the cases that need what FerretDB lacks are
// skipped; they run against MongoDB (MONGODB_URI).
func TestContract(t *testing.T) {
	t.Parallel()
	var skip map[string]string
	if testDB(t).FerretDB {
		skip = map[string]string{
			"NestedArrays":         "FerretDB v1.24 limitation: it refuses arrays directly inside arrays",
			"SecondHandleSequence": "FerretDB v1.24 limitation: an $inc by two clients at once is a read and a later write, so both can get the same value",
			"SecondHandleRaces":    ferretNoAtomicUpdates + " (one store serializes its own compare-and-sets; two stores do not)",
		}
	}
	storetest.RunWith(t, func(t *testing.T) storetest.Store { return newStore(t) }, storetest.Options{
		Dataset: func(t *testing.T) func() storetest.Store {
			db := testDB(t)
			return func() storetest.Store { return openStore(t, db) }
		},
		Simultaneous: true,
		Skip:         skip,
	})
}
