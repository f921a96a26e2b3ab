package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

func findUser(t *testing.T, st Store, username string) store.User {
	t.Helper()
	u, err := st.FindUser(t.Context(), username)
	must(t, err, "FindUser "+username)
	return *u
}

func testUsers(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	must(t, st.PutUser(ctx, store.User{Username: "  Alice@Example.COM ", PasswordHash: "ph1", CompanyID: "acme", Name: "Alice"}), "PutUser")
	// Without an id the user's is its username; without name parts, its
	// name is all given name.
	want := store.User{Username: "alice@example.com", ID: "alice@example.com", PasswordHash: "ph1", CompanyID: "acme", Name: "Alice", GivenName: "Alice"}
	for _, name := range []string{"alice@example.com", "ALICE@example.com", " Alice@Example.COM  "} {
		equal(t, "FindUser "+name, findUser(t, st, name), want)
	}
	must(t, st.PutUser(ctx, want), "PutUser as stored")
	equal(t, "user after PutUser as stored", findUser(t, st, "alice@example.com"), want)

	want.PasswordHash, want.CompanyID, want.Name, want.GivenName, want.Surname = "ph2", "globex", "Alice B.", "Alice", "B."
	must(t, st.PutUser(ctx, want), "PutUser with changes")
	equal(t, "user after PutUser with changes", findUser(t, st, "alice@example.com"), want)

	before := time.Now()
	must(t, st.SetUserDisabled(ctx, "alice@example.com", true), "SetUserDisabled true")
	after := time.Now()
	got := findUser(t, st, "alice@example.com")
	timeBetween(t, "DisabledAt", got.DisabledAt, before, after)
	want.Disabled, want.DisabledAt = true, got.DisabledAt
	equal(t, "disabled user", got, want)

	// A put keeps a disabled user disabled.
	want.PasswordHash = "ph3"
	must(t, st.PutUser(ctx, store.User{Username: "alice@example.com", PasswordHash: "ph3", CompanyID: "globex", Name: "Alice B."}), "PutUser of a disabled user")
	equal(t, "disabled user after PutUser", findUser(t, st, "alice@example.com"), want)

	// Enabling keeps DisabledAt: tokens issued before it stay dead.
	must(t, st.SetUserDisabled(ctx, "alice@example.com", false), "SetUserDisabled false")
	want.Disabled = false
	got = findUser(t, st, "alice@example.com")
	equal(t, "enabled user", got, want)
	if got.MaySignIn(got.DisabledAt.Add(-time.Second)) || !got.MaySignIn(got.DisabledAt.Add(time.Second)) {
		t.Errorf("enabled user: MaySignIn is wrong around DisabledAt %s", got.DisabledAt)
	}

	wantErr(t, st.SetUserDisabled(ctx, "nobody@example.com", true), store.ErrNotFound, "SetUserDisabled of a missing user")
	_, err := st.FindUser(ctx, "nobody@example.com")
	wantErr(t, err, store.ErrNotFound, "FindUser of a missing user")
}

func findUserByID(t *testing.T, st Store, id string) store.User {
	t.Helper()
	u, err := st.FindUserByID(t.Context(), id)
	must(t, err, "FindUserByID "+id)
	return *u
}

