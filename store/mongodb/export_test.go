package mongodb

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// fill puts one record of every kind in s, and a few changes.
func fill(t *testing.T, s *Store) {
	t.Helper()
	ctx := bg(t)
	now := time.Now()
	steps := []error{
		s.PutCompany(ctx, store.Company{ID: "acme", Name: "Acme"}),
		s.PutNetwork(ctx, store.Network{ID: "net-1", Members: []string{"acme"}}),
		s.PutClient(ctx, store.Client{APIKey: "k1", SecretHash: "h", CompanyID: "acme", UserID: "alice"}),
		s.InsertClient(ctx, store.Client{APIKey: "k2", SecretHash: "h", CompanyID: "acme", UserID: "alice", MintedBy: "k1", LicensePlate: "p"}),
		s.PutUser(ctx, store.User{Username: "bob@example.com", PasswordHash: "x", CompanyID: "acme", Name: "Bob"}),
		s.PutOAuthClient(ctx, store.OAuthClient{ClientID: "app", SecretHash: "s", CompanyID: "acme"}),
		s.InsertToken(ctx, store.Token{Hash: "t", Kind: store.AccessToken, IssuedAt: ms(now), ExpiresAt: ms(now.Add(time.Hour))}),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.NextSequence(ctx, "default", "acme", "incident"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimIdempotencyKey(ctx, newRecord("key", now)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"i1", "i2"} {
		inc := newIncident(id)
		if err := s.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		ch := change(inc, 2, "a")
		if err := s.WriteChange(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
}

// exported is s's export stream, one JSON line per record.
func exported(t *testing.T, s *Store) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := store.ExportNDJSON(bg(t), &buf, s); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(buf.String()), "\n")
}

// Export, import into an empty store, export again: the same stream, and
// the incidents read back alike.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src, dst := newStore(t), newStore(t)
	fill(t, src)
	// A change that died before it was applied is exported as applied.
	inc := mustFind(t, src, "i2")
	crashAt(src, stepCommitted)
	if err := src.WriteChange(bg(t), change(inc, 3, "b")); err == nil {
		t.Fatal("the crash hook did not stop the write")
	}
	src.crashAfter = nil
	if pending(t, src, "i2") != 1 {
		t.Fatal("no pending change before the export")
	}
	first := exported(t, src)
	if pending(t, src, "i2") != 0 {
		t.Fatal("the export did not complete the pending change")
	}
	kinds := []string{}
	for _, line := range first[1:] {
		var r struct{ Kind string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if len(kinds) == 0 || kinds[len(kinds)-1] != r.Kind {
			kinds = append(kinds, r.Kind)
		}
	}
	equal(t, "the kinds, in order", kinds, []string{store.KindCompany, store.KindNetwork, store.KindClient, store.KindSequence,
		store.KindUser, store.KindOAuthClient, store.KindToken, store.KindIncident, store.KindComment, store.KindActivity, store.KindIdempotency})

	if _, err := store.ImportNDJSON(bg(t), strings.NewReader(strings.Join(first, "\n")+"\n"), dst); err != nil {
		t.Fatal(err)
	}
	second := exported(t, dst)
	equal(t, "the second export", second, first)
	// Importing again changes nothing.
	if _, err := store.ImportNDJSON(bg(t), strings.NewReader(strings.Join(first, "\n")+"\n"), dst); err != nil {
		t.Fatal(err)
	}
	equal(t, "the export after importing twice", exported(t, dst), first)

	for _, id := range []string{"i1", "i2"} {
		equal(t, "incident "+id, mustFind(t, dst, id), mustFind(t, src, id))
	}
	if got := mustFind(t, dst, "i2").DataVersion; got != 3 {
		t.Fatalf("i2 at version %d after the import, want 3", got)
	}
	// The imported incident takes changes, and its comments stay in order.
	i1 := mustFind(t, dst, "i1")
	ch := change(i1, 3, "after-import")
	if err := dst.WriteChange(bg(t), ch); err != nil {
		t.Fatal(err)
	}
	checkAt(t, dst, "i1", 3, &ch)
	got := mustFind(t, dst, "i1")
	if !slices.IsSortedFunc(got.Comments, func(a, b store.Comment) int { return int(a.Position - b.Position) }) {
		t.Fatalf("comments out of order: %+v", got.Comments)
	}
	if r, err := dst.ClientsRevision(bg(t)); err != nil || r == 0 {
		t.Fatalf("importing clients did not move the revision: %d %v", r, err)
	}
}
