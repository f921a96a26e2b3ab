package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// resetTables are the tables Reset empties: every table of the layout.
var resetTables = []string{"companies", "networks", "clients", "sequences", "counters", "incidents", "comments", "activities",
	"idempotency", "users", "oauth_clients", "tokens", "incident_text_pending", "feed", "webhooks", "webhook_deliveries"}

// Reset empties the store in one transaction: every table and the text
// index, and then what the store holds in memory (the incident cache, the
// sequences' reserved blocks, the idempotency claims not yet written).
// The layout stays. It is for test harnesses that start each test from a
// seed; the caller keeps its own writes away while it runs
// (handlers.Gateway.Reset holds the requests).
func (s *Store) Reset(ctx context.Context) error {
	if s.beside {
		return errors.New("reset: a store opened beside the serving gateway cannot reset it")
	}
	err := s.write(ctx, "reset", func(ctx context.Context, tx *sql.Tx) error {
		for _, t := range resetTables {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
				return err
			}
		}
		// A contentless full-text table is emptied by its own command.
		_, err := tx.ExecContext(ctx, "INSERT INTO incident_text(incident_text) VALUES ('delete-all')")
		return err
	})
	s.cache.clear()
	s.sequence.Forget()
	s.claims.clear()
	return err
}
