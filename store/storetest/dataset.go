package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// kindOrder is the order Export writes the kinds in.
var kindOrder = []string{
	store.KindCompany, store.KindNetwork, store.KindClient, store.KindSequence, store.KindUser,
	store.KindOAuthClient, store.KindToken, store.KindIncident, store.KindComment, store.KindActivity,
	store.KindIdempotency,
}

// exportLines is st's dataset as ExportNDJSON writes it, header first.
func exportLines(t *testing.T, st Store) []string {
	t.Helper()
	var buf bytes.Buffer
	n, err := store.ExportNDJSON(t.Context(), &buf, st)
	must(t, err, "ExportNDJSON")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if int64(len(lines)) != n+1 {
		t.Errorf("ExportNDJSON counted %d records and wrote %d lines after the header", n, len(lines)-1)
	}
	return lines
}

// sameLines reports the lines that are in only one of two exports; the
// order within a kind is free.
func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	var missing, extra []string
	for l, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, l)
		}
		for ; n < 0; n++ {
			extra = append(extra, l)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: %d lines missing, %d unexpected\nmissing:\n\t%s\nunexpected:\n\t%s", what, len(missing), len(extra),
			strings.Join(head(missing), "\n\t"), strings.Join(head(extra), "\n\t"))
	}
}

func head(lines []string) []string {
	if len(lines) > 10 {
		return append(lines[:10:10], fmt.Sprintf("... and %d more", len(lines)-10))
	}
	return lines
}

// filled names what fill wrote.
type filled struct {
	incidents   []*store.Incident // as they are now
	plates      []string          // of history entries and of a client
	clients     []string
	users       []string
	userIDs     []string
	oauth       []string
	tokens      []string
	idempotency []string
	drawn       []int64 // numbers handed out of the one counter
}

