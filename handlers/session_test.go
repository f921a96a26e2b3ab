package handlers_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// authenticationDocMint is the body TraceLink's authentication guide tells
// its users to post with their browser session's token, unchanged.
const authenticationDocMint = `{
    "payload": {
        "description": "descJ100"
    },
    "header": {
        "dataspace": "default",
        "appName": "user-admin",
        "headerVersion": 1,
        "eventName": "authorization-manager:generate-apiKeyCredentials:v1",
        "ownerId": "00000000-0000-0000-0000-000000000000"
    }
}`

// The first-day path of a user coming from TraceLink's docs: sign in, send
// the session token as Bearer with the guide's body, get a long-lived key
// and secret, and use them as HTTP Basic; what the key creates names the
// user who minted it.
func TestSessionTokenMintsAnAPIKeyAsTheAuthenticationGuideShows(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	access, _ := login(t, h, gt.Tim)

	r := h.Post(t, []byte(authenticationDocMint), "Bearer "+access, nil)
	if r.Status != http.StatusOK || r.Header.IsErr || r.Header.ErrCode != "200_OK" ||
		r.Header.EventName != "authorization-manager:generate-apiKeyCredentials-response:v1" ||
		r.Header.OwnerID != "00000000-0000-0000-0000-000000000000" || r.Header.LicensePlate == "" {
		t.Fatalf("the guide's mint with a session token: %d %s", r.Status, r.Body)
	}
	var m minted
	r.Decode(t, &m)
	if m.APIKey == "" || len(m.APISecret) < 16 {
		t.Fatalf("minted credentials: %s", r.Payload)
	}

	key := gt.Client{APIKey: m.APIKey, APISecret: m.APISecret, CompanyID: "acme", NetworkID: "net-1"}
	id := addOne(t, h, key, map[string]any{"aptBusinessObjectSummary": "made with a key minted by a session"})
	if rec := readOne(t, h, gt.Acme, id); rec.CreatedByUserID != "tim@acme.example" {
		t.Errorf("the incident's creator is %q, want the minting user's id", rec.CreatedByUserID)
	}
	stored, err := h.Store.FindClient(context.Background(), m.APIKey)
	if err != nil || stored.MintedBy != "user:tim@acme.example" || stored.CompanyID != "acme" {
		t.Errorf("the minted key as stored: %+v, %v", stored, err)
	}

	// The session token itself works on any event, acting as the user.
	session := gt.Client{CompanyID: "acme", NetworkID: "net-1"}
	r = h.Post(t, gt.Envelope(session, addIncident, map[string]any{"aptBusinessObjectSummary": "made in a session"}), "Bearer "+access, nil).MustOK(t)
	var added struct {
		ID string `json:"id"`
	}
	r.Decode(t, &added)
	if rec := readOne(t, h, gt.Acme, added.ID); rec.CreatedByUserID != "tim@acme.example" || rec.OwnerID != "acme" {
		t.Errorf("the incident a session made: creator %q, owner %q", rec.CreatedByUserID, rec.OwnerID)
	}
}

// A session token that is not one, a refresh token, and the token of a user
// disabled since are each refused in the envelope's own format, saying what
// to do; nothing is minted.
func TestSessionTokensThatAreRefused(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	access, refresh := login(t, h, gt.Tim)
	if err := h.Store.SetUserDisabled(context.Background(), gt.Tim.Username, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, authorization, want string }{
		{"made up", "Bearer not-a-token", "sign in again"},
		{"a refresh token", "Bearer " + refresh, "refresh token"},
		{"an empty token", "Bearer ", "session token was refused"},
		{"lower-case scheme", "bearer nothing-either", "session token was refused"},
	} {
		r := h.Post(t, []byte(authenticationDocMint), tc.authorization, nil)
		if r.Status != http.StatusUnauthorized || !r.Header.IsErr || r.Header.ExceptionName != "AuthenticationException" ||
			!strings.Contains(r.Header.ErrMsg, tc.want) || strings.Contains(string(r.Body), "apiSecret\":") {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}

	if err := h.Store.SetUserDisabled(context.Background(), gt.Tim.Username, true); err != nil {
		t.Fatal(err)
	}
	r := h.Post(t, []byte(authenticationDocMint), "Bearer "+access, nil)
	if r.Status != http.StatusUnauthorized || r.Header.ExceptionName != "AuthenticationException" ||
		!strings.Contains(r.Header.ErrMsg, "may no longer sign in") {
		t.Errorf("the token of a disabled user: %d %s", r.Status, r.Body)
	}
}

// A session's mint under an Idempotency-Key replays the same key and secret
// to the same token; the answer is sealed by the token, so a new session
// (another token of the same user) cannot read the secret back.
func TestSessionMintReplaysOnlyToTheSameToken(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	first, _ := login(t, h, gt.Tim)
	keyed := map[string]string{"Idempotency-Key": "first-day-key"}

	var a, b minted
	h.Post(t, []byte(authenticationDocMint), "Bearer "+first, keyed).MustOK(t).Decode(t, &a)
	r := h.Post(t, []byte(authenticationDocMint), "Bearer "+first, keyed).MustOK(t)
	r.Decode(t, &b)
	if a.APIKey == "" || a != b || r.HTTP.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the replay to the same token: %+v then %+v (%s)", a, b, r.Body)
	}

	second, _ := login(t, h, gt.Tim)
	r = h.Post(t, []byte(authenticationDocMint), "Bearer "+second, keyed)
	if r.Status != http.StatusUnprocessableEntity || r.Header.ExceptionName != "IdempotencyKeyReuseException" ||
		strings.Contains(string(r.Body), a.APISecret) {
		t.Errorf("the replay to another token of the same user: %d %s", r.Status, r.Body)
	}
}

// An API client's user is given a name by a seed user of the same id: the
// creator an object records then resolves to that person, as the gateway's
// user relations resolve it; a user id nobody holds resolves to nothing.
func TestAnAPIClientsUserResolvesToItsNamedUser(t *testing.T) {
	t.Parallel()
	seed := gt.RESTSeed()
	seed.Users = append(seed.Users, store.SeedUser{Username: "alice@acme.example", ID: gt.Acme.UserID,
		Password: "alice-password-1", CompanyID: "acme", GivenName: "Alice", Surname: "Archer"})
	h := gt.Start(t, gt.Options{Seed: seed})

	rec := readOne(t, h, gt.Acme, addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "whose is it"}))
	u, err := h.Gateway.FindUser(context.Background(), rec.CreatedByUserID)
	if err != nil || u.Username != "alice@acme.example" || u.GivenName != "Alice" || u.Surname != "Archer" || u.CompanyID != "acme" {
		t.Fatalf("the creator %q resolves to %+v, %v", rec.CreatedByUserID, u, err)
	}
	// Tim has no id of his own: his username is it, and his name's parts
	// are his name split.
	if u, err := h.Gateway.FindUser(context.Background(), gt.Tim.Username); err != nil || u.Username != gt.Tim.Username {
		t.Errorf("a user without an id, by its username: %+v, %v", u, err)
	}
	if _, err := h.Gateway.FindUser(context.Background(), gt.Supplier.UserID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an API client's user that no user holds: %v, want not found", err)
	}
}
