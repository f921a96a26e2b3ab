package gatewaytest

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// StoredIncident is an incident as it stands in the store: its id and its
// latest version.
type StoredIncident struct {
	ID          string
	DataVersion int64
}

// StoredIncidents lists the incidents owner has in dataspace, each with its
// latest version, ordered by id. It reads the store's whole dataset
// (Export) instead of asking the gateway, so that a test sees what was
// written: no event lists incidents.
func StoredIncidents(t testing.TB, st store.Exporter, dataspace, owner string) []StoredIncident {
	t.Helper()
	var out []StoredIncident
	err := st.Export(context.Background(), func(r store.Record) error {
		if inc, ok := r.Value.(*store.Incident); ok && inc.Dataspace == dataspace && inc.OwnerID == owner {
			out = append(out, StoredIncident{ID: inc.ID, DataVersion: inc.DataVersion})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the incidents of %s in %s: %v", owner, dataspace, err)
	}
	slices.SortFunc(out, func(a, b StoredIncident) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
