package sqlite

import (
	"context"
	"database/sql"
	"errors"
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

// ClaimIdempotencyKey records rec as the claim of its key. If the key is
// claimed already and not expired, it returns the existing record instead
// and claims nothing. An expired record is replaced.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, error) {
	var existing *store.IdempotencyRecord
	err := s.write(ctx, "claim idempotency key", func(ctx context.Context, tx *sql.Tx) error {
		existing = nil // a write may run twice (see writer.commit)
		found, err := scanIdempotency(s.writer.queryRow(ctx, tx, "SELECT "+idempotencyColumns+" FROM idempotency WHERE key = ?", rec.Key))
		switch {
		case err == nil && found.ExpiresAt.After(rec.CreatedAt):
			existing = found
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = s.writer.exec(ctx, tx, "INSERT OR REPLACE INTO idempotency ("+idempotencyColumns+") VALUES (?,?,?,?,?,?,?,?,?,?)", idempotencyArgs(rec)...)
		return err
	})
	return existing, err
}

// FindIdempotencyKey loads a key's record, or ErrNotFound.
func (s *Store) FindIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT "+idempotencyColumns+" FROM idempotency WHERE key = ?", key)
	if err != nil {
		return nil, store.Wrap("find idempotency key", s.classify(err))
	}
	r, err := scanIdempotency(row)
	return r, store.Wrap("find idempotency key", s.classify(err))
}

// FinishIdempotencyKey records the answer of the request that holds the
// key under plate.
func (s *Store) FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error {
	return s.write(ctx, "finish idempotency key", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, "UPDATE idempotency SET state = ?, status = ?, body = ? WHERE key = ? AND license_plate = ?",
			store.IdempotencyDone, status, body, key, plate)
		return err
	})
}

// ReleaseIdempotencyLease ends the lease of a pending key at once, so that
// the next retry takes it over instead of waiting.
func (s *Store) ReleaseIdempotencyLease(ctx context.Context, key, plate string) error {
	return s.write(ctx, "release idempotency lease", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, "UPDATE idempotency SET lease_until = ? WHERE key = ? AND license_plate = ? AND state = ?",
			nanos(time.Unix(0, 0)), key, plate, store.IdempotencyPending)
		return err
	})
}

// TakeOverIdempotencyKey extends the lease of a pending key whose lease ran
// out, on condition that nobody took it over first. It reports whether this
// caller now holds the key.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord, leaseUntil time.Time) (bool, error) {
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
	return won, err
}

// expiryBatch is how many expired rows one write deletes: small enough
// that the writes queued behind it hardly wait.
const expiryBatch = 500

// ExpireIdempotencyKeys forgets keys whose time is up, in small batches by
// the index of expiry times, each its own write, so other writes take
// their turns between them.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	return s.expire(ctx, "expire idempotency keys",
		"DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_at < ? LIMIT ?)", now)
}

// expire runs a batched delete until a batch finds less than a full one.
func (s *Store) expire(ctx context.Context, what, query string, now time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, what, func(ctx context.Context, tx *sql.Tx) error {
			res, err := s.writer.exec(ctx, tx, query, now.UnixNano(), expiryBatch)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		total += n
		if err != nil || n < expiryBatch {
			return total, err
		}
	}
}
