package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

const idempotencyColumns = "key, request_hash, license_plate, dataspace, state, status, body, lease_until, created_at, expires_at"

func scanIdempotency(row interface{ Scan(...any) error }) (*store.IdempotencyRecord, error) {
	var r store.IdempotencyRecord
	var lease, created, expires sql.NullInt64
	if err := row.Scan(&r.Key, &r.RequestHash, &r.LicensePlate, &r.Dataspace, &r.State, &r.Status, &r.Body, &lease, &created, &expires); err != nil {
		return nil, err
	}
	r.LeaseUntil, r.CreatedAt, r.ExpiresAt = fromNanos(lease), fromNanos(created), fromNanos(expires)
	return &r, nil
}

func idempotencyArgs(r *store.IdempotencyRecord) []any {
	return []any{r.Key, r.RequestHash, r.LicensePlate, r.Dataspace, r.State, r.Status, r.Body, nanos(r.LeaseUntil), nanos(r.CreatedAt), nanos(r.ExpiresAt)}
}

// claims are the idempotency keys claimed by requests in flight whose
// answer is not yet known to be in the database. A claim costs no write of
// its own: it is recorded in the transaction of its request's first change
// (a write whose context carries store.WithClaim), or with its answer
// (Finish) if the request changes nothing. A crash before either forgets
// it, which is safe, since its request changed nothing durable; a release
// writes it too. One process
// owns the database, so every claim passes through this map; a claim stays
// in it until its answer or release is in the database.
type claims struct {
	// stripes order each key's claim, find, finish and release with one
	// another; none is held while waiting for the writer.
	stripes [64]sync.Mutex
	mu      sync.Mutex
	pending map[string]*pendingClaim
	seed    maphash.Seed
}

// pendingClaim is a claim in memory, and whether a committed batch holds
// it already.
type pendingClaim struct {
	rec store.IdempotencyRecord
	// stored says that a committed batch wrote the claim (with its
	// request's first change): its answer then rewrites only the answer's
	// columns (answerRows), leaving the key's indexes as they are.
	stored bool
}

func newClaims() *claims {
	return &claims{pending: map[string]*pendingClaim{}, seed: maphash.MakeSeed()}
}

func (c *claims) stripe(key string) *sync.Mutex {
	return &c.stripes[maphash.String(c.seed, key)%uint64(len(c.stripes))]
}

// clear forgets every pending claim (Store.Reset).
func (c *claims) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = map[string]*pendingClaim{}
}

// get is a copy of the pending claim of key, or nil.
func (c *claims) get(key string) *store.IdempotencyRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.pending[key]; p != nil {
		cp := p.rec
		return &cp
	}
	return nil
}

// put makes rec the pending claim of its key. A claim of the same request
// (the same plate) stays stored if it was; put reports whether it is.
func (c *claims) put(rec *store.IdempotencyRecord) (stored bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending[rec.Key]
	stored = p != nil && p.stored && p.rec.LicensePlate == rec.LicensePlate
	c.pending[rec.Key] = &pendingClaim{rec: *rec, stored: stored}
	return stored
}

// committed marks the pending claims among rows, written by a batch that
// committed, as stored.
func (c *claims) committed(rows []sideRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range rows {
		if p := c.pending[r.rec.Key]; p != nil && p.rec.LicensePlate == r.rec.LicensePlate {
			p.stored = true
		}
	}
}

// drop forgets the pending claim of key if it is plate's.
func (c *claims) drop(key, plate string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.pending[key]; p != nil && p.rec.LicensePlate == plate {
		delete(c.pending, key)
	}
}

// ofWrite is the pending claim a write with this context records with
// itself, or nil.
func (c *claims) ofWrite(ctx context.Context) *store.IdempotencyRecord {
	key, plate, ok := store.ClaimOf(ctx)
	if !ok {
		return nil
	}
	if p := c.get(key); p != nil && p.LicensePlate == plate {
		return p
	}
	return nil
}

// upsertClaim writes a claim's record as it stands: a new one, or over the
// record of the same request, or over an expired one it replaced.
const upsertClaim = "INSERT INTO idempotency (" + idempotencyColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?)" +
	` ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, license_plate = excluded.license_plate,
	dataspace = excluded.dataspace, state = excluded.state, status = excluded.status, body = excluded.body,
	lease_until = excluded.lease_until, created_at = excluded.created_at, expires_at = excluded.expires_at
	WHERE idempotency.license_plate = excluded.license_plate OR idempotency.expires_at <= excluded.created_at`

// recordClaim has the pending claim rec (if any) written at the start of
// the next batch, before the change the caller queues next: so the claim
// is in the same transaction as the change, or an earlier one, never a
// later one (a batch that fails gives its records to the next).
func (s *Store) recordClaim(rec *store.IdempotencyRecord) {
	if rec != nil && s.writer != nil {
		s.noteKey(rec.Key)
		s.writer.addSide(sideRow{rec: rec})
	}
}

