// Package keylock serializes work on the same key within one process with a
// fixed set of striped locks: memory stays bounded however many keys there
// are, work on different keys rarely waits, and a waiter whose context ends
// gives up instead of queueing past its deadline.
package keylock

import (
	"context"
	"hash/maphash"
)

// Striped is a set of locks indexed by a hash of the key. The zero value is
// not usable; call New.
type Striped struct {
	seed    maphash.Seed
	stripes []chan struct{}
}

// New returns a Striped with n stripes (n > 0).
func New(n int) *Striped {
	s := &Striped{seed: maphash.MakeSeed(), stripes: make([]chan struct{}, n)}
	for i := range s.stripes {
		s.stripes[i] = make(chan struct{}, 1)
	}
	return s
}

func (s *Striped) stripe(key string) chan struct{} {
	return s.stripes[maphash.String(s.seed, key)%uint64(len(s.stripes))]
}

// Lock takes the lock of key (and of every key sharing its stripe) and
// returns its unlock. A caller must not hold two keys' locks at once, or two
// callers could deadlock on shared stripes.
func (s *Striped) Lock(key string) (unlock func()) {
	m := s.stripe(key)
	m <- struct{}{}
	return func() { <-m }
}

// LockContext is Lock that gives up when ctx ends first, returning ctx's
// error; the lock is then not held.
func (s *Striped) LockContext(ctx context.Context, key string) (unlock func(), err error) {
	m := s.stripe(key)
	select {
	case m <- struct{}{}:
		return func() { <-m }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
