package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// A store written by the gateway of layout version 1 (testdata/README.md)
// is brought to the current layout at its first open, with every incident,
// comment and history entry as it was, and the plates of its changes still
// found.
func TestLayoutVersion1IsMigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(gatewaytest.Unpack(t, "testdata/layout-v1.tar.gz"), "data")
	var told [][2]int
	st, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir, Migrating: func(from, to int) { told = append(told, [2]int{from, to}) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0] != [2]int{1, 2} {
		t.Errorf("Migrating was told %v, want once from 1 to 2", told)
	}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("inc-%d", i)
		inc, err := st.FindIncident(ctx, "default", id, store.WithComments|store.WithActivities)
		if err != nil {
			t.Fatalf("FindIncident %s: %v", id, err)
		}
		if want := fmt.Sprintf("incident %d at 3", i); inc.DataVersion != 3 || inc.Data["aptBusinessObjectSummary"] != want {
			t.Errorf("%s: version %d, summary %v; want 3, %q", id, inc.DataVersion, inc.Data["aptBusinessObjectSummary"], want)
		}
		if len(inc.Comments) != 1 || inc.Comments[0].CommentText != "first" {
			t.Errorf("%s: comments %+v", id, inc.Comments)
		}
		plates := []string{"plate-add-" + id, "plate-edit-" + id + "-2", "plate-edit-" + id + "-3"}
		if len(inc.Activities) != len(plates) {
			t.Fatalf("%s: %d history entries, want %d", id, len(inc.Activities), len(plates))
		}
		for v, plate := range plates {
			if a := inc.Activities[v]; a.LicensePlate != plate || a.DataVersion != int64(v+1) {
				t.Errorf("%s: history entry %d is %s at version %d", id, v, a.LicensePlate, a.DataVersion)
			}
			// Which of its changes were claimed, the old layout does not
			// say: all of them are found, as they were.
			e, err := st.FindEffect(ctx, "default", plate)
			if err != nil || e.Incident == nil || e.Incident.ID != id || e.Activity.LicensePlate != plate {
				t.Errorf("FindEffect %s: %+v %v", plate, e, err)
			}
		}
		page, err := st.ListActivities(ctx, id, 1, 1)
		if err != nil || len(page) != 1 || page[0].DataVersion != 2 {
			t.Errorf("ListActivities %s after 1: %+v %v", id, page, err)
		}
	}
	// The migrated store takes changes like a new one.
	next, err := st.FindIncident(ctx, "default", "inc-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	next.DataVersion = 4
	if err := st.WriteChange(ctx, store.Change{Incident: next, Activity: store.Activity{LicensePlate: "plate-after", EventName: "edit-incident", DataVersion: 4}}); err != nil {
		t.Fatalf("WriteChange after the migration: %v", err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != 2 {
		t.Fatalf("user_version %d (%v), want 2", version, err)
	}
	var rowid int64
	if err := db.QueryRow("SELECT rowid FROM activities LIMIT 1").Scan(&rowid); err != nil {
		t.Errorf("the history is not a rowid table after the migration: %v", err)
	}
	var indexes string
	if err := db.QueryRow("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activities' ORDER BY name)").Scan(&indexes); err != nil ||
		indexes != "activities_claimed_plate sqlite_autoindex_activities_1" {
		t.Errorf("indexes of the history after the migration: %q (%v)", indexes, err)
	}
	var rows int
	if err := db.QueryRow("SELECT count(*) FROM activities").Scan(&rows); err != nil || rows != 10 {
		t.Fatalf("%d history entries (%v), want 10", rows, err)
	}
	// Opening again migrates nothing more.
	told = nil
	st, err = sqlite.Open(ctx, sqlite.Config{DataDir: dir, Migrating: func(from, to int) { told = append(told, [2]int{from, to}) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(told) != 0 {
		t.Errorf("an up-to-date store was migrated again: %v", told)
	}
	if _, err := st.FindIncident(ctx, "default", "inc-1", 0); err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)
}

// The command line, opened beside a gateway that may be serving the
// directory, does not change an older layout under that gateway: it says
// what to do, and the database stays as it was.
func TestBesideRefusesAnOlderLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(gatewaytest.Unpack(t, "testdata/layout-v1.tar.gz"), "data")
	_, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir, Beside: true})
	if err == nil || !strings.Contains(err.Error(), "layout version 1") || !strings.Contains(err.Error(), "serve") {
		t.Fatalf("opening beside a layout-1 database gave %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != 1 {
		t.Fatalf("user_version %d (%v) after a refused open, want 1", version, err)
	}
}
