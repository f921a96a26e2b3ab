// Package keylock serializes work on the same key within one process with a
// fixed set of striped mutexes: memory stays bounded however many keys there
// are, and work on different keys rarely waits.
package keylock

import (
	"hash/maphash"
	"sync"
)

// Striped is a set of mutexes indexed by a hash of the key. The zero value
// is not usable; call New.
type Striped struct {
	seed    maphash.Seed
	stripes []sync.Mutex
}

// New returns a Striped with n stripes (n > 0).
func New(n int) *Striped {
	return &Striped{seed: maphash.MakeSeed(), stripes: make([]sync.Mutex, n)}
}

// Lock takes the lock of key (and of every key sharing its stripe) and
// returns its unlock. A caller must not hold two keys' locks at once, or two
// callers could deadlock on shared stripes.
func (s *Striped) Lock(key string) (unlock func()) {
	m := &s.stripes[maphash.String(s.seed, key)%uint64(len(s.stripes))]
	m.Lock()
	return m.Unlock
}
