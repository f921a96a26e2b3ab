package store

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/credentials"
)

// commitWatcher sees, from a SQLite connection of its own, whether anyone
// committed a change to the embedded store's database file: SQLite's
// data_version changes on this connection whenever another connection has
// committed since it was last read.
type commitWatcher struct {
	t    *testing.T
	conn *sql.Conn
	last int64
}

func watchCommits(t *testing.T, dir string) *commitWatcher {
	t.Helper()
	dsn := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "scwm.sqlite"), RawQuery: "mode=ro"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	w := &commitWatcher{t: t, conn: conn}
	w.last = w.version()
	return w
}

func (w *commitWatcher) version() int64 {
	w.t.Helper()
	var v int64
	if err := w.conn.QueryRowContext(context.Background(), "PRAGMA data_version").Scan(&v); err != nil {
		w.t.Fatal(err)
	}
	return v
}

// committed reports whether a change was committed since the last call.
func (w *commitWatcher) committed() bool {
	w.t.Helper()
	v := w.version()
	changed := v != w.last
	w.last = v
	return changed
}

func testSeed() *Seed {
	return &Seed{
		Companies:    []Company{{ID: "acme", Name: "Acme"}, {ID: "supplier-1", Name: "Supplier One"}},
		Networks:     []Network{{ID: "net-1", Members: []string{"acme", "supplier-1"}}},
		Clients:      []SeedClient{{APIKey: "acme-key", APISecret: "acme-secret-0123456789", CompanyID: "acme", UserID: "alice"}},
		Users:        []SeedUser{{Username: "tim@acme.com", Password: "pw-0123456789", CompanyID: "acme", Name: "Tim"}},
		OAuthClients: []SeedOAuthClient{{ClientID: "cid", ClientSecret: "csecret-0123456789", CompanyID: "acme"}},
	}
}

// A seed applied again, as at every restart, commits nothing to the
// database (so a restart on a full disk does not fail on it), and a user's
// password hash stays the one stored; an entry the seed changes is still
// written.
func TestSeedAppliedAgainWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(context.Background(), Config{DataDir: dir, PasswordCost: credentials.MinPasswordCost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background()
	watch := watchCommits(t, dir)

	if err := s.ApplySeed(ctx, testSeed()); err != nil {
		t.Fatal(err)
	}
	if !watch.committed() {
		t.Fatal("the watcher saw no commit of the first application: it cannot see writes")
	}
	before, err := s.FindUser(ctx, "tim@acme.com")
	if err != nil {
		t.Fatal(err)
	}
	// A revoked client and a disabled user stay so, and re-applying does
	// not write to find that out.
	if err := s.RevokeClient(ctx, "acme-key"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserDisabled(ctx, "tim@acme.com", true); err != nil {
		t.Fatal(err)
	}
	watch.committed()

	if err := s.ApplySeed(ctx, testSeed()); err != nil {
		t.Fatal(err)
	}
	if watch.committed() {
		t.Fatal("applying the same seed again committed a write")
	}
	after, err := s.FindUser(ctx, "tim@acme.com")
	if err != nil {
		t.Fatal(err)
	}
	if after.PasswordHash != before.PasswordHash {
		t.Fatal("applying the same seed again replaced the password hash")
	}

	// Each kind of entry, changed, is written.
	changes := map[string]func(*Seed){
		"company name":        func(sd *Seed) { sd.Companies[0].Name = "Acme Pharma" },
		"network members":     func(sd *Seed) { sd.Networks[0].Members = []string{"acme"} },
		"client secret":       func(sd *Seed) { sd.Clients[0].APISecret = "acme-secret-changed-0123" },
		"client user":         func(sd *Seed) { sd.Clients[0].UserID = "bob" },
		"user password":       func(sd *Seed) { sd.Users[0].Password = "new-pw-0123456789" },
		"user name":           func(sd *Seed) { sd.Users[0].Name = "Timothy" },
		"oauth client secret": func(sd *Seed) { sd.OAuthClients[0].ClientSecret = "csecret-changed-0123" },
		"oauth client company": func(sd *Seed) {
			sd.OAuthClients[0].CompanyID = "supplier-1"
		},
	}
	seed := testSeed()
	for _, what := range []string{"company name", "network members", "client secret", "client user",
		"user password", "user name", "oauth client secret", "oauth client company"} {
		changes[what](seed)
		if err := s.ApplySeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
		if !watch.committed() {
			t.Errorf("a seed with a new %s wrote nothing", what)
		}
	}

	var companies []Company // the gateway reads no company names: look in the collection
	if err := s.findAll(ctx, s.companies, &companies); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(companies, Company{ID: "acme", Name: "Acme Pharma"}) {
		t.Errorf("companies: %v", companies)
	}
	networks, err := s.Networks(ctx)
	if err != nil || len(networks) != 1 || !slices.Equal(networks[0].Members, []string{"acme"}) {
		t.Errorf("networks: %v %v", networks, err)
	}
	c, err := s.FindClient(ctx, "acme-key")
	if err != nil || !credentials.Verify(c.SecretHash, "acme-secret-changed-0123") || c.UserID != "bob" || c.Active() {
		t.Errorf("client: %+v %v (want the new secret and user, still revoked)", c, err)
	}
	u, err := s.FindUser(ctx, "tim@acme.com")
	if err != nil || !s.passwords.Verify(u.PasswordHash, "new-pw-0123456789") || u.Name != "Timothy" || !u.Disabled {
		t.Errorf("user: %+v %v (want the new password and name, still disabled)", u, err)
	}
	o, err := s.FindOAuthClient(ctx, "cid")
	if err != nil || !credentials.Verify(o.SecretHash, "csecret-changed-0123") || o.CompanyID != "supplier-1" {
		t.Errorf("oauth client: %+v %v", o, err)
	}

	// And the changed seed, applied once more, writes nothing again.
	if err := s.ApplySeed(ctx, seed); err != nil {
		t.Fatal(err)
	}
	if watch.committed() {
		t.Fatal("applying the changed seed a second time committed a write")
	}
}
