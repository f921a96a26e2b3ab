package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedWriter writes seed files into a temporary directory of the test and
// returns their paths.
func seedWriter(t *testing.T) func(name, text string) string {
	dir := t.TempDir()
	return func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
}

// A seed file is checked whole before anything is applied: a typo in a
// field is an error naming it, and every other problem is listed at once.
func TestSeedFileProblemsAreListedAtOnce(t *testing.T) {
	t.Parallel()
	write := seedWriter(t)
	if _, err := loadSeed(write("typo.json", `{"companies": [{"id": "acme", "nmae": "Acme"}]}`)); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("a misspelt field: %v", err)
	}
	_, err := loadSeed(write("problems.json", `{
	  "companies": [{"id": ""}],
	  "networks":  [{"id": "net-1", "members": ["ghost"]}],
	  "clients":   [{"apiKey": "k", "apiSecret": "short", "companyId": "acme"}],
	  "users":     [{"username": "u@x", "password": "pw", "companyId": "acme"}]}`))
	if err == nil {
		t.Fatal("a seed with five problems was accepted")
	}
	for _, want := range []string{"companies[0].id is empty", `names company "ghost"`, "clients[0].apiSecret must be at least", "users[0].password must be", `clients[0].companyId names company "acme"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	seed, err := loadSeed(write("good.json", `{"companies": [{"id": "acme"}], "networks": [{"id": "n", "members": ["acme"]}],
	  "clients": [{"apiKey": "k", "apiSecret": "0123456789abcdef", "companyId": "acme", "userId": "u"}]}`))
	if err != nil || len(seed.Clients) != 1 || seed.Networks[0].Members[0] != "acme" {
		t.Fatalf("a good seed: %+v, %v", seed, err)
	}
}

// A seed's users may give their ids and name parts; two users of one id
// (given, or the username when none is) are refused, naming both.
func TestSeedUsersHaveUniqueIDs(t *testing.T) {
	t.Parallel()
	write := seedWriter(t)
	seed, err := loadSeed(write("good.json", `{"companies": [{"id": "acme"}], "users": [
	  {"username": "tim@acme.com", "id": "tim", "password": "pw-0123456789", "companyId": "acme", "givenName": "Tim", "surname": "Berners"},
	  {"username": "tom@acme.com", "password": "pw-0123456789", "companyId": "acme", "name": "Tom Thumb"}]}`))
	if err != nil {
		t.Fatalf("a seed of users with ids and names: %v", err)
	}
	if u := seed.Users[0]; u.ID != "tim" || u.GivenName != "Tim" || u.Surname != "Berners" || u.UserID() != "tim" {
		t.Errorf("the seeded user with an id: %+v", u)
	}
	if u := seed.Users[1].User(""); u.ID != "tom@acme.com" || u.GivenName != "Tom" || u.Surname != "Thumb" {
		t.Errorf("the seeded user without an id, as stored: %+v", u)
	}
	_, err = loadSeed(write("same-id.json", `{"companies": [{"id": "acme"}], "users": [
	  {"username": "Tim@Acme.com", "password": "pw-0123456789", "companyId": "acme"},
	  {"username": "tom@acme.com", "id": "tim@acme.com", "password": "pw-0123456789", "companyId": "acme"},
	  {"username": "ann@acme.com", "id": "ann", "password": "pw-0123456789", "companyId": "acme"},
	  {"username": "bea@acme.com", "id": " ann ", "password": "pw-0123456789", "companyId": "acme"}]}`))
	for _, want := range []string{`users[1] has the user id "tim@acme.com" of users[0]`, `users[3] has the user id "ann" of users[2]`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a seed of users sharing an id: %v, want it to say %q", err, want)
		}
	}
}
