package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
	"github.com/scwm-gateway/scwm-gateway/store/storetest"
)

// The embedded store is a whole store.
var _ storetest.Store = (*sqlite.Store)(nil)

func open(t *testing.T, cfg sqlite.Config) *sqlite.Store {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	st, err := sqlite.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// A data directory has one owner: a second one is refused at once with an
// error that says what holds it and what to do, while the command line
// opens it beside the owner and sees (and changes) the same data. Once the
// owner is gone the directory can be owned again.
func TestADataDirectoryHasOneOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	owner, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(ctx, sqlite.Config{DataDir: dir})
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "stop the other") {
		t.Fatalf("a second owner of %s got %v", dir, err)
	}
	beside, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir, Beside: true})
	if err != nil {
		t.Fatalf("open beside the owner: %v", err)
	}
	if cs, err := beside.Companies(ctx); err != nil || len(cs) != 1 || cs[0].Name != "Acme" {
		t.Fatalf("beside the owner the companies are %v (%v)", cs, err)
	}
	// Both write at once: SQLite's locking orders them, none fails.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 100 {
		wg.Go(func() { errs <- owner.PutCompany(ctx, store.Company{ID: fmt.Sprint("o", i), Name: "x"}) })
		wg.Go(func() { errs <- beside.PutCompany(ctx, store.Company{ID: fmt.Sprint("b", i), Name: "x"}) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a write beside the owner's failed: %v", err)
		}
	}
	if cs, _ := owner.Companies(ctx); len(cs) != 201 {
		t.Fatalf("the owner sees %d companies, want 201", len(cs))
	}
	beside.Close(ctx)
	owner.Close(ctx)
	again, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open after the owner closed: %v", err)
	}
	again.Close(ctx)
}

// The incident cache is bounded in bytes, not in entries: incidents with
// large data fill it by their size, and what falls out is read again from
// the database, the same as it was.
func TestTheCacheIsBoundedInBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const limit = 256 << 10
	st := open(t, sqlite.Config{CacheBytes: limit})
	big := strings.Repeat("x", 6<<10)
	ids := make([]string, 200)
	for i := range ids {
		inc := incident(int64(i))
		inc.Data["aptBusinessObjectDescription"] = big
		ids[i] = inc.ID
		if err := st.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		if used := st.CacheBytes(); used > limit {
			t.Fatalf("after %d incidents of 6 KiB the cache holds %d bytes, over its %d", i+1, used, limit)
		}
	}
	if used := st.CacheBytes(); used < limit/2 {
		t.Fatalf("the cache holds %d bytes of its %d: it does not cache by size", used, limit)
	}
	for i, id := range ids {
		inc, err := st.FindIncident(ctx, "default", id, 0)
		if err != nil || inc.Number != int64(i) || inc.Data["aptBusinessObjectDescription"] != big {
			t.Fatalf("incident %d read back as %+v (%v)", i, inc, err)
		}
	}
}

// An incident's record does not grow with its comments and history: they
// are records of their own, each the size of what it holds, so a change of
// an old, busy incident writes what a change of a new one writes.
func TestAnIncidentDoesNotGrowWithItsComments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t, sqlite.Config{})
	inc := incident(1)
	if err := st.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	sizes := func() (record, largestComment, largestActivity int64) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(st.Dir(), sqlite.FileName)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow("SELECT length(data) FROM incidents WHERE id = ?", inc.ID).Scan(&record); err != nil {
			t.Fatal(err)
		}
		db.QueryRow("SELECT coalesce(max(length(body)), 0) FROM comments WHERE incident_id = ?", inc.ID).Scan(&largestComment)
		db.QueryRow("SELECT coalesce(max(length(body)), 0) FROM activities WHERE incident_id = ?", inc.ID).Scan(&largestActivity)
		return
	}
	first, _, firstActivity := sizes()
	cur := inc
	for v := int64(2); v <= 301; v++ {
		next := *cur
		next.DataVersion = v
		c := store.Comment{ID: uuid.NewString(), CommentText: fmt.Sprintf("comment %d", v), CompanyID: "acme", Attachments: []map[string]any{}}
		if err := st.WriteChange(ctx, store.Change{Incident: &next, AddComments: []store.Comment{c},
			Activity: store.Activity{LicensePlate: uuid.NewString(), EventName: "add-comment", CommentIDs: []string{c.ID}}}); err != nil {
			t.Fatal(err)
		}
		cur = &next
	}
	record, comment, activity := sizes()
	if record != first || comment > 400 || activity > firstActivity+100 {
		t.Fatalf("after 300 comments the record is %d bytes (was %d), the largest comment %d, the largest history entry %d (the first was %d)",
			record, first, comment, activity, firstActivity)
	}
	got, err := st.FindIncident(ctx, "default", inc.ID, store.WithComments|store.WithActivities)
	if err != nil || len(got.Comments) != 300 || len(got.Activities) != 301 || got.Comments[299].CommentText != "comment 301" {
		t.Fatalf("read back %d comments and %d history entries (%v)", len(got.Comments), len(got.Activities), err)
	}
}

func incident(n int64) *store.Incident {
	return &store.Incident{ID: uuid.NewString(), Dataspace: "default", OwnerID: "acme", NetworkID: "net-1", ProcessType: "incident",
		SchemaVersion: 5, DataVersion: 1, Number: n, CurrentBaseState: "New",
		Data:       map[string]any{"aptBusinessObjectSummary": fmt.Sprint("incident ", n)},
		Activities: []store.Activity{{LicensePlate: uuid.NewString(), EventName: "add-incident", UserID: "u", CompanyID: "acme"}}}
}

// A read gives the data's stored text with the data, from the cache as
// from the database, and the text stops describing the data once the
// data is replaced: what lets a read answer without encoding the data
// again.
func TestReadsCarryTheDataText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st := open(t, sqlite.Config{DataDir: dir})
	inc := incident(1)
	inc.Data["nested"] = map[string]any{"html": "<&>", "n": int64(3), "list": []any{1.5, true, nil}}
	if err := st.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	check := func(when string, got *store.Incident) {
		t.Helper()
		var decoded map[string]any
		if err := json.Unmarshal([]byte(got.DataText()), &decoded); err != nil {
			t.Fatalf("%s: the data's text %q: %v", when, got.DataText(), err)
		}
		want, _ := json.Marshal(got.Data)
		if again, _ := json.Marshal(decoded); string(again) != string(want) {
			t.Errorf("%s: the data's text is %s, the data %s", when, again, want)
		}
		got.Data = map[string]any{"replaced": true}
		if got.DataText() != "" {
			t.Errorf("%s: the text still describes data that was replaced", when)
		}
	}
	cached, err := st.FindIncident(ctx, "default", inc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	check("from the cache", cached)
	st.Close(ctx)
	st = open(t, sqlite.Config{DataDir: dir})
	stored, err := st.FindIncident(ctx, "default", inc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	check("from the database", stored)
}
