package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// The search cases of the contract, with every text search taking the
// way of words that match many objects: the branch read in order and each
// text matched here (scanBranch), which the contract's few objects would
// otherwise never take.
func TestSearchScanningForWords(t *testing.T) {
	t.Parallel()
	skip := map[string]string{}
	for _, name := range storetest.Cases() {
		if !strings.HasPrefix(name, "Search") {
			skip[name] = "not a search case"
		}
	}
	storetest.RunWith(t, func(t *testing.T) storetest.Store {
		s, err := Open(t.Context(), Config{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		s.textDrivenBelow = 0
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	}, storetest.Options{Skip: skip})
}
