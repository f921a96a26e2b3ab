package sqlite_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// layoutOne builds in dir a database of layout version 1 (the
// incidents-only layout, kept in testdata as it was released) holding a
// company, an incident with a comment and its history entry, with the
// statements extra run after the layout's.
func layoutOne(t *testing.T, dir string, extra ...string) {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("testdata", "layout-v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dir)
	stmts := append([]string{string(ddl)}, extra...)
	stmts = append(stmts,
		`INSERT INTO companies (id, name) VALUES ('acme', 'Acme')`,
		`INSERT INTO incidents (id, dataspace, owner_id, network_id, process_type, schema_version, data_version, created_by,
			last_updated_by, created_at, last_updated_at, state, number, partner_id, data)
			VALUES ('inc-1', 'default', 'acme', 'net-1', 'incident', 5, 1, 'alice', 'alice', 1, 1, 'New', 1, '', '{"aptBusinessObjectSummary":"old"}')`,
		`INSERT INTO comments (incident_id, position, comment_id, body) VALUES ('inc-1', 1048576, 'c-1', '{"id":"c-1","commentText":"hello","position":1048576}')`,
		`INSERT INTO activities (incident_id, data_version, license_plate, body) VALUES ('inc-1', 1, 'plate-1', '{"licensePlate":"plate-1","eventName":"addIncident","dataVersion":1}')`,
		`PRAGMA user_version = 1`,
	)
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("build the version-1 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// layoutTwo builds in dir a database of layout version 2 (the catalogue's
// layout, kept in testdata as it was released) holding a company, an
// incident with a child, and two users (one disabled), with the statements
// extra run after the layout's.
func layoutTwo(t *testing.T, dir string, extra ...string) {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("testdata", "layout-v2.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dir)
	stmts := append([]string{string(ddl)}, extra...)
	stmts = append(stmts,
		`INSERT INTO companies (id, name, master) VALUES ('acme', 'Acme', '')`,
		`INSERT INTO incidents (id, dataspace, owner_id, network_id, process_type, schema_version, data_version, created_by,
			last_updated_by, created_at, last_updated_at, state, number, partner_id, parent_id, data)
			VALUES ('task-1', 'default', 'acme', 'net-1', 'task', 1, 1, 'alice@example.com', 'alice@example.com', 1, 1, 'New', 1, '', '', '{"aptBusinessObjectSummary":"old"}'),
			       ('sub-1', 'default', 'acme', 'net-1', 'subTask', 1, 1, 'alice@example.com', 'alice@example.com', 2, 2, 'New', 2, '', 'task-1', '{}')`,
		`INSERT INTO activities (incident_id, data_version, license_plate, body) VALUES ('task-1', 1, 'plate-1', '{"licensePlate":"plate-1","eventName":"addTask","dataVersion":1}')`,
		`INSERT INTO users (username, password_hash, company_id, name, disabled, disabled_at)
			VALUES ('alice@example.com', 'ph1', 'acme', 'Alice Smith', 0, NULL), ('bob@example.com', 'ph2', 'acme', 'Bob', 1, 1700000000000000000)`,
		`PRAGMA user_version = 2`,
	)
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("build the version-2 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// rawDB opens the store's database file in dir directly, closed when the
// test ends.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// userVersion is the layout version of the database in dir.
func userVersion(t *testing.T, dir string) int {
	t.Helper()
	var version int
	if err := rawDB(t, dir).QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	return version
}

// hasColumn reports whether the table of the database in dir has the
// column.
func hasColumn(t *testing.T, dir, table, column string) bool {
	t.Helper()
	var n int
	if err := rawDB(t, dir).QueryRow("SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", table, column).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// A database of layout version 1 opens with its data intact and becomes
// the current version (through 2): parent ids, master data and the lookups
// of the catalogue work on it, each through its index, and opening it
// again changes nothing.
func TestMigrateFromLayoutOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	layoutOne(t, dir)

	st, err := sqlite.Open(t.Context(), sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open a version-1 database: %v", err)
	}
	ctx := t.Context()
	inc, err := st.FindIncident(ctx, "default", "inc-1", store.WithComments|store.WithActivities)
	if err != nil {
		t.Fatalf("the old incident after the migration: %v", err)
	}
	if inc.Data["aptBusinessObjectSummary"] != "old" || inc.ParentID != "" || inc.Number != 1 || inc.CurrentBaseState != "New" ||
		len(inc.Comments) != 1 || inc.Comments[0].CommentText != "hello" ||
		len(inc.Activities) != 1 || inc.Activities[0].LicensePlate != "plate-1" {
		t.Fatalf("the old incident after the migration: %+v", inc)
	}
	if owner, c, err := st.FindCommentByID(ctx, "c-1"); err != nil || owner != "inc-1" || c.CommentText != "hello" || c.Position != 1048576 {
		t.Fatalf("FindCommentByID on the migrated database: %q %+v %v", owner, c, err)
	}
	if cs, err := st.Companies(ctx); err != nil || len(cs) != 1 || cs[0] != (store.Company{ID: "acme", Name: "Acme"}) {
		t.Fatalf("the old company after the migration: %+v %v", cs, err)
	}
	if err := st.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme", MasterData: &store.CompanyMasterData{BusinessName: "Acme Pharma"}}); err != nil {
		t.Fatal(err)
	}
	if cs, err := st.Companies(ctx); err != nil || len(cs) != 1 || cs[0].MasterData == nil || cs[0].MasterData.BusinessName != "Acme Pharma" {
		t.Fatalf("master data on the migrated database: %+v %v", cs, err)
	}
	if children, err := st.FindChildren(ctx, "default", "inc-1"); err != nil || len(children) != 0 {
		t.Fatalf("FindChildren of the old incident: %+v %v", children, err)
	}
	child := *inc
	child.ID, child.ParentID, child.Comments = "sub-1", "inc-1", nil
	child.Activities = []store.Activity{{LicensePlate: "plate-sub", EventName: "addSubTask"}}
	if err := st.InsertIncident(ctx, &child); err != nil {
		t.Fatal(err)
	}
	if children, err := st.FindChildren(ctx, "default", "inc-1"); err != nil || len(children) != 1 || children[0].ID != "sub-1" {
		t.Fatalf("FindChildren on the migrated database: %+v %v", children, err)
	}
	// The old incident's text is in the full-text index.
	found, err := st.SearchIncidents(ctx, store.SearchQuery{Dataspace: "default", Company: inc.OwnerID, Words: []string{"old"}, Limit: 10})
	if err != nil || len(found) != 2 || (found[0].ID != "inc-1" && found[1].ID != "inc-1") {
		t.Fatalf("a search for the old incident's summary after the migration: %+v %v", found, err)
	}
	if err := st.InsertWebhook(ctx, &store.Webhook{ID: "wh-1", Dataspace: "default", CompanyID: inc.OwnerID, URL: "https://hooks.example/",
		Secret: "whsec_c2VjcmV0", CreatedAt: 1}); err != nil {
		t.Fatalf("a webhook subscription on the migrated database: %v", err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, dir); v != 5 {
		t.Fatalf("user_version %d after the migration, want 5", v)
	}
	db := rawDB(t, dir)
	for query, index := range map[string]string{
		"SELECT id FROM incidents WHERE dataspace = 'default' AND parent_id = 'x' AND parent_id <> '' ORDER BY created_at, id": "incidents_parent",
		"SELECT incident_id, body FROM comments WHERE comment_id = 'x' ORDER BY incident_id LIMIT 1":                           "comments_comment_id",
	} {
		var plan string
		if err := db.QueryRow("EXPLAIN QUERY PLAN "+query).Scan(new(int), new(int), new(int), &plan); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, index) {
			t.Errorf("%s is not served by %s: %s", query, index, plan)
		}
	}

	// A second open finds the layout in place.
	again, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open the migrated database again: %v", err)
	}
	if children, err := again.FindChildren(ctx, "default", "inc-1"); err != nil || len(children) != 1 {
		t.Fatalf("FindChildren after a second open: %+v %v", children, err)
	}
	if err := again.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, dir); v != 5 {
		t.Fatalf("user_version %d after a second open, want 5", v)
	}
}

// A database of layout version 2 opens with its data intact and becomes
// the current version (through 3): its users have their usernames as ids, are found by them
// through the users_user_id index, and read back with their names split;
// an id is refused to a second user; opening it again changes nothing.
func TestMigrateFromLayoutTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	layoutTwo(t, dir)

	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open a version-2 database: %v", err)
	}
	alice, err := st.FindUserByID(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("FindUserByID of a user of the migrated database: %v", err)
	}
	want := store.User{Username: "alice@example.com", ID: "alice@example.com", PasswordHash: "ph1", CompanyID: "acme", Name: "Alice Smith", GivenName: "Alice", Surname: "Smith"}
	if *alice != want {
		t.Fatalf("the old user after the migration: %+v, want %+v", *alice, want)
	}
	bob, err := st.FindUserByID(ctx, "bob@example.com")
	if err != nil || !bob.Disabled || bob.DisabledAt.UnixNano() != 1700000000000000000 || bob.GivenName != "Bob" || bob.Surname != "" {
		t.Fatalf("the old disabled user after the migration: %+v %v", bob, err)
	}
	if children, err := st.FindChildren(ctx, "default", "task-1"); err != nil || len(children) != 1 || children[0].ID != "sub-1" {
		t.Fatalf("FindChildren on the migrated database: %+v %v", children, err)
	}
	if inc, err := st.FindIncident(ctx, "default", "task-1", store.WithActivities); err != nil || inc.Data["aptBusinessObjectSummary"] != "old" || len(inc.Activities) != 1 {
		t.Fatalf("the old task after the migration: %+v %v", inc, err)
	}
	err = st.PutUser(ctx, store.User{Username: "carol@example.com", ID: "alice@example.com", PasswordHash: "ph3", CompanyID: "acme"})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("PutUser with an old user's id on the migrated database: %v, want ErrDuplicate", err)
	}
	if err := st.PutUser(ctx, store.User{Username: "alice@example.com", ID: "u-alice", PasswordHash: "ph1", CompanyID: "acme", Name: "Alice Smith"}); err != nil {
		t.Fatal(err)
	}
	if u, err := st.FindUserByID(ctx, "u-alice"); err != nil || u.Username != "alice@example.com" {
		t.Fatalf("FindUserByID of a new id on the migrated database: %+v %v", u, err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, dir); v != 5 {
		t.Fatalf("user_version %d after the migration, want 5", v)
	}
	var plan string
	if err := rawDB(t, dir).QueryRow("EXPLAIN QUERY PLAN SELECT username FROM users WHERE user_id = 'x'").Scan(new(int), new(int), new(int), &plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "users_user_id") {
		t.Errorf("a user by id is not found through users_user_id: %s", plan)
	}

	again, err := sqlite.Open(ctx, sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open the migrated database again: %v", err)
	}
	if u, err := again.FindUserByID(ctx, "u-alice"); err != nil || u.GivenName != "Alice" {
		t.Fatalf("FindUserByID after a second open: %+v %v", u, err)
	}
	if err := again.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, dir); v != 5 {
		t.Fatalf("user_version %d after a second open, want 5", v)
	}
}