// fill writes records of every kind into st.
func fill(t *testing.T, st Store) *filled {
	t.Helper()
	ctx := t.Context()
	f := &filled{}
	must(t, st.PutCompany(ctx, masterCompany()), "PutCompany")
	must(t, st.PutCompany(ctx, store.Company{ID: "globex", Name: "Globex"}), "PutCompany")
	must(t, st.EnsureCompany(ctx, "initech"), "EnsureCompany")
	must(t, st.PutNetwork(ctx, store.Network{ID: "net-1", Members: []string{"acme", "globex"}}), "PutNetwork")
	must(t, st.AddNetworkMember(ctx, "net-2", "initech"), "AddNetworkMember")

	for _, c := range []store.Client{
		{APIKey: "root", SecretHash: "h1", CompanyID: "acme", UserID: "u1", CreatedAt: base},
		{APIKey: "minted", SecretHash: "h2", CompanyID: "acme", UserID: "u2", CreatedAt: base + 1, LicensePlate: "plate-client", MintedBy: "root"},
		{APIKey: "gone", SecretHash: "h3", CompanyID: "globex", UserID: "u3"},
	} {
		must(t, st.InsertClient(ctx, c), "InsertClient")
		f.clients = append(f.clients, c.APIKey)
	}
	must(t, st.RevokeClient(ctx, "gone"), "RevokeClient")
	f.plates = append(f.plates, "plate-client")

	for range 3 {
		n, err := st.NextSequence(ctx, ds, "acme", "incident")
		must(t, err, "NextSequence")
		f.drawn = append(f.drawn, n)
	}
	_, err := st.NextSequence(ctx, "staging", "globex", "incident")
	must(t, err, "NextSequence")

	must(t, st.PutUser(ctx, store.User{Username: "alice@example.com", ID: "u1", PasswordHash: "ph1", CompanyID: "acme", Name: "Alice", GivenName: "Alice", Surname: "Smith"}), "PutUser")
	must(t, st.PutUser(ctx, store.User{Username: "bob@example.com", PasswordHash: "ph2", CompanyID: "globex", Name: "Bob Builder"}), "PutUser")
	must(t, st.SetUserDisabled(ctx, "bob@example.com", true), "SetUserDisabled")
	f.users = []string{"alice@example.com", "bob@example.com"}
	f.userIDs = []string{"u1", "bob@example.com"}

	must(t, st.InsertOAuthClient(ctx, store.OAuthClient{ClientID: "oc-1", SecretHash: "s1", CompanyID: "acme"}), "InsertOAuthClient")
	must(t, st.InsertOAuthClient(ctx, store.OAuthClient{ClientID: "oc-2", SecretHash: "s2", CompanyID: "globex"}), "InsertOAuthClient")
	must(t, st.RevokeOAuthClient(ctx, "oc-2"), "RevokeOAuthClient")
	f.oauth = []string{"oc-1", "oc-2"}

	must(t, st.InsertToken(ctx, sampleToken("t-access", store.AccessToken)), "InsertToken")
	must(t, st.InsertToken(ctx, sampleToken("t-refresh", store.RefreshToken)), "InsertToken")
	_, err = st.RevokeToken(ctx, "t-refresh")
	must(t, err, "RevokeToken")
	f.tokens = []string{"t-access", "t-refresh"}

	inc1 := sampleIncident("inc-1")
	insertIncident(t, st, inc1)
	h := newHistory(sampleIncident("inc-1"))
	withComments(t, st, h, []int{2, 0})
	ch := nextChange(h.state, 4, nil)
	edited := sampleComment("inc-1-v2-0", 2)
	edited.CommentText = "edited"
	ch.ReplaceComments = []store.Comment{edited}
	must(t, st.WriteChange(ctx, ch), "WriteChange")
	h.apply(ch)
	pending, done, released := claim("pending", "plate-p"), claim("done", "plate-d"), claim("released", "plate-r")
	for _, rec := range []store.IdempotencyRecord{pending, done, released} {
		claimKey(t, st, rec)
		f.idempotency = append(f.idempotency, rec.Key)
	}
	// The pending claim is durable with the change made under it.
	inc2 := sampleIncident("inc-2")
	inc2.Dataspace, inc2.Comments, inc2.Data = "staging", nil, nil
	must(t, st.InsertIncident(store.WithClaim(ctx, pending.Key, pending.LicensePlate), inc2), "InsertIncident under a claim")
	// A child of inc-1, with its comments, changed once.
	sub := sampleIncident("inc-1-sub")
	sub.ProcessType, sub.ParentID = "subTask", "inc-1"
	insertIncident(t, st, sub)
	subChange := nextChange(stateOf(sub), 2, nil)
	must(t, st.WriteChange(ctx, subChange), "WriteChange of a child")
	f.incidents = []*store.Incident{h.state, stateOf(inc2), stateOf(subChange.Incident)}
	for _, a := range h.activities {
		f.plates = append(f.plates, a.LicensePlate)
	}
	f.plates = append(f.plates, inc2.Activities[0].LicensePlate, sub.Activities[0].LicensePlate, subChange.Activity.LicensePlate)

	must(t, st.FinishIdempotencyKey(ctx, done.Key, "plate-d", 201, binaryBody()), "FinishIdempotencyKey")
	must(t, st.ReleaseIdempotencyLease(ctx, released.Key, "plate-r"), "ReleaseIdempotencyLease")
	return f
}

