package storetest

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

func testHealth(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	if st.Describe() == "" {
		t.Error("Describe is empty")
	}
	must(t, st.Ping(ctx), "Ping")
	must(t, st.Ready(ctx), "Ready")
}

func companies(t *testing.T, st Store) []store.Company {
	t.Helper()
	cs, err := st.Companies(t.Context())
	must(t, err, "Companies")
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	return cs
}

func testCompanies(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	if cs := companies(t, st); len(cs) != 0 {
		t.Fatalf("a fresh store has companies: %+v", cs)
	}
	must(t, st.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme"}), "PutCompany")
	must(t, st.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme"}), "PutCompany as stored")
	equal(t, "Companies after PutCompany twice", companies(t, st), []store.Company{{ID: "acme", Name: "Acme"}})

	must(t, st.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme Corp"}), "PutCompany with a new name")
	must(t, st.EnsureCompany(ctx, "acme"), "EnsureCompany of a stored company")
	must(t, st.EnsureCompany(ctx, "globex"), "EnsureCompany of a new company")
	must(t, st.EnsureCompany(ctx, "globex"), "EnsureCompany again")
	equal(t, "Companies after EnsureCompany", companies(t, st), []store.Company{
		{ID: "acme", Name: "Acme Corp"}, // EnsureCompany keeps the name
		{ID: "globex", Name: "globex"},  // and names a new one after its id
	})

	must(t, st.PutCompany(ctx, store.Company{ID: "globex", Name: "Globex"}), "PutCompany of an ensured company")
	equal(t, "Companies after PutCompany", companies(t, st), []store.Company{
		{ID: "acme", Name: "Acme Corp"}, {ID: "globex", Name: "Globex"},
	})
}

// networks loads the networks sorted by id, their members sorted: the
// members are a set.
func networks(t *testing.T, st Store) []store.Network {
	t.Helper()
	ns, err := st.Networks(t.Context())
	must(t, err, "Networks")
	sort.Slice(ns, func(i, j int) bool { return ns[i].ID < ns[j].ID })
	for i := range ns {
		ns[i].Members = slices.Sorted(slices.Values(ns[i].Members))
	}
	return ns
}

func testNetworks(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	if ns := networks(t, st); len(ns) != 0 {
		t.Fatalf("a fresh store has networks: %+v", ns)
	}
	n1 := store.Network{ID: "net-1", Members: []string{"globex", "acme"}, Position: 0}
	must(t, st.PutNetwork(ctx, n1), "PutNetwork")
	must(t, st.PutNetwork(ctx, n1), "PutNetwork as stored")
	equal(t, "Networks after PutNetwork twice", networks(t, st), []store.Network{
		{ID: "net-1", Members: []string{"acme", "globex"}, Position: 0},
	})

	must(t, st.PutNetwork(ctx, store.Network{ID: "net-1", Members: []string{"initech"}, Position: 3}), "PutNetwork replacing members and position")
	equal(t, "Networks after a replacing PutNetwork", networks(t, st), []store.Network{
		{ID: "net-1", Members: []string{"initech"}, Position: 3},
	})

	must(t, st.AddNetworkMember(ctx, "net-1", "acme"), "AddNetworkMember to a stored network")
	must(t, st.AddNetworkMember(ctx, "net-1", "acme"), "AddNetworkMember of a member")
	must(t, st.AddNetworkMember(ctx, "net-2", "globex"), "AddNetworkMember to a new network")
	equal(t, "Networks after AddNetworkMember", networks(t, st), []store.Network{
		{ID: "net-1", Members: []string{"acme", "initech"}, Position: 3},
		{ID: "net-2", Members: []string{"globex"}, Position: 1 << 20},
	})
}

// clients loads the clients sorted by apiKey.
func clients(t *testing.T, st Store) []store.Client {
	t.Helper()
	cs, err := st.Clients(t.Context())
	must(t, err, "Clients")
	sort.Slice(cs, func(i, j int) bool { return cs[i].APIKey < cs[j].APIKey })
	return cs
}

func findClient(t *testing.T, st Store, apiKey string) store.Client {
	t.Helper()
	c, err := st.FindClient(t.Context(), apiKey)
	must(t, err, "FindClient "+apiKey)
	return *c
}

func nowMs() int64 { return time.Now().UnixMilli() }

func testInsertClient(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	if n, err := st.CountClients(ctx); err != nil || n != 0 {
		t.Fatalf("CountClients of a fresh store = %d, %v; want 0", n, err)
	}
	before := nowMs()
	must(t, st.InsertClient(ctx, store.Client{APIKey: "key-1", SecretHash: "hash-1", CompanyID: "acme", UserID: "u1"}), "InsertClient")
	after := nowMs()
	k1 := findClient(t, st, "key-1")
	msBetween(t, "CreatedAt of a client inserted without one", k1.CreatedAt, before, after)
	equal(t, "client inserted", k1, store.Client{APIKey: "key-1", SecretHash: "hash-1", CompanyID: "acme", UserID: "u1", CreatedAt: k1.CreatedAt})

	minted := store.Client{APIKey: "key-2", SecretHash: "hash-2", CompanyID: "acme", UserID: "u2",
		CreatedAt: base, LicensePlate: "plate-mint", MintedBy: "key-1"}
	must(t, st.InsertClient(ctx, minted), "InsertClient with CreatedAt, plate and minter")
	equal(t, "minted client", findClient(t, st, "key-2"), minted)

	err := st.InsertClient(ctx, store.Client{APIKey: "key-1", SecretHash: "other", CompanyID: "globex", UserID: "u9"})
	wantErr(t, err, store.ErrDuplicate, "InsertClient of a taken apiKey")
	equal(t, "client after a duplicate insert", findClient(t, st, "key-1"), k1)

	_, err = st.FindClient(ctx, "key-missing")
	wantErr(t, err, store.ErrNotFound, "FindClient of a missing client")

	must(t, st.RevokeClient(ctx, "key-2"), "RevokeClient")
	cs := clients(t, st)
	if len(cs) != 2 || cs[0].APIKey != "key-1" || cs[1].APIKey != "key-2" || cs[1].Active() {
		t.Errorf("Clients = %+v, want key-1 and key-2, the revoked one too", cs)
	}
	if n, err := st.CountClients(ctx); err != nil || n != 2 {
		t.Errorf("CountClients = %d, %v; want 2 (the revoked one too)", n, err)
	}
}

func testPutClient(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	before := nowMs()
	must(t, st.PutClient(ctx, store.Client{APIKey: "k", SecretHash: "h1", CompanyID: "acme", UserID: "u1"}), "PutClient of a new client")
	after := nowMs()
	c := findClient(t, st, "k")
	msBetween(t, "CreatedAt of a put client", c.CreatedAt, before, after)
	equal(t, "put client", c, store.Client{APIKey: "k", SecretHash: "h1", CompanyID: "acme", UserID: "u1", CreatedAt: c.CreatedAt})

	must(t, st.PutClient(ctx, store.Client{APIKey: "k", SecretHash: "h1", CompanyID: "acme", UserID: "u1"}), "PutClient as stored")
	equal(t, "client after a PutClient as stored", findClient(t, st, "k"), c)

	must(t, st.RevokeClient(ctx, "k"), "RevokeClient")
	revoked := findClient(t, st, "k")
	if revoked.Active() {
		t.Fatal("RevokeClient left the client active")
	}
	must(t, st.PutClient(ctx, store.Client{APIKey: "k", SecretHash: "h2", CompanyID: "globex", UserID: "u2"}), "PutClient changing a revoked client")
	equal(t, "revoked client after PutClient", findClient(t, st, "k"), store.Client{
		APIKey: "k", SecretHash: "h2", CompanyID: "globex", UserID: "u2",
		CreatedAt: c.CreatedAt, RevokedAt: revoked.RevokedAt, // kept
	})

	minted := store.Client{APIKey: "m", SecretHash: "h1", CompanyID: "acme", UserID: "u1", CreatedAt: base, LicensePlate: "plate-m", MintedBy: "k"}
	must(t, st.InsertClient(ctx, minted), "InsertClient")
	must(t, st.PutClient(ctx, store.Client{APIKey: "m", SecretHash: "h3", CompanyID: "acme", UserID: "u1"}), "PutClient of a minted client")
	minted.SecretHash = "h3"
	equal(t, "minted client after PutClient", findClient(t, st, "m"), minted)
}

func testRevokeClientCascade(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	// root minted a and b, a minted a1, a1 minted a1x, a1x minted a1xy;
	// other (and what it minted) is no kin of root.
	for _, c := range []struct{ key, mintedBy string }{
		{"root", ""}, {"a", "root"}, {"b", "root"}, {"a1", "a"}, {"a1x", "a1"}, {"a1xy", "a1x"},
		{"other", ""}, {"other1", "other"},
	} {
		must(t, st.InsertClient(ctx, store.Client{APIKey: c.key, SecretHash: "h", CompanyID: "acme", UserID: "u", MintedBy: c.mintedBy}), "InsertClient "+c.key)
	}
	revokedAt := map[string]int64{}
	check := func(when string, revoked []string, before, after int64) {
		t.Helper()
		for _, c := range clients(t, st) {
			want := slices.Contains(revoked, c.APIKey)
			switch {
			case want && c.Active():
				t.Errorf("%s: client %s is active, want it revoked", when, c.APIKey)
			case !want && !c.Active():
				t.Errorf("%s: client %s is revoked, want it active", when, c.APIKey)
			case want:
				if first, ok := revokedAt[c.APIKey]; ok {
					if c.RevokedAt != first {
						t.Errorf("%s: client %s RevokedAt = %d, want it kept at %d", when, c.APIKey, c.RevokedAt, first)
					}
					continue
				}
				msBetween(t, when+": RevokedAt of "+c.APIKey, c.RevokedAt, before, after)
				revokedAt[c.APIKey] = c.RevokedAt
			}
		}
	}

	before := nowMs()
	must(t, st.RevokeClient(ctx, "a"), "RevokeClient a")
	check("after revoking a", []string{"a", "a1", "a1x", "a1xy"}, before, nowMs())

	// A client minted by one already revoked (a mint racing the revoke)
	// is caught by the next revocation through it.
	must(t, st.InsertClient(ctx, store.Client{APIKey: "late", SecretHash: "h", CompanyID: "acme", UserID: "u", MintedBy: "a1x"}), "InsertClient late")
	before = nowMs()
	must(t, st.RevokeClient(ctx, "root"), "RevokeClient root")
	all := []string{"root", "a", "b", "a1", "a1x", "a1xy", "late"}
	check("after revoking root", all, before, nowMs())

	must(t, st.RevokeClient(ctx, "root"), "RevokeClient root again")
	check("after revoking root again", all, 0, 0)

	wantErr(t, st.RevokeClient(ctx, "missing"), store.ErrNotFound, "RevokeClient of a missing client")
}

func clientsRevision(t *testing.T, st Store) int64 {
	t.Helper()
	r, err := st.ClientsRevision(t.Context())
	must(t, err, "ClientsRevision")
	return r
}

func testClientsRevision(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	r := clientsRevision(t, st)
	if r != 0 {
		t.Errorf("ClientsRevision of a fresh store = %d, want 0", r)
	}
	step := func(what string, f func() error, bumps bool) {
		t.Helper()
		must(t, f(), what)
		next := clientsRevision(t, st)
		switch {
		case bumps && next <= r:
			t.Errorf("ClientsRevision after %s = %d, want more than %d", what, next, r)
		case !bumps && next != r:
			t.Errorf("ClientsRevision after %s = %d, want it unchanged at %d", what, next, r)
		}
		r = next
	}
	step("InsertClient", func() error {
		return st.InsertClient(ctx, store.Client{APIKey: "k1", SecretHash: "h", CompanyID: "acme", UserID: "u"})
	}, true)
	step("PutClient of a new client", func() error {
		return st.PutClient(ctx, store.Client{APIKey: "k2", SecretHash: "h", CompanyID: "acme", UserID: "u"})
	}, true)
	step("PutClient as stored", func() error {
		return st.PutClient(ctx, store.Client{APIKey: "k2", SecretHash: "h", CompanyID: "acme", UserID: "u"})
	}, false)
	step("PutClient with a new secret", func() error {
		return st.PutClient(ctx, store.Client{APIKey: "k2", SecretHash: "h2", CompanyID: "acme", UserID: "u"})
	}, true)
	step("RevokeClient", func() error { return st.RevokeClient(ctx, "k1") }, true)
	step("PutClient of a revoked client as stored", func() error {
		return st.PutClient(ctx, store.Client{APIKey: "k1", SecretHash: "h", CompanyID: "acme", UserID: "u"})
	}, false)
}

func isActive(c store.Client) bool { return c.Active() }
