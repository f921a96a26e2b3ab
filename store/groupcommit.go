package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// maxGroup bounds how many documents one group commit writes.
const maxGroup = 256

// groupInserter commits concurrent inserts into one collection together:
// the first waiting insert is written at once, and every insert that
// arrives while a write is in flight joins the next one, written with one
// InsertMany. Under load the store takes one bulk write instead of many
// single ones (on the embedded store a bulk write costs far less than its
// documents written one by one); alone, an insert waits for nothing.
// Each caller returns only when its own document is committed, with its own
// error, so a 200_OK still means written.
type groupInserter struct {
	coll *mongo.Collection
	// turn waits for the store's write turn (Store.writeTurnContext).
	turn func(ctx context.Context) (done func(), err error)
	// timeout bounds one group write: the store's operation timeout.
	timeout time.Duration

	mu      sync.Mutex
	pending []*pendingInsert
	writing bool
}

type pendingInsert struct {
	doc  bson.Raw
	done chan error
}

func newGroupInserter(coll *mongo.Collection, turn func(ctx context.Context) (done func(), err error), timeout time.Duration) *groupInserter {
	return &groupInserter{coll: coll, turn: turn, timeout: timeout}
}

// insert commits doc with whatever else is waiting and returns its own
// outcome. If ctx ends first, the caller stops waiting, but the document may
// still be written: callers treat that as "unknown", as for any timeout.
//
// The document is encoded here, by its caller, so that encoding runs in
// parallel and the group write, which holds the store's write turn, only
// sends bytes.
func (g *groupInserter) insert(ctx context.Context, doc any) error {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return err
	}
	p := &pendingInsert{doc: bson.Raw(raw), done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, p)
	lead := !g.writing
	if lead {
		g.writing = true
	}
	g.mu.Unlock()
	if lead {
		// This caller writes groups until nothing waits; the others wait.
		go g.drain()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain writes the waiting documents in groups until none are left.
func (g *groupInserter) drain() {
	for {
		g.mu.Lock()
		batch := g.pending
		if len(batch) > maxGroup {
			batch = batch[:maxGroup]
		}
		g.pending = g.pending[len(batch):]
		if len(batch) == 0 {
			g.writing = false
			g.pending = nil
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.write(batch)
	}
}

func (g *groupInserter) write(batch []*pendingInsert) {
	// The write and its wait for the turn are bounded by the store
	// timeout; each caller's own context bounds its wait for the outcome.
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	done, err := g.turn(ctx)
	if err != nil {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	defer done()
	if len(batch) == 1 {
		_, err := g.coll.InsertOne(ctx, batch[0].doc)
		batch[0].done <- err
		return
	}
	docs := make([]any, len(batch))
	for i, p := range batch {
		docs[i] = p.doc
	}
	_, err = g.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err == nil || !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	// Unordered: every document without a write error of its own is in.
	failed := make(map[int]error, len(bwe.WriteErrors))
	for _, we := range bwe.WriteErrors {
		failed[we.Index] = mongo.WriteException{WriteErrors: []mongo.WriteError{we.WriteError}}
	}
	for i, p := range batch {
		p.done <- failed[i]
	}
}
