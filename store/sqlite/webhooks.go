package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/scwm-gateway/scwm-gateway/store"
)

const webhookColumns = `id, dataspace, company_id, url, secret, kinds, events, created_at, cursor, disabled_at, disabled_reason, lease_owner, lease_until`

const deliveryColumns = `id, webhook_id, seq, object_id, kind, data_version, event_name, license_plate, at, state, first_attempt_at,
	next_attempt_at, attempt_count, attempts`

// InsertWebhook stores a new subscription; ErrDuplicate if its id is
// taken.
func (s *Store) InsertWebhook(ctx context.Context, w *store.Webhook) error {
	kinds, events := jsonList(w.Kinds), jsonList(w.Events)
	return s.write(ctx, "insert webhook", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, "INSERT INTO webhooks ("+webhookColumns+") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
			w.ID, w.Dataspace, w.CompanyID, w.URL, w.Secret, kinds, events, w.CreatedAt, w.Cursor, w.DisabledAt, w.DisabledReason,
			w.LeaseOwner, w.LeaseUntil)
		return err
	})
}

func jsonList(list []string) string {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

func scanWebhook(row interface{ Scan(...any) error }) (*store.Webhook, error) {
	var w store.Webhook
	var kinds, events string
	if err := row.Scan(&w.ID, &w.Dataspace, &w.CompanyID, &w.URL, &w.Secret, &kinds, &events, &w.CreatedAt, &w.Cursor,
		&w.DisabledAt, &w.DisabledReason, &w.LeaseOwner, &w.LeaseUntil); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(kinds), &w.Kinds); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, err
	}
	return &w, nil
}

// FindWebhook loads a subscription by its id, or ErrNotFound.
func (s *Store) FindWebhook(ctx context.Context, id string) (*store.Webhook, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id = ?", id)
	if err != nil {
		return nil, store.Wrap("find webhook", s.classify(err))
	}
	w, err := scanWebhook(row)
	return w, store.Wrap("find webhook", s.classify(err))
}

// ListWebhooks lists the subscriptions of a company in a dataspace, oldest
// first; with an empty dataspace, every subscription (for the deliverer).
func (s *Store) ListWebhooks(ctx context.Context, dataspace, companyID string) ([]store.Webhook, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	query, args := "SELECT "+webhookColumns+" FROM webhooks WHERE dataspace = ? AND company_id = ? ORDER BY created_at, id", []any{dataspace, companyID}
	if dataspace == "" {
		query, args = "SELECT "+webhookColumns+" FROM webhooks ORDER BY id", nil
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, store.Wrap("list webhooks", s.classify(err))
	}
	defer rows.Close()
	var out []store.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, store.Wrap("list webhooks", s.classify(err))
		}
		out = append(out, *w)
	}
	return out, store.Wrap("list webhooks", s.classify(rows.Err()))
}

// DeleteWebhook removes a subscription and its deliveries; ErrNotFound if
// there is none.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.write(ctx, "delete webhook", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, "DELETE FROM webhooks WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		_, err = s.writer.exec(ctx, tx, "DELETE FROM webhook_deliveries WHERE webhook_id = ?", id)
		return err
	})
}

// SetWebhookDisabled disables a subscription at a time (milliseconds) for
// a reason, or, with at 0, enables it again; ErrNotFound if there is none.
func (s *Store) SetWebhookDisabled(ctx context.Context, id string, at int64, reason string) error {
	return s.write(ctx, "disable webhook", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, "UPDATE webhooks SET disabled_at = ?, disabled_reason = ? WHERE id = ?", at, reason, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// LeaseWebhook gives owner the right to deliver for a subscription until
// a time (milliseconds), when the lease is free, run out by now, or
// already owner's; it reports whether owner holds it.
func (s *Store) LeaseWebhook(ctx context.Context, id, owner string, now, until int64) (bool, error) {
	var held bool
	err := s.write(ctx, "lease webhook", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, `UPDATE webhooks SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND (lease_owner = ? OR lease_owner = '' OR lease_until < ?)`, owner, until, id, owner, now)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		held = n == 1
		return nil
	})
	if err != nil {
		// The write may still run: its result is not read.
		return false, err
	}
	return held, nil
}

