package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// A write that fails inside a batch is undone alone: what it wrote before
// it failed is not committed, and the writes around it are.
func TestAFailedWriteInABatchIsUndoneAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	insert := func(id string) writeFunc {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := st.writer.exec(ctx, tx, "INSERT INTO companies (id, name) VALUES (?, ?)", id, id)
			return err
		}
	}
	boom := errors.New("fails after writing")
	failing := func(ctx context.Context, tx *sql.Tx) error {
		if err := insert("half-written")(ctx, tx); err != nil {
			return err
		}
		return boom
	}
	ops := []*writeOp{
		{ctx: ctx, fn: insert("before"), result: make(chan error, 1)},
		{ctx: ctx, fn: failing, result: make(chan error, 1)},
		{ctx: ctx, fn: insert("after"), result: make(chan error, 1)},
	}
	st.writer.commit(ops)
	if err := <-ops[0].result; err != nil {
		t.Fatalf("the write before the failing one: %v", err)
	}
	if err := <-ops[1].result; !errors.Is(err, boom) {
		t.Fatalf("the failing write answered %v", err)
	}
	if err := <-ops[2].result; err != nil {
		t.Fatalf("the write after the failing one: %v", err)
	}
	companies, err := st.Companies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range companies {
		ids = append(ids, c.ID)
	}
	if len(ids) != 2 || ids[0] != "after" || ids[1] != "before" {
		t.Fatalf("committed companies %v, want [after before]", ids)
	}
}