// sideRow is an idempotency record the writer writes at the start of a
// batch: whole (a claim, or the answer of a claim not in the database), or
// only its answer's columns, over the claim a committed batch wrote.
type sideRow struct {
	rec        *store.IdempotencyRecord
	answerOnly bool
}

// noteKey tells the key filter that key is about to be written, before it
// is, so that a claim never finds the filter saying "absent" for a key in
// the database.
func (s *Store) noteKey(key string) {
	s.keys.add(key)
}

// sideRows is the most records one statement of flushSide writes. Each
// statement writes a power of two of them, so that a few statements, each
// prepared once (writer.prepared), serve every batch.
const sideRows = 256

// flushSide writes the writer's side records in multi-row statements:
// the whole records first, in order, so that a claim and its answer in one
// batch leave the answer; then the answers over claims already stored
// (which no whole record of the same request follows: an answer is its
// request's last record).
func (s *Store) flushSide(ctx context.Context, tx *sql.Tx, rows []sideRow) error {
	whole := make([]*store.IdempotencyRecord, 0, len(rows))
	var answers []*store.IdempotencyRecord
	for _, r := range rows {
		if r.answerOnly {
			answers = append(answers, r.rec)
		} else {
			whole = append(whole, r.rec)
		}
	}
	if err := s.flushRows(ctx, tx, whole, upsertRows, idempotencyArgs); err != nil {
		return err
	}
	return s.flushRows(ctx, tx, answers, answerRows, answerArgs)
}

// flushRows writes rows in statements of query(n) for powers of two n, each
// row's arguments given by args.
func (s *Store) flushRows(ctx context.Context, tx *sql.Tx, rows []*store.IdempotencyRecord,
	query func(n int) string, args func(*store.IdempotencyRecord) []any) error {
	for len(rows) > 0 {
		n := sideRows
		for n > len(rows) {
			n /= 2
		}
		var all []any
		for _, r := range rows[:n] {
			all = append(all, args(r)...)
		}
		if _, err := s.writer.exec(ctx, tx, query(n), all...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// upsertRows is upsertClaim for n rows.
func upsertRows(n int) string {
	values := strings.Repeat(",(?,?,?,?,?,?,?,?,?,?)", n)[1:]
	return strings.Replace(upsertClaim, "VALUES (?,?,?,?,?,?,?,?,?,?)", "VALUES "+values, 1)
}

// answerRows writes the answers of n claims in the database, by key and
// on condition of the plate: only columns no index holds, so that the
// key's and the expiry's index entries stay as they are.
func answerRows(n int) string {
	values := strings.Repeat(",(?,?,?,?,?)", n)[1:]
	return `UPDATE idempotency SET state = v.column3, status = v.column4, body = v.column5
	FROM (VALUES ` + values + `) AS v WHERE idempotency.key = v.column1 AND idempotency.license_plate = v.column2`
}

func answerArgs(r *store.IdempotencyRecord) []any {
	return []any{r.Key, r.LicensePlate, r.State, r.Status, r.Body}
}

// ClaimIdempotencyKey records rec as the claim of its key (in memory until
// its request's first change or its answer, see claims). If the key is
// claimed already and not expired, it returns the existing record instead
// and claims nothing. An expired record is replaced.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, store.Wrap("claim idempotency key", s.classify(err))
	}
	if s.writer == nil {
		return nil, store.Wrap("claim idempotency key", store.Unavailable("the store is closed", errClosed))
	}
	mu := s.claims.stripe(rec.Key)
	mu.Lock()
	defer mu.Unlock()
	if p := s.claims.get(rec.Key); p != nil && p.ExpiresAt.After(rec.CreatedAt) {
		return p, nil
	}
	if !s.keys.mayHold(rec.Key) {
		s.claims.put(rec)
		return nil, nil
	}
	found, err := s.findStoredKey(ctx, rec.Key)
	switch {
	case err == nil && found.ExpiresAt.After(rec.CreatedAt):
		return found, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, store.Wrap("claim idempotency key", err)
	}
	s.claims.put(rec)
	return nil, nil
}

// FindIdempotencyKey loads a key's record, or ErrNotFound.
func (s *Store) FindIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	mu := s.claims.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	if p := s.claims.get(key); p != nil {
		return p, nil
	}
	r, err := s.findStoredKey(ctx, key)
	return r, store.Wrap("find idempotency key", err)
}

func (s *Store) findStoredKey(ctx context.Context, key string) (*store.IdempotencyRecord, error) {
	row, err := s.queryRow(ctx, "SELECT "+idempotencyColumns+" FROM idempotency WHERE key = ?", key)
	if err != nil {
		return nil, s.classify(err)
	}
	r, err := scanIdempotency(row)
	return r, s.classify(err)
}

