package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"
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