// A migration from version 2 that fails midway leaves the database as it
// was: here the users table has a surname column already, so the third
// statement fails after the first two added user_id and given_name.
func TestAFailedMigrationLeavesLayoutTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	layoutTwo(t, dir, `ALTER TABLE users ADD COLUMN surname TEXT`)
	_, err := sqlite.Open(t.Context(), sqlite.Config{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "from layout version 2") {
		t.Fatalf("open of a database the migration cannot take: %v, want the migration's error", err)
	}
	if v := userVersion(t, dir); v != 2 {
		t.Errorf("user_version %d after a failed migration, want 2", v)
	}
	if hasColumn(t, dir, "users", "user_id") || hasColumn(t, dir, "users", "given_name") {
		t.Error("a failed migration left columns of users behind")
	}
}

// A migration that fails midway leaves the database as it was at version
// 1: here the companies table has a master column already, so the second
// statement of the migration fails after the first added parent_id.
func TestAFailedMigrationLeavesLayoutOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	layoutOne(t, dir, `ALTER TABLE companies ADD COLUMN master TEXT`)
	_, err := sqlite.Open(t.Context(), sqlite.Config{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "from layout version 1") {
		t.Fatalf("open of a database the migration cannot take: %v, want the migration's error", err)
	}
	if v := userVersion(t, dir); v != 1 {
		t.Errorf("user_version %d after a failed migration, want 1", v)
	}
	if hasColumn(t, dir, "incidents", "parent_id") {
		t.Error("a failed migration left incidents.parent_id behind")
	}
}

