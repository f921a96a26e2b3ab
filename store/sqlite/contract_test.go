package sqlite_test

import (
	"context"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// openAt opens the store in dir, closed when the test ends.
func openAt(t *testing.T, dir string) storetest.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// The embedded store keeps the contract. One process holds a data
// directory at a time, so a second handle on a dataset is a restart.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.RunWith(t, func(t *testing.T) storetest.Store { return openAt(t, t.TempDir()) }, storetest.Options{
		Dataset: func(t *testing.T) func() storetest.Store {
			dir := t.TempDir()
			return func() storetest.Store { return openAt(t, dir) }
		},
	})
}