// RecordDeliveries writes a batch of deliveries and moves the
// subscription's cursor, together: ErrConflict (and nothing written) when
// owner does not hold the lease or the cursor is not at b.From any more.
func (s *Store) RecordDeliveries(ctx context.Context, b store.DeliveryBatch) error {
	rows := make([][]any, len(b.Deliveries))
	for i, d := range b.Deliveries {
		attempts, err := json.Marshal(d.Attempts)
		if err != nil {
			return store.Wrap("record deliveries", err)
		}
		rows[i] = []any{d.ID, b.WebhookID, d.Seq, d.ObjectID, d.Kind, d.DataVersion, d.EventName, d.LicensePlate, d.At, d.State,
			d.FirstAttemptAt, d.NextAttemptAt, d.AttemptCount, string(attempts)}
	}
	return s.write(ctx, "record deliveries", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, "UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor = ? AND lease_owner = ?",
			b.To, b.WebhookID, b.From, b.Owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrConflict
		}
		for _, r := range rows {
			if _, err := s.writer.exec(ctx, tx, `INSERT INTO webhook_deliveries (`+deliveryColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT (id) DO UPDATE SET state = excluded.state, first_attempt_at = excluded.first_attempt_at,
				next_attempt_at = excluded.next_attempt_at, attempt_count = excluded.attempt_count, attempts = excluded.attempts`, r...); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanDelivery(row interface{ Scan(...any) error }) (*store.Delivery, error) {
	var d store.Delivery
	var attempts string
	if err := row.Scan(&d.ID, &d.WebhookID, &d.Seq, &d.ObjectID, &d.Kind, &d.DataVersion, &d.EventName, &d.LicensePlate, &d.At,
		&d.State, &d.FirstAttemptAt, &d.NextAttemptAt, &d.AttemptCount, &attempts); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attempts), &d.Attempts); err != nil {
		return nil, err
	}
	return &d, nil
}

// ListDeliveries lists deliveries of a subscription (store.DeliveryQuery).
func (s *Store) ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if q.Limit <= 0 {
		return nil, nil
	}
	var query string
	args := []any{q.WebhookID}
	switch {
	case q.Pending:
		query = "SELECT " + deliveryColumns + " FROM webhook_deliveries WHERE webhook_id = ? AND state = 'pending' ORDER BY seq LIMIT ?"
	case q.Before > 0:
		query = "SELECT " + deliveryColumns + " FROM webhook_deliveries WHERE webhook_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
		args = append(args, q.Before)
	default:
		query = "SELECT " + deliveryColumns + " FROM webhook_deliveries WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?"
	}
	rows, err := s.query(ctx, query, append(args, q.Limit)...)
	if err != nil {
		return nil, store.Wrap("list deliveries", s.classify(err))
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, store.Wrap("list deliveries", s.classify(err))
		}
		out = append(out, *d)
	}
	return out, store.Wrap("list deliveries", s.classify(rows.Err()))
}

// FindDelivery loads a delivery of a subscription, or ErrNotFound.
func (s *Store) FindDelivery(ctx context.Context, webhookID, id string) (*store.Delivery, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE id = ? AND webhook_id = ?", id, webhookID)
	if err != nil {
		return nil, store.Wrap("find delivery", s.classify(err))
	}
	d, err := scanDelivery(row)
	return d, store.Wrap("find delivery", s.classify(err))
}

// RedeliverDelivery makes a delivery pending again, due at now
// (milliseconds), keeping its id and log; ErrNotFound if there is none.
func (s *Store) RedeliverDelivery(ctx context.Context, webhookID, id string, now int64) error {
	return s.write(ctx, "redeliver", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ? WHERE id = ? AND webhook_id = ?",
			now, id, webhookID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// PruneDeliveries deletes the finished deliveries (not pending) of changes
// committed before a time (milliseconds), in small batches.
func (s *Store) PruneDeliveries(ctx context.Context, before int64) (int64, error) {
	return s.expire(ctx, "prune deliveries", `DELETE FROM webhook_deliveries WHERE id IN
		(SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND at < ? LIMIT ?)`, before)
}

// Exclusive reports whether this process alone has the store open (not
// beside a running gateway): then no other gateway delivers its webhooks,
// and a lease left by a process that died is this process's to take.
func (s *Store) Exclusive() bool { return !s.beside }