// testUserIDs: a user is found by its id (store.User.ID), the username by
// default; a name without parts is split at its first space; an id is one
// user's, refused to another by every write (put, seed, import) with
// store.ErrDuplicate and a message naming it, and a write refused so
// changes nothing.
func testUserIDs(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	must(t, st.PutUser(ctx, store.User{Username: " Alice@Example.COM ", PasswordHash: "ph1", CompanyID: "acme", Name: " Alice Mary  Smith "}), "PutUser without an id")
	alice := store.User{Username: "alice@example.com", ID: "alice@example.com", PasswordHash: "ph1", CompanyID: "acme",
		Name: " Alice Mary  Smith ", GivenName: "Alice", Surname: "Mary  Smith"}
	equal(t, "FindUserByID of the username", findUserByID(t, st, "alice@example.com"), alice)
	equal(t, "FindUser of a user without an id", findUser(t, st, "alice@example.com"), alice)

	bob := store.User{Username: "bob@example.com", ID: "u-bob", PasswordHash: "ph2", CompanyID: "globex", Name: "Robert Builder", GivenName: "Bob", Surname: "The Builder"}
	must(t, st.PutUser(ctx, bob), "PutUser with an id and name parts")
	equal(t, "FindUserByID of an id", findUserByID(t, st, "u-bob"), bob)
	equal(t, "FindUser of a user with an id", findUser(t, st, "bob@example.com"), bob)
	surnameOnly := store.User{Username: "cher@example.com", ID: "u-cher", PasswordHash: "ph3", CompanyID: "acme", Name: "Cher Sarkisian", Surname: "Cher"}
	must(t, st.PutUser(ctx, surnameOnly), "PutUser with a surname alone")
	equal(t, "a user with a surname alone", findUserByID(t, st, "u-cher"), surnameOnly)
	for _, id := range []string{"bob@example.com", "U-BOB", "u-bob ", "nobody", ""} {
		_, err := st.FindUserByID(ctx, id)
		wantErr(t, err, store.ErrNotFound, fmt.Sprintf("FindUserByID(%q)", id))
	}

	// An id another user has is refused, to a new user and to a change.
	taken := func(err error, what string) {
		t.Helper()
		if wantErr(t, err, store.ErrDuplicate, what) && !strings.Contains(err.Error(), `"u-bob"`) {
			t.Errorf("%s: the error %q does not name the id", what, err)
		}
	}
	taken(st.PutUser(ctx, store.User{Username: "dave@example.com", ID: "u-bob", PasswordHash: "ph4", CompanyID: "acme"}), "PutUser of a new user with a taken id")
	_, err := st.FindUser(ctx, "dave@example.com")
	wantErr(t, err, store.ErrNotFound, "FindUser of a user refused for its id")
	changed := alice
	changed.ID, changed.PasswordHash = "u-bob", "ph5"
	taken(st.PutUser(ctx, changed), "PutUser giving a user a taken id")
	equal(t, "a user refused another's id", findUser(t, st, "alice@example.com"), alice)
	equal(t, "the id's user after the refusals", findUserByID(t, st, "u-bob"), bob)
	pw := credentials.Passwords{Cost: credentials.MinPasswordCost}
	err = store.ApplySeed(ctx, st, pw, &store.Seed{Users: []store.SeedUser{{Username: "erin@example.com", ID: "u-bob", Password: "password-1", CompanyID: "acme"}}})
	taken(err, "ApplySeed of a user with a taken id")
	_, err = st.FindUser(ctx, "erin@example.com")
	wantErr(t, err, store.ErrNotFound, "FindUser of a seeded user refused for its id")
	frank := store.User{Username: "frank@example.com", ID: "u-bob", PasswordHash: "ph6", CompanyID: "acme"}
	wantErr(t, st.Import(ctx, []store.Record{{Kind: store.KindUser, Value: &frank}}), store.ErrDuplicate, "Import of a user with a taken id")
	_, err = st.FindUser(ctx, "frank@example.com")
	wantErr(t, err, store.ErrNotFound, "FindUser of an imported user refused for its id")
	equal(t, "the id's user after the refused import", findUserByID(t, st, "u-bob"), bob)

	// A user's id may change: the old one is free then, and the user keeps
	// what it was (disabled here).
	must(t, st.SetUserDisabled(ctx, "bob@example.com", true), "SetUserDisabled")
	bob = findUser(t, st, "bob@example.com")
	bob.ID = "u-robert"
	must(t, st.PutUser(ctx, bob), "PutUser with a new id")
	equal(t, "FindUserByID of the new id", findUserByID(t, st, "u-robert"), bob)
	if !bob.Disabled {
		t.Error("a user disabled before its id changed is enabled")
	}
	_, err = st.FindUserByID(ctx, "u-bob")
	wantErr(t, err, store.ErrNotFound, "FindUserByID of an id given up")
	dave := store.User{Username: "dave@example.com", ID: "u-bob", PasswordHash: "ph4", CompanyID: "acme", GivenName: "Dave"}
	must(t, st.PutUser(ctx, dave), "PutUser of an id given up")
	equal(t, "the new user of an id given up", findUserByID(t, st, "u-bob"), dave)
}

