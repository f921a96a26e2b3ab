package mongodb

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// ms is t as the store keeps it.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

func newRecord(key string, now time.Time) *store.IdempotencyRecord {
	return &store.IdempotencyRecord{Key: key, RequestHash: "h", LicensePlate: "plate-" + key, Dataspace: "default",
		State: store.IdempotencyPending, LeaseUntil: ms(now.Add(time.Minute)), CreatedAt: ms(now), ExpiresAt: ms(now.Add(24 * time.Hour))}
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	now := time.Now()
	rec := newRecord("k1", now)
	if got, err := s.ClaimIdempotencyKey(ctx, rec); err != nil || got != nil {
		t.Fatalf("first claim: %+v %v", got, err)
	}
	other := newRecord("k1", now.Add(time.Second))
	other.LicensePlate = "plate-other"
	got, err := s.ClaimIdempotencyKey(ctx, other)
	if err != nil || got == nil {
		t.Fatalf("second claim: %+v %v", got, err)
	}
	equal(t, "the held record", *got, *rec)

	// Finish and release only under the plate that holds the key.
	if err := s.ReleaseIdempotencyLease(ctx, "k1", "plate-other"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindIdempotencyKey(ctx, "k1"); !got.LeaseUntil.Equal(rec.LeaseUntil) {
		t.Fatalf("released under another plate: %v", got.LeaseUntil)
	}
	if err := s.ReleaseIdempotencyLease(ctx, "k1", rec.LicensePlate); err != nil {
		t.Fatal(err)
	}
	released, _ := s.FindIdempotencyKey(ctx, "k1")
	if !released.LeaseUntil.Equal(time.Unix(0, 0)) {
		t.Fatalf("lease after release: %v", released.LeaseUntil)
	}
	// Take over: with the lease read, once.
	lease := ms(now.Add(2 * time.Minute))
	if ok, err := s.TakeOverIdempotencyKey(ctx, rec, lease); err != nil || ok {
		t.Fatalf("take over with a stale lease: %v %v", ok, err)
	}
	if ok, err := s.TakeOverIdempotencyKey(ctx, released, lease); err != nil || !ok {
		t.Fatalf("take over: %v %v", ok, err)
	}
	if ok, err := s.TakeOverIdempotencyKey(ctx, released, lease.Add(time.Minute)); err != nil || ok {
		t.Fatalf("take over twice: %v %v", ok, err)
	}
	if err := s.FinishIdempotencyKey(ctx, "k1", "plate-other", 200, []byte("no")); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIdempotencyKey(ctx, "k1", rec.LicensePlate, 201, []byte("answer")); err != nil {
		t.Fatal(err)
	}
	done, err := s.FindIdempotencyKey(ctx, "k1")
	if err != nil || done.State != store.IdempotencyDone || done.Status != 201 || string(done.Body) != "answer" || !done.LeaseUntil.Equal(lease) {
		t.Fatalf("finished record: %+v %v", done, err)
	}
	if _, err := s.FindIdempotencyKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a missing key: %v", err)
	}
	if ok, err := s.TakeOverIdempotencyKey(ctx, done, lease.Add(time.Hour)); err != nil || ok {
		t.Fatalf("take over of a done key: %v %v", ok, err)
	}

	// An expired record is replaced by the next claim.
	later := newRecord("k1", now.Add(25*time.Hour))
	if got, err := s.ClaimIdempotencyKey(ctx, later); err != nil || got != nil {
		t.Fatalf("claim of an expired key: %+v %v", got, err)
	}
	if got, _ := s.FindIdempotencyKey(ctx, "k1"); !got.CreatedAt.Equal(later.CreatedAt) || got.State != store.IdempotencyPending {
		t.Fatalf("after claiming the expired key: %+v", got)
	}
}

// Gateways claim one key at once: one claims it, the others get its
// record.
func TestClaimOnceAcrossGateways(t *testing.T) {
	t.Parallel()
	stores := gateways(t, testDB(t), 6)
	ctx := bg(t)
	now := time.Now()
	for round := range 5 {
		key := fmt.Sprint("k", round)
		claims := make([]*store.IdempotencyRecord, len(stores))
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { claims[i], errs[i] = s.ClaimIdempotencyKey(ctx, newRecord(key, now)) })
		}
		wg.Wait()
		won := 0
		for i := range stores {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if claims[i] == nil {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d gateways claimed the key", won)
		}
	}
}

