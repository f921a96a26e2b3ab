package store

import (
	"hash/maphash"
	"sync"
)

// docLocks serializes writes to the same document when the store is the
// embedded FerretDB. FerretDB v1.24 on SQLite reads, modifies and writes a
// document in separate steps outside one transaction, so two concurrent
// updates of one document can both report success while one is lost (seen
// here: 40 concurrent $inc on one counter left it at 3 to 7). MongoDB applies
// every single-document update atomically and needs no lock, so the locks are
// only taken in front of the embedded store, which one process owns.
type docLocks struct {
	enabled bool
	seed    maphash.Seed
	stripes [256]sync.Mutex
}

func newDocLocks(enabled bool) *docLocks {
	return &docLocks{enabled: enabled, seed: maphash.MakeSeed()}
}

// lock takes the lock of one document and returns its unlock. Callers never
// hold two at once, so stripes cannot deadlock.
func (l *docLocks) lock(collection, id string) (unlock func()) {
	if !l.enabled {
		return func() {}
	}
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(collection)
	h.WriteByte(0)
	h.WriteString(id)
	m := &l.stripes[h.Sum64()%uint64(len(l.stripes))]
	m.Lock()
	return m.Unlock
}