// serveSame checks that got answers as want does for everything fill
// wrote.
func serveSame(t *testing.T, got, want Store, f *filled) {
	t.Helper()
	ctx := t.Context()
	same := func(what string, g, w func(Store) (any, error)) {
		t.Helper()
		wv, werr := w(want)
		gv, gerr := g(got)
		if werr != nil {
			t.Errorf("%s on the source: %v", what, werr)
			return
		}
		if gerr != nil {
			t.Errorf("%s: %v", what, gerr)
			return
		}
		equal(t, what, gv, wv)
	}
	both := func(what string, f func(Store) (any, error)) { t.Helper(); same(what, f, f) }

	both("Companies", func(st Store) (any, error) { return companies(t, st), nil })
	both("Networks", func(st Store) (any, error) { return networks(t, st), nil })
	both("Clients", func(st Store) (any, error) { return clients(t, st), nil })
	both("CountClients", func(st Store) (any, error) { return st.CountClients(ctx) })
	for _, k := range f.clients {
		both("FindClient "+k, func(st Store) (any, error) { return st.FindClient(ctx, k) })
	}
	for _, inc := range f.incidents {
		both("FindIncident "+inc.ID, func(st Store) (any, error) {
			return st.FindIncident(ctx, inc.Dataspace, inc.ID, store.WithComments|store.WithActivities)
		})
		both("ListComments "+inc.ID, func(st Store) (any, error) { return st.ListComments(ctx, inc.ID, 0, 100) })
		both("ListComments "+inc.ID+" page", func(st Store) (any, error) {
			return st.ListComments(ctx, inc.ID, store.CommentPosition(1, 1), 2)
		})
		both("ListActivities "+inc.ID, func(st Store) (any, error) { return st.ListActivities(ctx, inc.ID, 0, 100) })
		cs, err := want.ListComments(ctx, inc.ID, 0, 100)
		must(t, err, "ListComments")
		for _, c := range cs {
			both("FindComment "+c.ID, func(st Store) (any, error) { return st.FindComment(ctx, inc.ID, c.ID) })
			both("FindCommentByID "+c.ID, func(st Store) (any, error) {
				owner, c, err := st.FindCommentByID(ctx, c.ID)
				return []any{owner, c}, err
			})
		}
		both("FindChildren "+inc.ID, func(st Store) (any, error) { return st.FindChildren(ctx, inc.Dataspace, inc.ID) })
		if inc.ParentID != "" {
			both("FindChildren "+inc.ParentID, func(st Store) (any, error) { return st.FindChildren(ctx, inc.Dataspace, inc.ParentID) })
		}
	}
	for _, plate := range f.plates {
		both("FindEffect "+plate, func(st Store) (any, error) {
			for _, space := range []string{ds, "staging"} {
				if e, err := st.FindEffect(ctx, space, plate); !errors.Is(err, store.ErrNotFound) {
					return e, err
				}
			}
			return nil, fmt.Errorf("no effect of %s: %w", plate, store.ErrNotFound)
		})
	}
	for _, k := range f.idempotency {
		both("FindIdempotencyKey "+k, func(st Store) (any, error) { return st.FindIdempotencyKey(ctx, k) })
	}
	for _, u := range f.users {
		both("FindUser "+u, func(st Store) (any, error) { return st.FindUser(ctx, u) })
	}
	for _, id := range f.userIDs {
		both("FindUserByID "+id, func(st Store) (any, error) { return st.FindUserByID(ctx, id) })
	}
	for _, c := range f.oauth {
		both("FindOAuthClient "+c, func(st Store) (any, error) { return st.FindOAuthClient(ctx, c) })
	}
	for _, h := range f.tokens {
		both("FindToken "+h, func(st Store) (any, error) { return st.FindToken(ctx, h) })
	}
	// A counter goes on from where it was: no number is handed out twice.
	n, err := got.NextSequence(ctx, ds, "acme", "incident")
	must(t, err, "NextSequence")
	if last := slices.Max(f.drawn); n <= last {
		t.Errorf("NextSequence = %d after the numbers up to %d were handed out", n, last)
	}
}

