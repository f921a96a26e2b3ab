package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// claim is a pending record of a new key, claimed at base.
func claim(key, plate string) store.IdempotencyRecord {
	return store.IdempotencyRecord{
		Key:          store.IdempotencyKeyID("acme", "key-1", "u1", key),
		RequestHash:  "hash-" + plate,
		LicensePlate: plate,
		Dataspace:    ds,
		State:        store.IdempotencyPending,
		LeaseUntil:   at(base + 30_000),
		CreatedAt:    at(base),
		ExpiresAt:    at(base + 86_400_000),
	}
}

func claimKey(t *testing.T, st Store, rec store.IdempotencyRecord) {
	t.Helper()
	existing, err := st.ClaimIdempotencyKey(t.Context(), &rec)
	must(t, err, "ClaimIdempotencyKey "+rec.Key)
	if existing != nil {
		t.Fatalf("ClaimIdempotencyKey of a new key gave a record: %+v", existing)
	}
}

func findKey(t *testing.T, st Store, key string) store.IdempotencyRecord {
	t.Helper()
	rec, err := st.FindIdempotencyKey(t.Context(), key)
	must(t, err, "FindIdempotencyKey "+key)
	return *rec
}

// binaryBody is an answer with every byte value, as a sealed one has.
func binaryBody() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func testClaimIdempotencyKey(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	first := claim("k", "plate-1")
	claimKey(t, st, first)
	equal(t, "claimed record", findKey(t, st, first.Key), first)

	// A retry before the record expires gets it and claims nothing, up
	// to the last millisecond.
	for _, createdAt := range []time.Time{at(base + 1000), first.ExpiresAt.Add(-time.Millisecond)} {
		retry := claim("k", "plate-2")
		retry.CreatedAt = createdAt
		existing, err := st.ClaimIdempotencyKey(ctx, &retry)
		must(t, err, "ClaimIdempotencyKey of a claimed key")
		equal(t, "ClaimIdempotencyKey of a claimed key at "+createdAt.Format(time.RFC3339Nano), existing, &first)
		equal(t, "record after a retry's claim", findKey(t, st, first.Key), first)
	}

	// From ExpiresAt on, the record is expired: a claim replaces it.
	late := claim("k", "plate-3")
	late.CreatedAt, late.LeaseUntil, late.ExpiresAt = first.ExpiresAt, first.ExpiresAt.Add(time.Minute), first.ExpiresAt.Add(24*time.Hour)
	existing, err := st.ClaimIdempotencyKey(ctx, &late)
	must(t, err, "ClaimIdempotencyKey of an expired key")
	if existing != nil {
		t.Errorf("ClaimIdempotencyKey of an expired key gave %+v, want nil", existing)
	}
	equal(t, "record after claiming an expired key", findKey(t, st, first.Key), late)

	// A finished key is replayed.
	done := claim("done", "plate-d")
	claimKey(t, st, done)
	must(t, st.FinishIdempotencyKey(ctx, done.Key, "plate-d", 201, binaryBody()), "FinishIdempotencyKey")
	done.State, done.Status, done.Body = store.IdempotencyDone, 201, binaryBody()
	retry := claim("done", "plate-r")
	retry.CreatedAt = at(base + 5000)
	existing, err = st.ClaimIdempotencyKey(ctx, &retry)
	must(t, err, "ClaimIdempotencyKey of a finished key")
	equal(t, "ClaimIdempotencyKey of a finished key", existing, &done)

	// Keys of other callers are other keys.
	other := claim("k", "plate-o")
	other.Key = store.IdempotencyKeyID("acme", "key-2", "u1", "k")
	claimKey(t, st, other)
	equal(t, "the other caller's record", findKey(t, st, other.Key), other)
	equal(t, "record of the first caller", findKey(t, st, first.Key), late)

	_, err = st.FindIdempotencyKey(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "FindIdempotencyKey of a missing key")
}

func testFinishIdempotencyKey(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	rec := claim("k", "plate-1")
	claimKey(t, st, rec)
	_ = st.FinishIdempotencyKey(ctx, rec.Key, "plate-other", 500, []byte("not mine"))
	equal(t, "record after a Finish under another plate", findKey(t, st, rec.Key), rec)

	must(t, st.FinishIdempotencyKey(ctx, rec.Key, "plate-1", 201, binaryBody()), "FinishIdempotencyKey")
	rec.State, rec.Status, rec.Body = store.IdempotencyDone, 201, binaryBody()
	equal(t, "finished record", findKey(t, st, rec.Key), rec)

	empty := claim("empty", "plate-2")
	claimKey(t, st, empty)
	must(t, st.FinishIdempotencyKey(ctx, empty.Key, "plate-2", 204, nil), "FinishIdempotencyKey without a body")
	empty.State, empty.Status = store.IdempotencyDone, 204
	equal(t, "record finished without a body", findKey(t, st, empty.Key), empty)
}

