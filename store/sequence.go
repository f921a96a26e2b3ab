package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Sequencer hands out the numbers of per-company counters (the n of
// "INC-<n>") for a store that can add to a counter atomically. A number
// handed out is never handed out again, by this or any other gateway
// sharing the store; numbers may have gaps.
//
// Numbers are reserved in blocks: one atomic addition reserves a block, and
// the block's numbers are handed out from memory. The block size adapts to
// the rate: 1 when numbers are drawn seldom (so a restart loses none),
// doubling up to maxSequenceBlock while they are drawn faster than a refill
// every sequenceBurst, so that a burst of adds does not queue on one
// counter. Numbers of a block not handed out before a restart are skipped.
type Sequencer struct {
	// Reserve adds size to the counter named key and returns its new
	// value: the numbers value-size+1..value are the caller's.
	Reserve func(ctx context.Context, key string, size int64) (int64, error)
	// Now is the clock of the block sizes; nil is time.Now.
	Now func() time.Time

	mu     sync.Mutex
	blocks map[sequenceName]*sequenceBlock
}

// sequenceName names a counter in memory: its key (SequenceKey) is
// encoded only when a block is reserved.
type sequenceName struct{ dataspace, ownerID, name string }

// Block sizes of the Sequencer.
const (
	maxSequenceBlock = 256
	sequenceBurst    = 250 * time.Millisecond
)

// sequenceBlock is the part of a counter this process has reserved.
type sequenceBlock struct {
	// turn is held (its one slot filled) while the block is used or
	// refilled, so that waiters can give up at their deadline.
	turn      chan struct{}
	next, end int64 // numbers next..end are reserved and unused
	size      int64
	refilled  time.Time
}

// SequenceKey is the key of the named counter of a company in a dataspace.
// It is a JSON array so that no choice of names can collide.
func SequenceKey(dataspace, ownerID, name string) string {
	raw, _ := json.Marshal([]string{name, dataspace, ownerID})
	return string(raw)
}

// Next returns the next number of the named counter of a company in a
// dataspace, starting at 1.
func (q *Sequencer) Next(ctx context.Context, dataspace, ownerID, name string) (int64, error) {
	counter := sequenceName{dataspace, ownerID, name}
	q.mu.Lock()
	if q.blocks == nil {
		q.blocks = map[sequenceName]*sequenceBlock{}
	}
	b := q.blocks[counter]
	if b == nil {
		b = &sequenceBlock{turn: make(chan struct{}, 1)}
		q.blocks[counter] = b
	}
	q.mu.Unlock()

	select {
	case b.turn <- struct{}{}:
		defer func() { <-b.turn }()
	case <-ctx.Done():
		return 0, fmt.Errorf("next sequence: %w: %w", ErrBusy, ctx.Err())
	}
	if b.next > 0 && b.next <= b.end {
		n := b.next
		b.next++
		return n, nil
	}
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	size := int64(1)
	if now().Sub(b.refilled) < sequenceBurst {
		size = min(2*max(b.size, 1), maxSequenceBlock)
	}
	end, err := q.Reserve(ctx, SequenceKey(dataspace, ownerID, name), size)
	if err != nil {
		return 0, Wrap("next sequence", err)
	}
	b.size, b.refilled = size, now()
	b.next, b.end = end-size+2, end
	return end - size + 1, nil
}

// Forget drops the blocks reserved so far, so that the next numbers are
// reserved anew from the counters (after an import replaced them). Numbers
// of the dropped blocks are skipped.
func (q *Sequencer) Forget() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.blocks = nil
}
