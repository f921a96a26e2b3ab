// Package keylock serializes work on the same key within one process with a
// fixed set of striped locks: memory stays bounded however many keys there
// are, work on different keys rarely waits, and a waiter whose context ends
// gives up instead of queueing past its deadline.
package keylock

import (
	"context"
	"hash/maphash"
	"slices"
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
	return s.stripes[s.index(key)]
}

func (s *Striped) index(key string) int {
	return int(maphash.String(s.seed, key) % uint64(len(s.stripes)))
}

// Lock takes the lock of key (and of every key sharing its stripe) and
// returns its unlock. A caller must not hold two keys' locks at once, or two
// callers could deadlock on shared stripes.
func (s *Striped) Lock(key string) (unlock func()) {
	m := s.stripe(key)
	m <- struct{}{}
	return func() { <-m }
}

// LockAll takes the locks of several keys at once, for work that must
// hold them together (a sub-task and its task). It takes each stripe once,
// in the stripes' order, so that callers of LockAll never deadlock with one
// another or with callers holding one key; it gives up when ctx ends first,
// holding none of them.
func (s *Striped) LockAll(ctx context.Context, keys ...string) (unlock func(), err error) {
	indexes := make([]int, len(keys))
	for i, k := range keys {
		indexes[i] = s.index(k)
	}
	slices.Sort(indexes)
	indexes = slices.Compact(indexes)
	held := make([]chan struct{}, 0, len(indexes))
	release := func() {
		for i := len(held) - 1; i >= 0; i-- {
			<-held[i]
		}
	}
	for _, i := range indexes {
		m := s.stripes[i]
		select {
		case m <- struct{}{}:
			held = append(held, m)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
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
