package sqlite

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// appendFeed adds the change that left inc at its version to the feed, in
// the change's transaction: the feed has a change exactly when the store
// does, in the order the writer committed them.
func (s *Store) appendFeed(ctx context.Context, tx *sql.Tx, inc *store.Incident, a store.Activity) error {
	e := store.NewFeedEntry(inc, a)
	_, err := s.writer.exec(ctx, tx, `INSERT INTO feed (dataspace, incident_id, process_type, owner_id, partner_id, network_id,
		data_version, event_name, license_plate, at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		e.Dataspace, e.ObjectID, e.Kind, e.OwnerID, e.PartnerID, e.NetworkID, e.DataVersion, e.EventName, e.LicensePlate, time.Now().UnixMilli())
	return err
}

// ListFeed lists the changes q's company may see after q.After, oldest
// first, at most q.Limit: one range read of an index per way the company
// sees objects, merged by seq. A change is in the feed once its
// transaction commits, and seqs are given in commit order, so a reader
// that continues after the last seq it saw never misses one.
func (s *Store) ListFeed(ctx context.Context, q store.FeedQuery) ([]store.FeedEntry, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if q.Limit <= 0 {
		return nil, nil
	}
	type branch struct {
		where string
		args  []any
	}
	branches := []branch{
		{"owner_id = ?", []any{q.Company}},
		{"partner_id = ? AND partner_id <> ''", []any{q.Company}},
	}
	for _, n := range q.Networks {
		for _, k := range q.SharedKinds {
			branches = append(branches, branch{"network_id = ? AND process_type = ?", []any{n, k}})
		}
	}
	seen := map[int64]bool{}
	var out []store.FeedEntry
	for _, b := range branches {
		args := append([]any{q.Dataspace}, b.args...)
		args = append(args, q.After, q.Limit)
		rows, err := s.query(ctx, `SELECT seq, dataspace, incident_id, process_type, owner_id, partner_id, network_id, data_version,
			event_name, license_plate, at FROM feed WHERE dataspace = ? AND `+b.where+` AND seq > ? ORDER BY seq LIMIT ?`, args...)
		if err != nil {
			return nil, store.Wrap("list feed", s.classify(err))
		}
		for rows.Next() {
			var e store.FeedEntry
			if err := rows.Scan(&e.Seq, &e.Dataspace, &e.ObjectID, &e.Kind, &e.OwnerID, &e.PartnerID, &e.NetworkID, &e.DataVersion,
				&e.EventName, &e.LicensePlate, &e.At); err != nil {
				rows.Close()
				return nil, store.Wrap("list feed", s.classify(err))
			}
			if !seen[e.Seq] {
				seen[e.Seq] = true
				out = append(out, e)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, store.Wrap("list feed", s.classify(err))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// FeedHead is the seq of the latest change in the feed, 0 for none.
func (s *Store) FeedHead(ctx context.Context) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT coalesce(max(seq), 0) FROM feed")
	if err != nil {
		return 0, store.Wrap("feed head", s.classify(err))
	}
	var seq int64
	return seq, store.Wrap("feed head", s.classify(row.Scan(&seq)))
}