func findOAuthClient(t *testing.T, st Store, id string) store.OAuthClient {
	t.Helper()
	c, err := st.FindOAuthClient(t.Context(), id)
	must(t, err, "FindOAuthClient "+id)
	return *c
}

func testOAuthClients(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	c := store.OAuthClient{ClientID: "oc-1", SecretHash: "sh1", CompanyID: "acme"}
	must(t, st.InsertOAuthClient(ctx, c), "InsertOAuthClient")
	equal(t, "inserted OAuth client", findOAuthClient(t, st, "oc-1"), c)
	wantErr(t, st.InsertOAuthClient(ctx, store.OAuthClient{ClientID: "oc-1", SecretHash: "other", CompanyID: "globex"}), store.ErrDuplicate, "InsertOAuthClient of a taken id")
	equal(t, "OAuth client after a duplicate insert", findOAuthClient(t, st, "oc-1"), c)

	c.SecretHash, c.CompanyID = "sh2", "globex"
	must(t, st.PutOAuthClient(ctx, c), "PutOAuthClient with changes")
	equal(t, "OAuth client after PutOAuthClient", findOAuthClient(t, st, "oc-1"), c)

	must(t, st.RevokeOAuthClient(ctx, "oc-1"), "RevokeOAuthClient")
	c.Revoked = true
	equal(t, "revoked OAuth client", findOAuthClient(t, st, "oc-1"), c)
	must(t, st.PutOAuthClient(ctx, store.OAuthClient{ClientID: "oc-1", SecretHash: "sh3", CompanyID: "globex"}), "PutOAuthClient of a revoked client")
	c.SecretHash = "sh3"
	equal(t, "revoked OAuth client after PutOAuthClient", findOAuthClient(t, st, "oc-1"), c)

	fresh := store.OAuthClient{ClientID: "oc-2", SecretHash: "sh", CompanyID: "acme"}
	must(t, st.PutOAuthClient(ctx, fresh), "PutOAuthClient of a new client")
	equal(t, "put OAuth client", findOAuthClient(t, st, "oc-2"), fresh)

	wantErr(t, st.RevokeOAuthClient(ctx, "oc-missing"), store.ErrNotFound, "RevokeOAuthClient of a missing client")
	_, err := st.FindOAuthClient(ctx, "oc-missing")
	wantErr(t, err, store.ErrNotFound, "FindOAuthClient of a missing client")
}

func sampleToken(hash, kind string) store.Token {
	return store.Token{
		Hash: hash, Kind: kind, ClientID: "oc-1", Username: "alice@example.com", CompanyID: "acme",
		Scope: "read write", IssuedAt: at(base), ExpiresAt: at(base + 3_600_000),
	}
}

func findToken(t *testing.T, st Store, hash string) store.Token {
	t.Helper()
	tok, err := st.FindToken(t.Context(), hash)
	must(t, err, "FindToken "+hash)
	return *tok
}