func testExportImport(t *testing.T, s *suite) {
	src := s.fresh(t)
	ctx := t.Context()
	f := fill(t, src)
	lines := exportLines(t, src)

	// The kinds come in order, each of them.
	seen := map[string]int{}
	last := 0
	for i, l := range lines[1:] {
		var rec struct {
			Kind       string `json:"kind"`
			IncidentID string `json:"incidentId"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("export line %d: %v: %s", i+2, err, l)
		}
		k := slices.Index(kindOrder, rec.Kind)
		switch {
		case k < 0:
			t.Errorf("export line %d has kind %q", i+2, rec.Kind)
		case k < last:
			t.Errorf("export line %d is a %s after a %s", i+2, rec.Kind, kindOrder[last])
		default:
			last = k
		}
		if (rec.Kind == store.KindComment || rec.Kind == store.KindActivity) && rec.IncidentID == "" {
			t.Errorf("export line %d is a %s without incidentId", i+2, rec.Kind)
		}
		seen[rec.Kind]++
	}
	for _, k := range kindOrder {
		if seen[k] == 0 {
			t.Errorf("the export has no %s record", k)
		}
	}

	dst := s.fresh(t)
	// Import replaces what the store holds under the same key.
	must(t, dst.PutCompany(ctx, store.Company{ID: "acme", Name: "Stale"}), "PutCompany")
	stream := strings.Join(lines, "\n") + "\n"
	n, err := store.ImportNDJSON(ctx, strings.NewReader(stream), dst)
	must(t, err, "ImportNDJSON")
	if n != int64(len(lines)-1) {
		t.Errorf("ImportNDJSON wrote %d records, want %d", n, len(lines)-1)
	}
	sameLines(t, "export of the imported store", exportLines(t, dst), lines)
	_, err = store.ImportNDJSON(ctx, strings.NewReader(stream), dst)
	must(t, err, "ImportNDJSON again")
	sameLines(t, "export after importing twice", exportLines(t, dst), lines)
	serveSame(t, dst, src, f)
	// The catalogue's part of the dataset is in the round trip.
	equal(t, "imported master data", companies(t, dst)[0], masterCompany())
	equal(t, "imported children", children(t, dst, ds, "inc-1"), []*store.Incident{f.incidents[2]})
	owner, _, err := dst.FindCommentByID(ctx, "inc-1-sub-c1")
	must(t, err, "FindCommentByID of an imported comment")
	equal(t, "the imported comment's object", owner, "inc-1-sub")
}

func testApplySeed(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	pw := credentials.Passwords{Cost: credentials.MinPasswordCost}
	// A seed file's company may declare its master data.
	var seedCompanies []store.Company
	must(t, json.Unmarshal([]byte(`[
		{"id": "acme", "name": "Acme", "masterData": {"businessName": "Acme Pharma",
			"identifiers": [{"type": "GLN", "value": "0614141000005"}], "address": {"city": "Boston", "country": "US"},
			"locations": [{"id": "plant-1", "locationType": "Internal", "identifiers": []}],
			"products": [{"id": "p-1", "name": "Aspirin", "itemCodes": [{"type": "GTIN", "value": "00312345678906"}]}]}},
		{"id": "globex", "name": "Globex"}]`), &seedCompanies), "decode the seed's companies")
	seed := &store.Seed{
		Companies: seedCompanies,
		Networks:  []store.Network{{ID: "net-1", Members: []string{"acme", "globex"}}, {ID: "net-2", Members: []string{"globex"}}},
		Clients: []store.SeedClient{
			{APIKey: "k1", APISecret: "secret-one-0123456789", CompanyID: "acme", UserID: "u1"},
			{APIKey: "k2", APISecret: "secret-two-0123456789", CompanyID: "globex", UserID: "u2"},
		},
		Users: []store.SeedUser{
			{Username: "Alice@Example.com", Password: "password-1", CompanyID: "acme", Name: "Alice Smith"},
			{Username: "bob@example.com", ID: "u2", Password: "password-2", CompanyID: "globex", Name: "Robert Builder", GivenName: "Bob", Surname: "Builder"},
		},
		OAuthClients: []store.SeedOAuthClient{{ClientID: "oc-1", ClientSecret: "oauth-secret-1", CompanyID: "acme"}},
	}
	must(t, store.ApplySeed(ctx, st, pw, seed), "ApplySeed")

	equal(t, "seeded companies", companies(t, st), []store.Company{
		{ID: "acme", Name: "Acme", MasterData: &store.CompanyMasterData{BusinessName: "Acme Pharma",
			Identifiers: []store.Identifier{{Type: "GLN", Value: "0614141000005"}}, Address: &store.Address{City: "Boston", Country: "US"},
			Locations: []store.LocationMasterData{{ID: "plant-1", LocationType: "Internal"}},
			Products:  []store.ProductMasterData{{ID: "p-1", Name: "Aspirin", ItemCodes: []store.Identifier{{Type: "GTIN", Value: "00312345678906"}}}}}},
		{ID: "globex", Name: "Globex"},
	})
	equal(t, "seeded networks", networks(t, st), []store.Network{
		{ID: "net-1", Members: []string{"acme", "globex"}, Position: 0},
		{ID: "net-2", Members: []string{"globex"}, Position: 1},
	})
	for _, c := range seed.Clients {
		got := findClient(t, st, c.APIKey)
		if got.SecretHash != credentials.HashSecret(c.APISecret) || got.CompanyID != c.CompanyID || got.UserID != c.UserID || !got.Active() {
			t.Errorf("seeded client %s = %+v", c.APIKey, got)
		}
	}
	// A seeded user without an id or name parts has its username and its
	// name split; one with them has them.
	alice := findUserByID(t, st, "alice@example.com")
	if !pw.Verify(alice.PasswordHash, "password-1") || alice.Username != "alice@example.com" || alice.CompanyID != "acme" ||
		alice.Name != "Alice Smith" || alice.GivenName != "Alice" || alice.Surname != "Smith" || alice.Disabled {
		t.Errorf("seeded user = %+v", alice)
	}
	bob := findUserByID(t, st, "u2")
	if !pw.Verify(bob.PasswordHash, "password-2") || bob.Username != "bob@example.com" || bob.CompanyID != "globex" ||
		bob.Name != "Robert Builder" || bob.GivenName != "Bob" || bob.Surname != "Builder" || bob.Disabled {
		t.Errorf("seeded user with an id = %+v", bob)
	}
	equal(t, "seeded user by username", findUser(t, st, "bob@example.com"), bob)
	equal(t, "seeded OAuth client", findOAuthClient(t, st, "oc-1"),
		store.OAuthClient{ClientID: "oc-1", SecretHash: credentials.HashSecret("oauth-secret-1"), CompanyID: "acme"})

	again := func(when string) {
		t.Helper()
		rev, lines := clientsRevision(t, st), exportLines(t, st)
		must(t, store.ApplySeed(ctx, st, pw, seed), "ApplySeed "+when)
		if r := clientsRevision(t, st); r != rev {
			t.Errorf("ApplySeed %s: ClientsRevision %d -> %d, want it unchanged", when, rev, r)
		}
		sameLines(t, "export after ApplySeed "+when, exportLines(t, st), lines)
	}
	again("a second time")

	must(t, st.RevokeClient(ctx, "k1"), "RevokeClient")
	must(t, st.SetUserDisabled(ctx, "alice@example.com", true), "SetUserDisabled")
	must(t, st.RevokeOAuthClient(ctx, "oc-1"), "RevokeOAuthClient")
	again("after revocations")
	if isActive(findClient(t, st, "k1")) {
		t.Error("ApplySeed brought a revoked client back")
	}
	if !findUser(t, st, "alice@example.com").Disabled {
		t.Error("ApplySeed enabled a disabled user")
	}
	if !findOAuthClient(t, st, "oc-1").Revoked {
		t.Error("ApplySeed brought a revoked OAuth client back")
	}

	// A changed secret is written, and counted.
	rev := clientsRevision(t, st)
	seed.Clients[1].APISecret = "secret-new-0123456789"
	must(t, store.ApplySeed(ctx, st, pw, seed), "ApplySeed with a new secret")
	if got := findClient(t, st, "k2"); got.SecretHash != credentials.HashSecret("secret-new-0123456789") {
		t.Errorf("client after a seed with a new secret: %+v", got)
	}
	if r := clientsRevision(t, st); r <= rev {
		t.Errorf("ClientsRevision after a seed changed a secret = %d, want more than %d", r, rev)
	}
	if isActive(findClient(t, st, "k1")) {
		t.Error("ApplySeed brought a revoked client back")
	}

	// Changed names and ids are written, and written once.
	seed.Users[0].GivenName, seed.Users[0].Surname = "Alicia", "Smith-Jones"
	seed.Users[1].ID, seed.Users[1].Name, seed.Users[1].GivenName, seed.Users[1].Surname = "u-bob", "Bob Builder", "", ""
	must(t, store.ApplySeed(ctx, st, pw, seed), "ApplySeed with changed names")
	if got := findUserByID(t, st, "alice@example.com"); got.GivenName != "Alicia" || got.Surname != "Smith-Jones" || got.Name != "Alice Smith" || !got.Disabled {
		t.Errorf("user after a seed with new name parts: %+v", got)
	}
	if got := findUserByID(t, st, "u-bob"); got.Username != "bob@example.com" || got.GivenName != "Bob" || got.Surname != "Builder" {
		t.Errorf("user after a seed with a new id and name: %+v", got)
	}
	_, err := st.FindUserByID(ctx, "u2")
	wantErr(t, err, store.ErrNotFound, "FindUserByID of the id a seed changed")
	again("after names changed")
}

// definite reports whether err is an answer about the data (as opposed
// to a failure to answer).
func definite(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrConflict)
}

// operations are calls of every kind, for the cases of a store that
// cannot answer.
func operations() []struct {
	name string
	call func(ctx context.Context, st Store) error
} {
	inc := sampleIncident("inc-1")
	ch := nextChange(stateOf(inc), 2, nil)
	rec := claim("k", "plate-1")
	return []struct {
		name string
		call func(ctx context.Context, st Store) error
	}{
		{"Ping", func(ctx context.Context, st Store) error { return st.Ping(ctx) }},
		{"Ready", func(ctx context.Context, st Store) error { return st.Ready(ctx) }},
		{"PutCompany", func(ctx context.Context, st Store) error {
			return st.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme"})
		}},
		{"Companies", func(ctx context.Context, st Store) error { _, err := st.Companies(ctx); return err }},
		{"Networks", func(ctx context.Context, st Store) error { _, err := st.Networks(ctx); return err }},
		{"Clients", func(ctx context.Context, st Store) error { _, err := st.Clients(ctx); return err }},
		{"FindClient", func(ctx context.Context, st Store) error { _, err := st.FindClient(ctx, "k"); return err }},
		{"InsertClient", func(ctx context.Context, st Store) error {
			return st.InsertClient(ctx, store.Client{APIKey: "k", SecretHash: "h", CompanyID: "acme", UserID: "u"})
		}},
		{"RevokeClient", func(ctx context.Context, st Store) error { return st.RevokeClient(ctx, "k") }},
		{"ClientsRevision", func(ctx context.Context, st Store) error { _, err := st.ClientsRevision(ctx); return err }},
		{"NextSequence", func(ctx context.Context, st Store) error {
			_, err := st.NextSequence(ctx, ds, "acme", "incident")
			return err
		}},
		{"InsertIncident", func(ctx context.Context, st Store) error { return st.InsertIncident(ctx, sampleIncident("inc-1")) }},
		{"FindIncident", func(ctx context.Context, st Store) error { _, err := st.FindIncident(ctx, ds, "inc-1", 0); return err }},
		{"ListComments", func(ctx context.Context, st Store) error { _, err := st.ListComments(ctx, "inc-1", 0, 10); return err }},
		{"WriteChange", func(ctx context.Context, st Store) error { return st.WriteChange(ctx, ch) }},
		{"ClaimIdempotencyKey", func(ctx context.Context, st Store) error {
			r := rec
			_, err := st.ClaimIdempotencyKey(ctx, &r)
			return err
		}},
		{"FindIdempotencyKey", func(ctx context.Context, st Store) error { _, err := st.FindIdempotencyKey(ctx, rec.Key); return err }},
		{"FindEffect", func(ctx context.Context, st Store) error { _, err := st.FindEffect(ctx, ds, "plate-1"); return err }},
		{"ExpireIdempotencyKeys", func(ctx context.Context, st Store) error {
			_, err := st.ExpireIdempotencyKeys(ctx, at(base))
			return err
		}},
		{"FindUser", func(ctx context.Context, st Store) error { _, err := st.FindUser(ctx, "alice@example.com"); return err }},
		{"FindUserByID", func(ctx context.Context, st Store) error {
			_, err := st.FindUserByID(ctx, "alice@example.com")
			return err
		}},
		{"PutUser", func(ctx context.Context, st Store) error {
			return st.PutUser(ctx, store.User{Username: "alice@example.com", PasswordHash: "ph", CompanyID: "acme"})
		}},
		{"InsertOAuthClient", func(ctx context.Context, st Store) error {
			return st.InsertOAuthClient(ctx, store.OAuthClient{ClientID: "oc", SecretHash: "s", CompanyID: "acme"})
		}},
		{"InsertToken", func(ctx context.Context, st Store) error {
			return st.InsertToken(ctx, sampleToken("h", store.AccessToken))
		}},
		{"FindToken", func(ctx context.Context, st Store) error { _, err := st.FindToken(ctx, "h"); return err }},
		{"ExpireTokens", func(ctx context.Context, st Store) error { _, err := st.ExpireTokens(ctx, at(base)); return err }},
		{"Export", func(ctx context.Context, st Store) error {
			return st.Export(ctx, func(store.Record) error { return nil })
		}},
		{"Import", func(ctx context.Context, st Store) error {
			return st.Import(ctx, []store.Record{{Kind: store.KindCompany, Value: &store.Company{ID: "acme", Name: "Acme"}}})
		}},
	}
}

// answerTimeout bounds one call to a store that cannot answer: it must
// fail rather than wait.
const answerTimeout = 10 * time.Second

func testClosedStore(t *testing.T, s *suite) {
	st := s.fresh(t)
	must(t, st.Close(t.Context()), "Close")
	for _, op := range operations() {
		ctx, cancel := context.WithTimeout(t.Context(), answerTimeout)
		err := op.call(ctx, st)
		late := ctx.Err() != nil
		cancel()
		switch {
		case late:
			t.Fatalf("%s on a closed store did not return within %s (%v)", op.name, answerTimeout, err)
		case err == nil:
			t.Errorf("%s on a closed store succeeded", op.name)
		case definite(err):
			t.Errorf("%s on a closed store answered %v, as if the store had looked", op.name, err)
		case !store.IsUnavailable(err):
			t.Logf("%s on a closed store: %v (not unavailability)", op.name, err)
		}
	}
}

func testExpiredContext(t *testing.T, s *suite) {
	st := s.fresh(t)
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	for _, op := range operations() {
		err := op.call(expired, st)
		switch {
		case err == nil:
			// Answered without asking the store (a cache); only writes
			// and checks must fail.
			if op.name == "Ping" || op.name == "Ready" || strings.HasPrefix(op.name, "Insert") ||
				strings.HasPrefix(op.name, "Put") || op.name == "WriteChange" || op.name == "ClaimIdempotencyKey" || op.name == "Import" {
				t.Errorf("%s with an expired context succeeded", op.name)
			}
		case !store.IsUnavailable(err):
			t.Errorf("%s with an expired context: %v, want unavailability (store.IsUnavailable)", op.name, err)
		}
	}
	// Nothing was written.
	ctx := t.Context()
	if cs := companies(t, st); len(cs) != 0 {
		t.Errorf("companies written with an expired context: %+v", cs)
	}
	_, err := st.FindClient(ctx, "k")
	wantErr(t, err, store.ErrNotFound, "FindClient of a client inserted with an expired context")
	_, err = st.FindIncident(ctx, ds, "inc-1", 0)
	wantErr(t, err, store.ErrNotFound, "FindIncident of an incident inserted with an expired context")
	_, err = st.FindIdempotencyKey(ctx, claim("k", "plate-1").Key)
	wantErr(t, err, store.ErrNotFound, "FindIdempotencyKey of a key claimed with an expired context")
	_, err = st.FindUser(ctx, "alice@example.com")
	wantErr(t, err, store.ErrNotFound, "FindUser of a user put with an expired context")
	_, err = st.FindToken(ctx, "h")
	wantErr(t, err, store.ErrNotFound, "FindToken of a token inserted with an expired context")
	_, err = st.FindOAuthClient(ctx, "oc")
	wantErr(t, err, store.ErrNotFound, "FindOAuthClient of a client inserted with an expired context")
	if r := clientsRevision(t, st); r != 0 {
		t.Errorf("ClientsRevision = %d after writes with an expired context, want 0", r)
	}
}

func testSecondHandleSeesData(t *testing.T, s *suite) {
	open := s.dataset(t)
	first := open()
	f := fill(t, first)
	lines := exportLines(t, first)
	if !s.opts.Simultaneous {
		must(t, first.Close(t.Context()), "Close")
	}
	second := open()
	sameLines(t, "export of a second handle", exportLines(t, second), lines)
	got := findIncident(t, second, "inc-1", 0)
	equal(t, "incident through a second handle", got, f.incidents[0])
	n, err := second.NextSequence(t.Context(), ds, "acme", "incident")
	must(t, err, "NextSequence")
	if last := slices.Max(f.drawn); n <= last {
		t.Errorf("NextSequence through a second handle = %d after the first handed out up to %d", n, last)
	}
}

func testSecondHandleRaces(t *testing.T, s *suite) {
	open := s.dataset(t)
	if !s.opts.Simultaneous {
		t.Skip("the store's handles of one dataset cannot be open at once (Options.Simultaneous)")
	}
	a, b := open(), open()
	stores := []Store{a, b}
	ctx := t.Context()

	insertIncident(t, a, sampleIncident("inc-1"))
	h := newHistory(sampleIncident("inc-1"))
	const writers = 20
	changes := make([]store.Change, writers)
	for i := range changes {
		ch := nextChange(h.state, 2, map[string]any{"writer": int64(i)})
		ch.Activity.LicensePlate = fmt.Sprintf("plate-writer-%d", i)
		ch.AddComments = []store.Comment{sampleComment(fmt.Sprintf("writer-%d-c", i), int64(i))}
		changes[i] = ch
	}
	errs := make([]error, writers)
	race(writers, func(i int) { errs[i] = stores[i%2].WriteChange(ctx, changes[i]) })
	var winners []int
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, i)
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("writer %d: %v, want ErrConflict", i, err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d writers of version 2 through two handles: winners %v, want exactly one", writers, winners)
	}
	h.apply(changes[winners[0]])
	h.check(t, a, "first handle after the race")
	h.check(t, b, "second handle after the race")

	rec := claim("k", "plate-1")
	claimKey(t, a, rec)
	won, errs := takeOverRace(t, stores, findKey(t, b, rec.Key), writers)
	if len(errs) > 0 {
		t.Errorf("TakeOverIdempotencyKey errors: %s", describeErrs(errs))
	}
	if len(won) != 1 {
		t.Errorf("%d takeovers through two handles: winners %v, want exactly one", writers, won)
	}

	must(t, a.InsertToken(ctx, sampleToken("h", store.RefreshToken)), "InsertToken")
	wins, errs := revokeRace(t, stores, "h", writers)
	if len(errs) > 0 {
		t.Errorf("RevokeToken errors: %s", describeErrs(errs))
	}
	if wins != 1 {
		t.Errorf("%d RevokeToken through two handles: %d got true, want exactly one", writers, wins)
	}
}
