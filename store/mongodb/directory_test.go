package mongodb

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Gateways draw numbers of one counter at once: none is handed out twice.
func TestSequenceNumbersAreUniqueAcrossGateways(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	if db.FerretDB {
		t.Skip(ferretNoAtomicUpdates)
	}
	stores := gateways(t, db, 4)
	ctx := bg(t)
	const each = 60
	got := make([][]int64, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for range each {
				n, err := s.NextSequence(ctx, "default", "acme", "incident")
				if err != nil {
					errs[i] = err
					return
				}
				got[i] = append(got[i], n)
			}
		})
	}
	wg.Wait()
	seen := map[int64]int{}
	for i := range stores {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, n := range got[i] {
			if j, ok := seen[n]; ok {
				t.Fatalf("number %d handed out to gateways %d and %d", n, j, i)
			}
			seen[n] = i
		}
	}
	if other, err := stores[0].NextSequence(ctx, "default", "other", "incident"); err != nil || other != 1 {
		t.Fatalf("another company's first number: %d %v", other, err)
	}
}

func TestClients(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	rev := func() int64 {
		t.Helper()
		n, err := s.ClientsRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if rev() != 0 {
		t.Fatal("revision not 0 at the start")
	}
	seed := store.Client{APIKey: "seed", SecretHash: "h1", CompanyID: "acme", UserID: "alice"}
	if err := s.PutClient(ctx, seed); err != nil {
		t.Fatal(err)
	}
	r1 := rev()
	if err := s.PutClient(ctx, seed); err != nil || rev() != r1 {
		t.Fatalf("an unchanged PutClient wrote: %v", err)
	}
	if err := s.InsertClient(ctx, store.Client{APIKey: "seed"}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("insert a taken key: %v", err)
	}
	// A chain of minted clients, and one minted by the seed twice over.
	for i, minter := range []string{"seed", "m0", "m1", "seed"} {
		c := store.Client{APIKey: fmt.Sprint("m", i), SecretHash: "h", CompanyID: "acme", UserID: "alice", MintedBy: minter, LicensePlate: fmt.Sprint("plate-m", i)}
		if err := s.InsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertClient(ctx, store.Client{APIKey: "free", CompanyID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountClients(ctx); err != nil || n != 6 {
		t.Fatalf("CountClients: %d %v", n, err)
	}
	r2 := rev()
	if r2 <= r1 {
		t.Fatal("inserts did not move the revision")
	}
	eff, err := s.FindEffect(ctx, "default", "plate-m2")
	if err != nil || eff.Client == nil || eff.Client.APIKey != "m2" {
		t.Fatalf("FindEffect of a minting: %+v %v", eff, err)
	}
	if err := s.RevokeClient(ctx, "m0"); err != nil {
		t.Fatal(err)
	}
	active := map[string]bool{}
	all, err := s.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		active[c.APIKey] = c.Active()
	}
	equal(t, "active after revoking m0", active, map[string]bool{"seed": true, "m0": false, "m1": false, "m2": false, "m3": true, "free": true})
	if rev() <= r2 {
		t.Fatal("a revocation did not move the revision")
	}
	if err := s.RevokeClient(ctx, "m0"); err != nil {
		t.Fatalf("revoke twice: %v", err)
	}
	if err := s.RevokeClient(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke a missing client: %v", err)
	}
	// The seed changes a revoked client's secret: the revocation stays.
	m0, _ := s.FindClient(ctx, "m0")
	if err := s.PutClient(ctx, store.Client{APIKey: "m0", SecretHash: "new", CompanyID: "acme", UserID: "alice"}); err != nil {
		t.Fatal(err)
	}
	after, _ := s.FindClient(ctx, "m0")
	if after.SecretHash != "new" || after.RevokedAt != m0.RevokedAt || after.CreatedAt != m0.CreatedAt {
		t.Fatalf("PutClient over a revoked client: %+v (was %+v)", after, m0)
	}
}

func TestCompaniesNetworksUsers(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	for _, c := range []store.Company{{ID: "b", Name: "B"}, {ID: "a", Name: "A"}, {ID: "a", Name: "A2"}} {
		if err := s.PutCompany(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EnsureCompany(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureCompany(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Companies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "companies", cs, []store.Company{{ID: "a", Name: "A2"}, {ID: "b", Name: "B"}, {ID: "c", Name: "c"}})

	if err := s.PutNetwork(ctx, store.Network{ID: "n1", Members: []string{"a", "b"}, Position: 0}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"c", "c", "a"} {
		if err := s.AddNetworkMember(ctx, "n1", m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddNetworkMember(ctx, "n2", "a"); err != nil {
		t.Fatal(err)
	}
	ns, err := s.Networks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "networks", ns, []store.Network{{ID: "n1", Members: []string{"a", "b", "c"}}, {ID: "n2", Members: []string{"a"}, Position: 1 << 20}})

	if err := s.PutUser(ctx, store.User{Username: " Bob@Example.com ", PasswordHash: "p1", CompanyID: "a", Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserDisabled(ctx, "BOB@example.com", true); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, store.User{Username: "bob@example.com", PasswordHash: "p2", CompanyID: "a", Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	u, err := s.FindUser(ctx, "Bob@example.com")
	if err != nil || u.PasswordHash != "p2" || !u.Disabled || u.DisabledAt.IsZero() {
		t.Fatalf("user after disable and put: %+v %v", u, err)
	}
	if err := s.SetUserDisabled(ctx, "bob@example.com", false); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.FindUser(ctx, "bob@example.com"); u.Disabled {
		t.Fatal("still disabled")
	}
	if err := s.SetUserDisabled(ctx, "nobody", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disable a missing user: %v", err)
	}

	if err := s.PutOAuthClient(ctx, store.OAuthClient{ClientID: "app", SecretHash: "s1", CompanyID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertOAuthClient(ctx, store.OAuthClient{ClientID: "app"}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("insert a taken OAuth client: %v", err)
	}
	if err := s.RevokeOAuthClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutOAuthClient(ctx, store.OAuthClient{ClientID: "app", SecretHash: "s2", CompanyID: "a"}); err != nil {
		t.Fatal(err)
	}
	if o, err := s.FindOAuthClient(ctx, "app"); err != nil || !o.Revoked || o.SecretHash != "s2" {
		t.Fatalf("OAuth client after revoke and put: %+v %v", o, err)
	}
	if err := s.RevokeOAuthClient(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke a missing OAuth client: %v", err)
	}
}

// A company put as stored, master data included, is not written again:
// a field the store does not know, set on the stored document, survives
// the second PutCompany, and goes with the next one that changes the
// company (which replaces the document). Lists the encoding leaves out
// when empty are no difference.
func TestPutCompanyAsStoredWritesNothing(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	c := store.Company{ID: "acme", Name: "Acme", MasterData: &store.CompanyMasterData{
		BusinessName: "Acme Pharma",
		Identifiers:  []store.Identifier{{Type: "GLN", Value: "0614141000005"}},
		Locations:    []store.LocationMasterData{{ID: "plant-1", Identifiers: []store.Identifier{}}},
		Products:     []store.ProductMasterData{},
	}}
	if err := s.PutCompany(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.companies.UpdateOne(ctx, bson.M{"_id": "acme"}, bson.M{"$set": bson.M{"marker": 1}}); err != nil {
		t.Fatal(err)
	}
	marked := func() bool {
		t.Helper()
		n, err := s.companies.CountDocuments(ctx, bson.M{"_id": "acme", "marker": 1})
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	for range 2 {
		if err := s.PutCompany(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if !marked() {
		t.Fatal("PutCompany of the company as stored wrote it again")
	}
	c.MasterData.Identifiers[0].Value = "0614141000012"
	if err := s.PutCompany(ctx, c); err != nil {
		t.Fatal(err)
	}
	if marked() {
		t.Fatal("PutCompany of changed master data did not write it")
	}
	cs, err := s.Companies(ctx)
	if err != nil || len(cs) != 1 || cs[0].MasterData.Identifiers[0].Value != "0614141000012" {
		t.Fatalf("Companies after the change: %+v, %v", cs, err)
	}
}
