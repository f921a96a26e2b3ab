package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

func ferretEraDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(gatewaytest.Unpack(t, "../ferretimport/testdata/ferretdb-era.tar.gz"), "data")
}

// The command line, opened beside a gateway, never creates a store in a
// directory whose earlier database was not imported yet: the gateway's
// first start would then find a store and import nothing.
func TestBesideRefusesADirectoryNotImportedYet(t *testing.T) {
	t.Parallel()
	dir := ferretEraDir(t)
	_, err := sqlite.Open(context.Background(), sqlite.Config{DataDir: dir, Beside: true})
	if err == nil || !strings.Contains(err.Error(), "not imported yet") || !strings.Contains(err.Error(), "serve") {
		t.Fatalf("opening beside an unimported directory gave %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); !os.IsNotExist(err) {
		t.Fatalf("a store was created anyway: %v", err)
	}
}

// An import that died midway leaves its scratch directory; the next start
// removes it and imports everything again, so it never starts with half.
func TestAnUnfinishedImportIsDoneAgain(t *testing.T) {
	t.Parallel()
	dir := ferretEraDir(t)
	stale := filepath.Join(dir, ".import-123")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, sqlite.FileName), []byte("half an import"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	if st.Imported().Records == 0 {
		t.Fatal("nothing was imported")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the unfinished import is still there: %v", err)
	}
	clients, err := st.Clients(context.Background())
	if err != nil || len(clients) < 3 {
		t.Fatalf("after the import the store has %d clients (%v)", len(clients), err)
	}
}
