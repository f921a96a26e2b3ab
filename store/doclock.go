package store

import (
	"context"
	"fmt"

	"github.com/scwm-gateway/scwm-gateway/internal/keylock"
)

// docLocks serializes writes to the same document when the store is the
// embedded FerretDB. FerretDB v1.24 on SQLite reads, modifies and writes a
// document in separate steps outside one transaction, so two concurrent
// updates of one document can both report success while one is lost (seen
// here: concurrent $inc on one counter lost most of its increments).
// MongoDB applies every single-document update atomically and needs no
// lock, so the locks are only taken in front of the embedded store, which
// one process owns.
type docLocks struct {
	locks *keylock.Striped // nil: no locking (MongoDB)
}

func newDocLocks(enabled bool) *docLocks {
	if !enabled {
		return &docLocks{}
	}
	return &docLocks{locks: keylock.New(256)}
}

// lock takes the lock of one document and returns its unlock.
func (l *docLocks) lock(collection, id string) (unlock func()) {
	if l.locks == nil {
		return func() {}
	}
	return l.locks.Lock(collection + "\x00" + id)
}

// lockContext is lock that gives up when ctx ends first, with an error
// that says the store was busy.
func (l *docLocks) lockContext(ctx context.Context, collection, id string) (unlock func(), err error) {
	if l.locks == nil {
		return func() {}, nil
	}
	unlock, err = l.locks.LockContext(ctx, collection+"\x00"+id)
	if err != nil {
		return nil, fmt.Errorf("wait for the lock of %s %s: %w: %w", collection, id, ErrBusy, err)
	}
	return unlock, nil
}