// FinishIdempotencyKey records the answer of the request that holds the
// key under plate. The answer of a claim still in memory is seen by every
// call at once and written with the next batch, without waiting for it:
// its request has sent the answer already, and a crash before the commit
// leaves the record its change wrote, which a retry takes over after its
// lease and answers from the change. A store that closes commits it first.
func (s *Store) FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error {
	mu := s.claims.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	if p := s.claims.get(key); p != nil {
		if p.LicensePlate != plate {
			return nil // another request's claim
		}
		if s.writer == nil {
			return store.Wrap("finish idempotency key", store.Unavailable("the store is closed", errClosed))
		}
		done := *p
		done.State, done.Status, done.Body = store.IdempotencyDone, status, body
		if s.claims.put(&done) {
			s.writer.addSide(sideRow{rec: &done, answerOnly: true})
		} else {
			s.recordClaim(&done)
		}
		// A batch must run for the answer to be written: a write of
		// nothing makes sure one does.
		s.writer.submit(func(context.Context, *sql.Tx) error { return nil }, func(error) {
			// Written, or not: either way the database now says what a
			// retry must get (the answer, or the change's record). The
			// stripe is not taken here: its holders may wait for the
			// writer, whose goroutine runs this.
			s.claims.drop(key, plate)
		})
		return nil
	}
	return s.write(ctx, "finish idempotency key", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, "UPDATE idempotency SET state = ?, status = ?, body = ? WHERE key = ? AND license_plate = ?",
			store.IdempotencyDone, status, body, key, plate)
		return err
	})
}

// ReleaseIdempotencyLease ends the lease of a pending key at once, so that
// the next retry takes it over instead of waiting. A claim still in memory
// is written released: its request may have failed after a change whose
// transaction recorded it, or before.
func (s *Store) ReleaseIdempotencyLease(ctx context.Context, key, plate string) error {
	mu := s.claims.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	released := s.claims.get(key)
	if released != nil && (released.LicensePlate != plate || released.State != store.IdempotencyPending) {
		return nil // another request's claim, or answered already
	}
	err := s.write(ctx, "release idempotency lease", func(ctx context.Context, tx *sql.Tx) error {
		if released != nil {
			r := *released
			r.LeaseUntil = time.Unix(0, 0)
			s.noteKey(r.Key)
			_, err := s.writer.exec(ctx, tx, upsertClaim, idempotencyArgs(&r)...)
			return err
		}
		_, err := s.writer.exec(ctx, tx, "UPDATE idempotency SET lease_until = ? WHERE key = ? AND license_plate = ? AND state = ?",
			nanos(time.Unix(0, 0)), key, plate, store.IdempotencyPending)
		return err
	})
	if err == nil {
		s.claims.drop(key, plate)
	}
	return err
}

// TakeOverIdempotencyKey extends the lease of a pending key whose lease ran
// out, on condition that nobody took it over first. It reports whether this
// caller now holds the key.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord, leaseUntil time.Time) (bool, error) {
	mu := s.claims.stripe(rec.Key)
	mu.Lock()
	defer mu.Unlock()
	if p := s.claims.get(rec.Key); p != nil {
		if p.State != store.IdempotencyPending || !p.LeaseUntil.Equal(rec.LeaseUntil) {
			return false, nil
		}
		p.LeaseUntil = leaseUntil
		s.claims.put(p)
		return true, nil
	}
	var won bool
	err := s.write(ctx, "take over idempotency key", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, "UPDATE idempotency SET lease_until = ? WHERE key = ? AND state = ? AND lease_until IS ?",
			nanos(leaseUntil), rec.Key, store.IdempotencyPending, nanos(rec.LeaseUntil))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		won = n == 1 // set whatever it was: a write may run twice (see writer.commit)
		return nil
	})
	if err != nil {
		// The write may still run: its result is not read.
		return false, err
	}
	return won, nil
}

// expiryBatch is how many expired rows one write deletes: small enough
// that the writes queued behind it hardly wait.
const expiryBatch = 100

// ExpireIdempotencyKeys forgets keys whose time is up, in small batches by
// the index of expiry times, each its own write, so other writes take
// their turns between them.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	return s.expire(ctx, "expire idempotency keys",
		"DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_at < ? LIMIT ?)", now.UnixNano())
}

// expire runs a batched delete until a batch finds less than a full one;
// query takes the bound (below which rows go) and the batch size.
func (s *Store) expire(ctx context.Context, what, query string, bound int64) (int64, error) {
	var total int64
	for {
		// The write may still run after write returns (its context ended
		// first), so its count is handed over atomically.
		var deleted atomic.Int64
		err := s.write(ctx, what, func(ctx context.Context, tx *sql.Tx) error {
			res, err := s.writer.exec(ctx, tx, query, bound, expiryBatch)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			deleted.Store(n)
			return nil
		})
		n := deleted.Load()
		total += n
		if err != nil || n < expiryBatch {
			return total, err
		}
	}
}