func testTokens(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	access, refresh := sampleToken("h-access", store.AccessToken), sampleToken("h-refresh", store.RefreshToken)
	refresh.ExpiresAt = at(base + 30*86_400_000)
	must(t, st.InsertToken(ctx, access), "InsertToken access")
	must(t, st.InsertToken(ctx, refresh), "InsertToken refresh")
	equal(t, "access token", findToken(t, st, "h-access"), access)
	equal(t, "refresh token", findToken(t, st, "h-refresh"), refresh)

	won, err := st.RevokeToken(ctx, "h-refresh")
	must(t, err, "RevokeToken")
	if !won {
		t.Error("RevokeToken of a live token = false, want true")
	}
	won, err = st.RevokeToken(ctx, "h-refresh")
	must(t, err, "RevokeToken again")
	if won {
		t.Error("RevokeToken of a revoked token = true, want false")
	}
	refresh.Revoked = true
	equal(t, "revoked token", findToken(t, st, "h-refresh"), refresh)
	equal(t, "the other token", findToken(t, st, "h-access"), access)

	_, err = st.RevokeToken(ctx, "h-missing")
	wantErr(t, err, store.ErrNotFound, "RevokeToken of a missing token")
	_, err = st.FindToken(ctx, "h-missing")
	wantErr(t, err, store.ErrNotFound, "FindToken of a missing token")
}

// revokeRace has n callers revoke one token at once; it returns how many
// were told they revoked it, and the errors.
func revokeRace(t *testing.T, stores []Store, hash string, n int) (int, []error) {
	won := make([]bool, n)
	errs := make([]error, n)
	race(n, func(i int) { won[i], errs[i] = stores[i%len(stores)].RevokeToken(t.Context(), hash) })
	wins := 0
	var failed []error
	for i := range n {
		if won[i] {
			wins++
		}
		if errs[i] != nil {
			failed = append(failed, errs[i])
		}
	}
	return wins, failed
}

func testRevokeTokenConcurrent(t *testing.T, s *suite) {
	st := s.fresh(t)
	must(t, st.InsertToken(t.Context(), sampleToken("h", store.RefreshToken)), "InsertToken")
	const callers = 20
	wins, errs := revokeRace(t, []Store{st}, "h", callers)
	if len(errs) > 0 {
		t.Errorf("RevokeToken errors: %s", describeErrs(errs))
	}
	if wins != 1 {
		t.Errorf("%d concurrent RevokeToken: %d got true, want exactly one", callers, wins)
	}
	if tok := findToken(t, st, "h"); !tok.Revoked {
		t.Error("token not revoked after the race")
	}
}

func testExpireTokens(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	now := at(base + 100_000_000)
	var records []store.Record
	for i := range manyExpired {
		tok := sampleToken(fmt.Sprintf("due-%d", i), store.AccessToken)
		tok.ExpiresAt = now.Add(-time.Duration(i+1) * time.Millisecond)
		tok.Revoked = i%2 == 0
		records = append(records, store.Record{Kind: store.KindToken, Value: &tok})
	}
	var kept []store.Token
	for i, expiresAt := range []time.Time{now, now.Add(time.Millisecond), now.Add(time.Hour)} {
		tok := sampleToken(fmt.Sprintf("kept-%d", i), store.RefreshToken)
		tok.ExpiresAt = expiresAt
		records = append(records, store.Record{Kind: store.KindToken, Value: &tok})
		kept = append(kept, tok)
	}
	importAll(t, st, records)
	n, err := st.ExpireTokens(ctx, now)
	must(t, err, "ExpireTokens")
	if n != manyExpired {
		t.Errorf("ExpireTokens = %d, want %d", n, manyExpired)
	}
	for _, hash := range []string{"due-0", fmt.Sprintf("due-%d", manyExpired-1)} {
		_, err := st.FindToken(ctx, hash)
		wantErr(t, err, store.ErrNotFound, "FindToken of an expired token")
	}
	for _, tok := range kept {
		equal(t, "token not yet expired", findToken(t, st, tok.Hash), tok)
	}
	n, err = st.ExpireTokens(ctx, now)
	must(t, err, "ExpireTokens again")
	if n != 0 {
		t.Errorf("ExpireTokens again = %d, want 0", n)
	}
}
