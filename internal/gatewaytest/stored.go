package gatewaytest

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// StoredIncident is an incident as its versions stand in the store: its id
// and the number of its latest version.
type StoredIncident struct {
	ID          string `bson:"incidentId"`
	DataVersion int64  `bson:"dataVersion"`
}

// StoredIncidents lists the incidents owner has in dataspace, each with its
// latest version, ordered by id. It queries the store's collection of
// incident versions over the MongoDB protocol instead of asking the store,
// so that a test sees what was written: no event lists incidents, and the
// gateway has no such read.
func StoredIncidents(t testing.TB, st *store.Store, dataspace, owner string) []StoredIncident {
	t.Helper()
	ctx := context.Background()
	cur, err := st.IncidentVersions().Find(ctx, bson.M{"dataspace": dataspace, "ownerId": owner},
		options.Find().SetProjection(bson.M{"incidentId": 1, "dataVersion": 1}))
	if err != nil {
		t.Fatalf("find the incident versions of %s in %s: %v", owner, dataspace, err)
	}
	var versions []StoredIncident
	if err := cur.All(ctx, &versions); err != nil {
		t.Fatalf("read the incident versions of %s in %s: %v", owner, dataspace, err)
	}
	latest := map[string]int64{}
	for _, v := range versions {
		latest[v.ID] = max(latest[v.ID], v.DataVersion)
	}
	out := make([]StoredIncident, 0, len(latest))
	for id, v := range latest {
		out = append(out, StoredIncident{ID: id, DataVersion: v})
	}
	slices.SortFunc(out, func(a, b StoredIncident) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