// Gateways take over one lease at once: one wins.
func TestTakeOverOnceAcrossGateways(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	if db.FerretDB {
		t.Skip(ferretNoAtomicUpdates)
	}
	stores := gateways(t, db, 6)
	ctx := bg(t)
	now := time.Now()
	for round := range 5 {
		key := fmt.Sprint("k", round)
		if _, err := stores[0].ClaimIdempotencyKey(ctx, newRecord(key, now)); err != nil {
			t.Fatal(err)
		}
		held, err := stores[0].FindIdempotencyKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		oks := make([]bool, len(stores))
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { oks[i], errs[i] = s.TakeOverIdempotencyKey(ctx, held, now.Add(time.Duration(i+2)*time.Minute)) })
		}
		wg.Wait()
		won := 0
		for i := range stores {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if oks[i] {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d gateways took the lease over", won)
		}
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := bg(t)
	now := time.Now()
	const n = 2*expireBatch + 17 // more than one batch
	for i := range n + 5 {
		rec := newRecord(fmt.Sprint("k", i), now.Add(-48*time.Hour))
		tok := store.Token{Hash: fmt.Sprint("t", i), Kind: store.AccessToken, IssuedAt: ms(now.Add(-time.Hour)), ExpiresAt: ms(now.Add(-time.Minute))}
		if i >= n { // still good
			rec.ExpiresAt = ms(now.Add(time.Hour))
			tok.ExpiresAt = ms(now.Add(time.Hour))
		}
		if _, err := s.ClaimIdempotencyKey(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.ExpireIdempotencyKeys(ctx, now); err != nil || got != n {
		t.Fatalf("ExpireIdempotencyKeys: %d %v, want %d", got, err, n)
	}
	if got, err := s.ExpireTokens(ctx, now); err != nil || got != n {
		t.Fatalf("ExpireTokens: %d %v, want %d", got, err, n)
	}
	for _, c := range []struct {
		name string
		n    int64
	}{{"idempotency", 5}, {"oauth_tokens", 5}} {
		left, err := s.db.Collection(c.name).CountDocuments(ctx, bson.M{})
		if err != nil || left != c.n {
			t.Fatalf("%s left: %d %v, want %d", c.name, left, err, c.n)
		}
	}
	if got, err := s.ExpireIdempotencyKeys(ctx, now); err != nil || got != 0 {
		t.Fatalf("ExpireIdempotencyKeys again: %d %v", got, err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	s := openStore(t, db)
	ctx := bg(t)
	now := time.Now()
	tok := store.Token{Hash: "sha256:x", Kind: store.RefreshToken, ClientID: "app", Username: "bob", CompanyID: "acme", Scope: "s",
		IssuedAt: ms(now), ExpiresAt: ms(now.Add(time.Hour))}
	if err := s.InsertToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertToken(ctx, tok); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("insert twice: %v", err)
	}
	got, err := s.FindToken(ctx, "sha256:x")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "the token", *got, tok)
	if _, err := s.RevokeToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke a missing token: %v", err)
	}
	if ok, err := s.RevokeToken(ctx, "sha256:x"); err != nil || !ok {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if ok, err := s.RevokeToken(ctx, "sha256:x"); err != nil || ok {
		t.Fatalf("revoke again: %v %v", ok, err)
	}
}

// Gateways revoke one token at once (two uses of one refresh token): one
// of them revokes it.
func TestRevokeTokenOnceAcrossGateways(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	if db.FerretDB {
		t.Skip(ferretNoAtomicUpdates)
	}
	stores := gateways(t, db, 6)
	ctx := bg(t)
	now := time.Now()
	for round := range 5 {
		hash := fmt.Sprint("sha256:", round)
		if err := stores[0].InsertToken(ctx, store.Token{Hash: hash, Kind: store.RefreshToken, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		oks := make([]bool, len(stores))
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { oks[i], errs[i] = s.RevokeToken(ctx, hash) })
		}
		wg.Wait()
		won := 0
		for i := range stores {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if oks[i] {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent revocations revoked the token", won)
		}
	}
}