func testReleaseIdempotencyLease(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	rec := claim("k", "plate-1")
	claimKey(t, st, rec)
	_ = st.ReleaseIdempotencyLease(ctx, rec.Key, "plate-other")
	equal(t, "record after a release under another plate", findKey(t, st, rec.Key), rec)
	must(t, st.ReleaseIdempotencyLease(ctx, rec.Key, "plate-1"), "ReleaseIdempotencyLease")
	rec.LeaseUntil = time.Unix(0, 0)
	equal(t, "released record", findKey(t, st, rec.Key), rec)

	done := claim("done", "plate-2")
	claimKey(t, st, done)
	must(t, st.FinishIdempotencyKey(ctx, done.Key, "plate-2", 200, []byte("ok")), "FinishIdempotencyKey")
	done.State, done.Status, done.Body = store.IdempotencyDone, 200, []byte("ok")
	_ = st.ReleaseIdempotencyLease(ctx, done.Key, "plate-2")
	equal(t, "finished record after a release", findKey(t, st, done.Key), done)
}

func testTakeOverIdempotencyKey(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	rec := claim("k", "plate-1")
	claimKey(t, st, rec)
	takeOver := func(what string, seen store.IdempotencyRecord, leaseUntil time.Time, want bool) {
		t.Helper()
		won, err := st.TakeOverIdempotencyKey(ctx, &seen, leaseUntil)
		must(t, err, "TakeOverIdempotencyKey "+what)
		if won != want {
			t.Errorf("TakeOverIdempotencyKey %s = %v, want %v", what, won, want)
		}
		if won {
			rec.LeaseUntil = leaseUntil
		}
		equal(t, "record after TakeOverIdempotencyKey "+what, findKey(t, st, rec.Key), rec)
	}
	stale := rec
	stale.LeaseUntil = at(base + 1)
	takeOver("with another lease than the stored", stale, at(base+60_000), false)
	seen := findKey(t, st, rec.Key)
	takeOver("with the stored lease", seen, at(base+60_000), true)
	takeOver("with the lease it replaced", seen, at(base+90_000), false)

	must(t, st.ReleaseIdempotencyLease(ctx, rec.Key, "plate-1"), "ReleaseIdempotencyLease")
	rec.LeaseUntil = time.Unix(0, 0)
	takeOver("of a released lease", findKey(t, st, rec.Key), at(base+120_000), true)

	must(t, st.FinishIdempotencyKey(ctx, rec.Key, "plate-1", 200, []byte("ok")), "FinishIdempotencyKey")
	rec.State, rec.Status, rec.Body = store.IdempotencyDone, 200, []byte("ok")
	takeOver("of a finished key", findKey(t, st, rec.Key), at(base+150_000), false)

	missing := claim("missing", "plate-m")
	won, err := st.TakeOverIdempotencyKey(ctx, &missing, at(base+60_000))
	if won || (err != nil && !errors.Is(err, store.ErrNotFound)) {
		t.Errorf("TakeOverIdempotencyKey of a missing key = %v, %v; want false and no error or ErrNotFound", won, err)
	}
}

// takeOverRace has n callers take over rec's key at once, each for its
// own lease; it returns the index of each winner and the errors.
func takeOverRace(t *testing.T, stores []Store, rec store.IdempotencyRecord, n int) ([]int, []error) {
	won := make([]bool, n)
	errs := make([]error, n)
	race(n, func(i int) {
		seen := rec
		won[i], errs[i] = stores[i%len(stores)].TakeOverIdempotencyKey(t.Context(), &seen, leaseOf(i))
	})
	var winners []int
	var failed []error
	for i := range n {
		if won[i] {
			winners = append(winners, i)
		}
		if errs[i] != nil {
			failed = append(failed, errs[i])
		}
	}
	return winners, failed
}

// leaseOf is the lease the i-th caller of takeOverRace asks for.
func leaseOf(i int) time.Time { return at(base + 60_000 + int64(i)*1000) }

func testTakeOverConcurrent(t *testing.T, s *suite) {
	st := s.fresh(t)
	rec := claim("k", "plate-1")
	claimKey(t, st, rec)
	const callers = 20
	winners, errs := takeOverRace(t, []Store{st}, findKey(t, st, rec.Key), callers)
	if len(errs) > 0 {
		t.Errorf("TakeOverIdempotencyKey errors: %s", describeErrs(errs))
	}
	if len(winners) != 1 {
		t.Fatalf("%d concurrent takeovers: winners %v, want exactly one", callers, winners)
	}
	rec.LeaseUntil = leaseOf(winners[0])
	equal(t, fmt.Sprintf("record after the takeover race (caller %d won)", winners[0]), findKey(t, st, rec.Key), rec)
}

// manyExpired is how many records the expiry cases make due at once:
// more than one statement of SQLite can name.
const manyExpired = 6000

