package sqlite

import (
	"context"
	"database/sql"
	"hash/maphash"
	"sync"
)

// keyFilter says which idempotency keys are certainly not in the database,
// so that a claim of a fresh key, the common case, costs no read: a Bloom
// filter of every key the database may hold, sized at start, loaded from
// the database in the background and fed by every record the store writes
// before it is written. A key it may hold is read as before: its false
// positives cost a read, never a wrong answer. Until the load is done, and
// once it holds more keys than it was sized for (expired keys stay in it),
// every claim reads; the next start sizes it again.
type keyFilter struct {
	mu    sync.RWMutex
	ready bool
	full  bool
	bits  []uint64
	count int
	limit int
	seed  maphash.Seed
}

// Sizes of the key filter.
const (
	filterMinKeys    = 1 << 20
	filterBitsPerKey = 12
	filterHashes     = 6
)

// newKeyFilter is a filter for twice the stored keys, not ready.
func newKeyFilter(stored int) *keyFilter {
	limit := max(2*stored, filterMinKeys)
	return &keyFilter{seed: maphash.MakeSeed(), limit: limit, bits: make([]uint64, (limit*filterBitsPerKey+63)/64)}
}

// mayHold reports whether key may be in the database; true when the
// filter is not ready.
func (f *keyFilter) mayHold(key string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.ready || f.full {
		return true
	}
	h1, h2 := f.hashes(key)
	n := uint64(len(f.bits) * 64)
	for i := range uint64(filterHashes) {
		b := (h1 + i*h2) % n
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

func (f *keyFilter) hashes(key string) (uint64, uint64) {
	h := maphash.String(f.seed, key)
	return h, h>>32 | h<<32 | 1
}

// add records that key may be in the database.
func (f *keyFilter) add(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h1, h2 := f.hashes(key)
	n := uint64(len(f.bits) * 64)
	for i := range uint64(filterHashes) {
		b := (h1 + i*h2) % n
		f.bits[b/64] |= 1 << (b % 64)
	}
	f.count++
	if f.count > f.limit {
		f.full = true
	}
}

// load adds the keys in the database and makes the filter ready.
func (f *keyFilter) load(ctx context.Context, reads *sql.DB) error {
	rows, err := reads.QueryContext(ctx, "SELECT key FROM idempotency")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return err
		}
		f.add(key)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	f.ready = true
	f.mu.Unlock()
	return nil
}