// A database of a newer layout is refused, and left as it is.
func TestANewerLayoutIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	layoutOne(t, dir)
	if _, err := rawDB(t, dir).Exec(`PRAGMA user_version = 6`); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(t.Context(), sqlite.Config{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "layout version 6, newer than this gateway's 5") {
		t.Fatalf("open of a layout-6 database: %v, want it refused as newer", err)
	}
	if v := userVersion(t, dir); v != 6 {
		t.Errorf("user_version %d after the refusal, want 6", v)
	}
	if hasColumn(t, dir, "incidents", "parent_id") {
		t.Error("a refused database was migrated")
	}
}

// A company put as stored, master data included, is not written again:
// triggers on the companies table count the rows written, and a second
// and third PutCompany of the same company add none.
func TestPutCompanyAsStoredWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	c := store.Company{ID: "acme", Name: "Acme", MasterData: &store.CompanyMasterData{
		BusinessName: "Acme Pharma",
		Identifiers:  []store.Identifier{{Type: "GLN", Value: "0614141000005"}},
		Locations:    []store.LocationMasterData{{ID: "plant-1", Identifiers: []store.Identifier{}}},
		Products:     []store.ProductMasterData{},
	}}
	st := open(t, sqlite.Config{DataDir: dir})
	if err := st.PutCompany(ctx, c); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dir)
	for _, stmt := range []string{
		`CREATE TABLE company_writes (id TEXT)`,
		`CREATE TRIGGER company_inserted AFTER INSERT ON companies BEGIN INSERT INTO company_writes VALUES (new.id); END`,
		`CREATE TRIGGER company_updated AFTER UPDATE ON companies BEGIN INSERT INTO company_writes VALUES (new.id); END`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	writes := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM company_writes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 2 {
		if err := st.PutCompany(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if n := writes(); n != 0 {
		t.Fatalf("PutCompany of the company as stored wrote %d rows, want none", n)
	}
	c.MasterData.Identifiers[0].Value = "0614141000012"
	if err := st.PutCompany(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := writes(); n != 1 {
		t.Fatalf("PutCompany of changed master data wrote %d rows, want 1", n)
	}
}

// A user put as stored, id and name parts included, is not written again:
// triggers on the users table count the rows written, and a second and
// third PutUser of the same user (as a seed applied again puts it) add
// none; a changed name part is written.
func TestPutUserAsStoredWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	users := []store.User{
		{Username: "alice@example.com", PasswordHash: "ph1", CompanyID: "acme", Name: "Alice Smith"},
		{Username: "bob@example.com", ID: "u-bob", PasswordHash: "ph2", CompanyID: "acme", GivenName: "Bob", Surname: "Builder"},
	}
	st := open(t, sqlite.Config{DataDir: dir})
	for _, u := range users {
		if err := st.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, dir)
	for _, stmt := range []string{
		`CREATE TABLE user_writes (username TEXT)`,
		`CREATE TRIGGER user_inserted AFTER INSERT ON users BEGIN INSERT INTO user_writes VALUES (new.username); END`,
		`CREATE TRIGGER user_updated AFTER UPDATE ON users BEGIN INSERT INTO user_writes VALUES (new.username); END`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	writes := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM user_writes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 2 {
		for _, u := range users {
			if err := st.PutUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := writes(); n != 0 {
		t.Fatalf("PutUser of users as stored wrote %d rows, want none", n)
	}
	users[1].Surname = "Baumeister"
	if err := st.PutUser(ctx, users[1]); err != nil {
		t.Fatal(err)
	}
	if n := writes(); n != 1 {
		t.Fatalf("PutUser of a changed surname wrote %d rows, want 1", n)
	}
}