// importAll imports records in batches, as ImportNDJSON does.
func importAll(t *testing.T, st Store, records []store.Record) {
	t.Helper()
	for len(records) > 0 {
		n := min(len(records), 1000)
		must(t, st.Import(t.Context(), records[:n]), "Import")
		records = records[n:]
	}
}

func testExpireIdempotencyKeys(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	now := at(base + 100_000_000)
	var records []store.Record
	var due []string
	for i := range manyExpired {
		rec := claim(fmt.Sprintf("due-%d", i), fmt.Sprintf("plate-due-%d", i))
		rec.ExpiresAt = now.Add(-time.Duration(i+1) * time.Millisecond)
		records = append(records, store.Record{Kind: store.KindIdempotency, Value: &rec})
		due = append(due, rec.Key)
	}
	var kept []store.IdempotencyRecord
	for i, expiresAt := range []time.Time{now, now.Add(time.Millisecond), now.Add(time.Hour)} {
		rec := claim(fmt.Sprintf("kept-%d", i), fmt.Sprintf("plate-kept-%d", i))
		rec.ExpiresAt = expiresAt
		records = append(records, store.Record{Kind: store.KindIdempotency, Value: &rec})
		kept = append(kept, rec)
	}
	importAll(t, st, records)

	n, err := st.ExpireIdempotencyKeys(ctx, now)
	must(t, err, "ExpireIdempotencyKeys")
	if n != manyExpired {
		t.Errorf("ExpireIdempotencyKeys = %d, want %d", n, manyExpired)
	}
	for _, key := range []string{due[0], due[len(due)/2], due[len(due)-1]} {
		_, err := st.FindIdempotencyKey(ctx, key)
		wantErr(t, err, store.ErrNotFound, "FindIdempotencyKey of an expired key")
	}
	for _, rec := range kept {
		equal(t, "record not yet expired", findKey(t, st, rec.Key), rec)
	}
	n, err = st.ExpireIdempotencyKeys(ctx, now)
	must(t, err, "ExpireIdempotencyKeys again")
	if n != 0 {
		t.Errorf("ExpireIdempotencyKeys again = %d, want 0", n)
	}
}

// closeTimes reports an error unless got is want as the store keeps it:
// exactly, or to the millisecond.
func closeTimes(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d <= -time.Millisecond || d >= time.Millisecond {
		t.Errorf("%s = %s, want %s (to the millisecond at least)", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
}

// Times as the gateway makes them (time.Now: nanoseconds, a location, a
// monotonic reading) come back to the precision the store keeps, and a
// record read back is the one a compare-and-set matches.
func testTimePrecision(t *testing.T, s *suite) {
	st := s.fresh(t)
	ctx := t.Context()
	now := time.Now()
	rec := claim("k", "plate-1")
	rec.CreatedAt, rec.LeaseUntil, rec.ExpiresAt = now, now.Add(30*time.Second+123456*time.Nanosecond), now.Add(24*time.Hour)
	claimKey(t, st, rec)
	got := findKey(t, st, rec.Key)
	closeTimes(t, "CreatedAt", got.CreatedAt, rec.CreatedAt)
	closeTimes(t, "LeaseUntil", got.LeaseUntil, rec.LeaseUntil)
	closeTimes(t, "ExpiresAt", got.ExpiresAt, rec.ExpiresAt)

	retry := claim("k", "plate-2")
	retry.CreatedAt = now.Add(time.Second)
	existing, err := st.ClaimIdempotencyKey(ctx, &retry)
	must(t, err, "ClaimIdempotencyKey of a claimed key")
	if existing == nil {
		t.Fatal("ClaimIdempotencyKey of a claimed key gave no record")
	}
	equal(t, "record a retry's claim gives", existing, &got)
	lease := now.Add(time.Minute + 987654*time.Nanosecond)
	won, err := st.TakeOverIdempotencyKey(ctx, existing, lease)
	must(t, err, "TakeOverIdempotencyKey")
	if !won {
		t.Fatal("TakeOverIdempotencyKey of the record the store gave = false, want true")
	}
	found := findKey(t, st, rec.Key)
	closeTimes(t, "LeaseUntil after a takeover", found.LeaseUntil, lease)
	won, err = st.TakeOverIdempotencyKey(ctx, &found, lease.Add(time.Minute))
	must(t, err, "TakeOverIdempotencyKey")
	if !won {
		t.Error("TakeOverIdempotencyKey of the record FindIdempotencyKey gave = false, want true")
	}

	tok := sampleToken("h", store.AccessToken)
	tok.IssuedAt, tok.ExpiresAt = now, now.Add(time.Hour)
	must(t, st.InsertToken(ctx, tok), "InsertToken")
	gotTok := findToken(t, st, "h")
	closeTimes(t, "token IssuedAt", gotTok.IssuedAt, tok.IssuedAt)
	closeTimes(t, "token ExpiresAt", gotTok.ExpiresAt, tok.ExpiresAt)
}
