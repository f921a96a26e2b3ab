package mongodb

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Users an earlier gateway wrote, without userId and name parts, get their
// id (the username) when a gateway opens the database, and are found by it;
// their name parts read back as their name split. A user whose username is
// another's id already keeps reading back by username, and Open does not
// fail over it.
func TestOpenGivesEarlierUsersTheirIDs(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	s := openStore(t, db)
	ctx := bg(t)
	if err := s.PutUser(ctx, store.User{Username: "carol@example.com", ID: "dave@example.com", PasswordHash: "ph3", CompanyID: "acme"}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []bson.M{
		{"_id": "alice@example.com", "passwordHash": "ph1", "companyId": "acme", "name": "Alice Smith", "disabled": false},
		{"_id": "bob@example.com", "passwordHash": "ph2", "companyId": "acme", "name": "Bob", "disabled": true},
		{"_id": "dave@example.com", "passwordHash": "ph4", "companyId": "acme", "name": "Dave", "disabled": false},
	} {
		if _, err := s.users.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	again := openStore(t, db)
	alice, err := again.FindUserByID(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("FindUserByID of an earlier user after Open: %v", err)
	}
	want := store.User{Username: "alice@example.com", ID: "alice@example.com", PasswordHash: "ph1", CompanyID: "acme", Name: "Alice Smith", GivenName: "Alice", Surname: "Smith"}
	equal(t, "an earlier user by id", *alice, want)
	if bob, err := again.FindUserByID(ctx, "bob@example.com"); err != nil || !bob.Disabled || bob.GivenName != "Bob" {
		t.Fatalf("FindUserByID of an earlier disabled user: %+v %v", bob, err)
	}
	var raw bson.M
	if err := again.users.FindOne(ctx, bson.M{"_id": "alice@example.com"}).Decode(&raw); err != nil || raw["userId"] != "alice@example.com" {
		t.Fatalf("the earlier user's document after Open: %v %v", raw, err)
	}
	if holder, err := again.FindUserByID(ctx, "dave@example.com"); err != nil || holder.Username != "carol@example.com" {
		t.Fatalf("FindUserByID of an id held before an earlier user's backfill: %+v %v", holder, err)
	}
	if dave, err := again.FindUser(ctx, "dave@example.com"); err != nil || dave.Name != "Dave" {
		t.Fatalf("FindUser of the earlier user whose username is another's id: %+v %v", dave, err)
	}
	// A seed applied again writes nothing more for a user given its id.
	if err := again.PutUser(ctx, want); err != nil {
		t.Fatal(err)
	}
	equal(t, "the earlier user after a put as stored", mustUser(t, again, "alice@example.com"), want)
}

// mustUser loads a user by username.
func mustUser(t *testing.T, s *Store, username string) store.User {
	t.Helper()
	u, err := s.FindUser(bg(t), username)
	if err != nil {
		t.Fatalf("find user %s: %v", username, err)
	}
	return *u
}
