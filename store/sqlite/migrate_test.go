package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// A database of layout version 1 (the incidents-only layout, kept in
// testdata as it was released) opens with its data intact and becomes
// version 2: parent ids, master data and the lookups of the catalogue work
// on it.
func TestMigrateFromLayoutOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ddl, err := os.ReadFile(filepath.Join("testdata", "layout-v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{string(ddl),
		`INSERT INTO companies (id, name) VALUES ('acme', 'Acme')`,
		`INSERT INTO incidents (id, dataspace, owner_id, network_id, process_type, schema_version, data_version, created_by,
			last_updated_by, created_at, last_updated_at, state, number, partner_id, data)
			VALUES ('inc-1', 'default', 'acme', 'net-1', 'incident', 5, 1, 'alice', 'alice', 1, 1, 'New', 1, '', '{"aptBusinessObjectSummary":"old"}')`,
		`INSERT INTO comments (incident_id, position, comment_id, body) VALUES ('inc-1', 1048576, 'c-1', '{"id":"c-1","commentText":"hello"}')`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("build the version-1 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := sqlite.Open(t.Context(), sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open a version-1 database: %v", err)
	}
	ctx := t.Context()
	inc, err := st.FindIncident(ctx, "default", "inc-1", 0)
	if err != nil || inc.Data["aptBusinessObjectSummary"] != "old" || inc.ParentID != "" {
		t.Fatalf("the old incident after the migration: %+v, %v", inc, err)
	}
	if owner, c, err := st.FindCommentByID(ctx, "c-1"); err != nil || owner != "inc-1" || c.CommentText != "hello" {
		t.Fatalf("FindCommentByID on the migrated database: %q %+v %v", owner, c, err)
	}
	if err := st.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme", MasterData: &store.CompanyMasterData{BusinessName: "Acme Pharma"}}); err != nil {
		t.Fatal(err)
	}
	if cs, err := st.Companies(ctx); err != nil || len(cs) != 1 || cs[0].MasterData == nil || cs[0].MasterData.BusinessName != "Acme Pharma" {
		t.Fatalf("master data on the migrated database: %+v %v", cs, err)
	}
	if children, err := st.FindChildren(ctx, "default", "inc-1"); err != nil || len(children) != 0 {
		t.Fatalf("FindChildren on the migrated database: %+v %v", children, err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != 2 {
		t.Fatalf("user_version %d after the migration (%v), want 2", version, err)
	}
	var plan string
	if err := db.QueryRow("EXPLAIN QUERY PLAN SELECT id FROM incidents WHERE dataspace = 'default' AND parent_id = 'x' AND parent_id <> '' ORDER BY created_at, id").Scan(new(int), new(int), new(int), &plan); err != nil {
		t.Fatal(err)
	}
	if want := "incidents_parent"; !strings.Contains(plan, want) {
		t.Fatalf("children are not read through %s: %s", want, plan)
	}
}
