package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// write runs fn as one write of the next batch (see writer), bounded by the
// operation timeout, and returns its outcome in the store's errors.
func (s *Store) write(ctx context.Context, what string, fn writeFunc) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if s.writer == nil {
		return store.Wrap(what, store.Unavailable("the store is closed", errClosed))
	}
	return store.Wrap(what, s.classify(s.writer.do(ctx, fn)))
}

// readStmt is the prepared statement of a read, prepared once (and by
// database/sql once per connection of the pool).
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.reads.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a one-row read.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	if s.reads == nil {
		return nil, store.Unavailable("the store is closed", errClosed)
	}
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// query runs a read of many rows.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s.reads == nil {
		return nil, store.Unavailable("the store is closed", errClosed)
	}
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// forgetStatements closes the cached read statements at Close.
func (s *Store) forgetStatements() {
	s.readStmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.readStmts.Delete(k)
		return true
	})
}

// nanos is how a time is stored: nanoseconds since the epoch, NULL for the
// zero time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromNanos reads a time stored by nanos.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonText encodes a record kept as JSON text, in a pooled buffer.
func jsonText(v any) (string, error) {
	buf := jsonvalue.GetBuffer()
	defer buf.Release()
	var err error
	if buf.B, err = jsonvalue.AppendJSON(buf.B, v); err != nil {
		return "", err
	}
	return string(buf.B), nil
}

// fromJSONText decodes JSON text into v, numbers as json.Number for
// jsonvalue.Plain to make int64 or float64.
func fromJSONText(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return dec.Decode(v)
}

// decodeComment decodes a comment kept as JSON text.
func decodeComment(text string) (store.Comment, error) {
	var c store.Comment
	if err := fromJSONText(text, &c); err != nil {
		return c, err
	}
	for i, a := range c.Attachments {
		c.Attachments[i] = jsonvalue.Plain(a).(map[string]any)
	}
	return c, nil
}

// decodeActivity decodes a history entry kept as JSON text.
func decodeActivity(text string) (store.Activity, error) {
	var a store.Activity
	if err := fromJSONText(text, &a); err != nil {
		return a, err
	}
	if a.Detail != nil {
		a.Detail = jsonvalue.Plain(a.Detail).(map[string]any)
	}
	return a, nil
}