// checkpointTest opens a store in dir whose checkpointer waits pause
// between passes and reports each pass on the channel.
func checkpointTest(t *testing.T, dir string, pause time.Duration) (*Store, chan checkpointPass) {
	t.Helper()
	passes := make(chan checkpointPass, 1)
	st, err := Open(context.Background(), Config{DataDir: dir, checkpointPause: pause, checkpointed: func(p checkpointPass, err error) {
		if err != nil {
			t.Errorf("checkpoint: %v", err)
		}
		select {
		case passes <- p:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st, passes
}

// insertBig inserts n incidents of a few pages each, named by round.
func insertBig(t *testing.T, st *Store, round, n int) {
	t.Helper()
	big := strings.Repeat("x", 4<<10)
	for i := range n {
		inc := &store.Incident{ID: fmt.Sprintf("inc-%d-%d", round, i), Dataspace: "default", OwnerID: "acme", ProcessType: "incident",
			SchemaVersion: 5, DataVersion: 1, CurrentBaseState: "New", Data: map[string]any{"d": big},
			Activities: []store.Activity{{LicensePlate: fmt.Sprintf("plate-%d-%d", round, i), EventName: "add-incident"}}}
		if err := st.InsertIncident(context.Background(), inc); err != nil {
			t.Fatal(err)
		}
	}
}

// The checkpointer copies the write-ahead log into the database beside the
// writer, on its own connection, once commits wake it.
func TestTheCheckpointerCopiesTheLog(t *testing.T) {
	t.Parallel()
	st, passes := checkpointTest(t, t.TempDir(), time.Nanosecond)
	insertBig(t, st, 0, 20)
	// Nothing writes after the inserts, so a pass that follows them
	// copies the whole log; earlier passes may have copied part of it.
	deadline := time.After(30 * time.Second)
	for {
		select {
		case p := <-passes:
			if p.logFrames > 0 && p.copied == p.logFrames {
				return
			}
		case <-deadline:
			t.Fatal("no checkpoint copied the log after the writes")
		}
	}
}

// After a checkpointer's pass, the writer copies what was written during
// it before its next transaction, which then starts the log from its
// beginning: the log stays about as large as what is written between two
// passes instead of growing with every write. (The checkpointer runs once
// here; the test tells the writer of a pass after each round itself, so
// that nothing runs beside the writer.)
func TestTheLogStartsAgainAfterACheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, passes := checkpointTest(t, dir, time.Hour)
	walSize := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, FileName+"-wal"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	insertBig(t, st, 0, 1)
	<-passes // the one pass before the hour's pause
	const rounds = 20
	var oneRound int64
	for round := 1; round <= rounds; round++ {
		st.writer.checkpointPassed()
		insertBig(t, st, round, 20)
		if round == 1 {
			oneRound = walSize()
		}
	}
	if got := walSize(); got > 2*oneRound {
		t.Errorf("after %d rounds of %d bytes of log each, the log holds %d bytes: it did not start again", rounds, oneRound, got)
	}
}

// Side records of any count are all written, whole ones and answers over
// stored claims, each batch's in statements of a power of two of them, so
// that the writer keeps a few statements prepared however the counts vary.
func TestSideRecordsOfAnyCountAreWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := checkpointTest(t, t.TempDir(), time.Hour)
	now := time.Now()
	batches, answered := 0, 0
	counts := []int{255, 256, 300, 511}
	for n := 1; n <= 24; n++ {
		counts = append(counts, n)
	}
	count := func(where string) int {
		t.Helper()
		var n int
		if err := st.reads.QueryRowContext(ctx, "SELECT count(*) FROM idempotency WHERE "+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, n := range counts {
		recs := make([]*store.IdempotencyRecord, n)
		for i := range n {
			recs[i] = &store.IdempotencyRecord{Key: fmt.Sprintf("key-%d-%d", n, i), RequestHash: "h", LicensePlate: "p",
				Dataspace: "default", State: store.IdempotencyPending, LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			st.writer.addSide(sideRow{rec: recs[i]})
		}
		batches++
		insertBig(t, st, batches, 1) // a batch, which writes the side records first
		if stored := count(fmt.Sprintf("state = 'pending' AND key LIKE 'key-%d-%%'", n)); stored != n {
			t.Fatalf("after batches of side records up to %d, %d pending, want %d", n, stored, n)
		}
		for i, r := range recs {
			done := *r
			done.State, done.Status, done.Body = store.IdempotencyDone, 200, []byte(fmt.Sprintf("answer %d", i))
			if i == 0 {
				done.LicensePlate = "another request's" // must not overwrite the stored claim
			}
			st.writer.addSide(sideRow{rec: &done, answerOnly: true})
		}
		batches++
		insertBig(t, st, batches, 1)
		answered += n - 1
		if got := count("state = 'done'"); got != answered {
			t.Fatalf("after answers up to %d, %d answered, want %d", n, got, answered)
		}
		if n > 1 {
			var body string
			if err := st.reads.QueryRowContext(ctx, "SELECT CAST(body AS TEXT) FROM idempotency WHERE key = ?", fmt.Sprintf("key-%d-%d", n, n-1)).Scan(&body); err != nil || body != fmt.Sprintf("answer %d", n-1) {
				t.Fatalf("the answer of key-%d-%d reads %q (%v)", n, n-1, body, err)
			}
		}
		if left := count(fmt.Sprintf("state = 'pending' AND key = 'key-%d-0'", n)); left != 1 {
			t.Fatalf("the answer of another plate changed the claim of key-%d-0", n)
		}
	}
	// The writer prepares after it answers a batch; once closed, it is
	// done with its statements.
	w := st.writer
	st.Close(ctx)
	upserts, answers := 0, 0
	for q := range w.prepared {
		if strings.HasPrefix(q, "INSERT INTO idempotency") {
			upserts++
		}
		if strings.HasPrefix(q, "UPDATE idempotency SET state = v.") {
			answers++
		}
	}
	if answers > 9 {
		t.Errorf("the writer keeps %d statements of answers prepared, want at most 9", answers)
	}
	if upserts > 9 { // 1, 2, 4, ... 256 rows
		t.Errorf("the writer keeps %d statements of side records prepared, want at most 9", upserts)
	}
}

// Before a commit the writer yields for the writes about to join the
// batch: again while each yield brings more, never more than maxYields
// times, once when the first brings none, and not at all for a full batch.
func TestTheWriterYieldsForWritesAboutToJoin(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// queued are the writes waiting before the batch is gathered;
		// arriving[i] those that the i-th yield lets in.
		queued     int
		arriving   []int
		wantBatch  int
		wantYields int
	}{
		{name: "idle", queued: 0, arriving: nil, wantBatch: 1, wantYields: 1},
		{name: "two yields bring writes, the third none", queued: 1, arriving: []int{1, 2}, wantBatch: 5, wantYields: 3},
		{name: "every yield brings writes", queued: 0, arriving: []int{1, 1, 1, 1, 1, 1, 1, 1}, wantBatch: 1 + maxYields, wantYields: maxYields},
		{name: "a full batch", queued: maxBatch - 1, arriving: []int{1}, wantBatch: maxBatch, wantYields: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := &writer{queue: make(chan *writeOp, maxBatch+8)}
			queue := func(n int) {
				for range n {
					w.queue <- &writeOp{}
				}
			}
			yields := 0
			w.yield = func() {
				if yields < len(c.arriving) {
					queue(c.arriving[yields])
				}
				yields++
			}
			queue(c.queued)
			batch := w.gather([]*writeOp{{}})
			if len(batch) != c.wantBatch || yields != c.wantYields {
				t.Fatalf("gathered %d writes after %d yields, want %d after %d", len(batch), yields, c.wantBatch, c.wantYields)
			}
		})
	}
}
