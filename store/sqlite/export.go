package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Export calls emit with every record the store holds, read from one
// snapshot of the database (a read transaction: writes go on meanwhile and
// are not seen), kinds in the order of the store.Kind constants.
func (s *Store) Export(ctx context.Context, emit func(store.Record) error) error {
	if s.reads == nil {
		return store.Unavailable("the store is closed", errClosed)
	}
	// Writes queued before the export (answers of idempotent requests)
	// are committed first, so that it holds everything acknowledged.
	if err := s.write(ctx, "export", func(context.Context, *sql.Tx) error { return nil }); err != nil {
		return err
	}
	tx, err := s.reads.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.classify(err)
	}
	defer tx.Rollback()
	each := func(query string, scan func(rows *sql.Rows) (store.Record, error)) error {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return s.classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				return err
			}
			if err := emit(r); err != nil {
				return err
			}
		}
		return s.classify(rows.Err())
	}
	steps := []struct {
		query string
		scan  func(rows *sql.Rows) (store.Record, error)
	}{
		{"SELECT id, name, master FROM companies ORDER BY id", func(rows *sql.Rows) (store.Record, error) {
			c, err := scanCompany(rows)
			return store.Record{Kind: store.KindCompany, Value: c}, err
		}},
		{"SELECT id, members, position FROM networks ORDER BY position, id", func(rows *sql.Rows) (store.Record, error) {
			var n store.Network
			var members string
			if err := rows.Scan(&n.ID, &members, &n.Position); err != nil {
				return store.Record{}, err
			}
			err := json.Unmarshal([]byte(members), &n.Members)
			return store.Record{Kind: store.KindNetwork, Value: &n}, err
		}},
		{"SELECT " + clientColumns + " FROM clients ORDER BY api_key", func(rows *sql.Rows) (store.Record, error) {
			c, err := scanClient(rows)
			return store.Record{Kind: store.KindClient, Value: c}, err
		}},
		{"SELECT key, value FROM sequences ORDER BY key", func(rows *sql.Rows) (store.Record, error) {
			var q store.Sequence
			err := rows.Scan(&q.Key, &q.Value)
			return store.Record{Kind: store.KindSequence, Value: &q}, err
		}},
		{"SELECT " + userColumns + " FROM users ORDER BY username", func(rows *sql.Rows) (store.Record, error) {
			u, err := scanUser(rows)
			return store.Record{Kind: store.KindUser, Value: u}, err
		}},
		{"SELECT client_id, secret_hash, company_id, revoked FROM oauth_clients ORDER BY client_id", func(rows *sql.Rows) (store.Record, error) {
			var c store.OAuthClient
			err := rows.Scan(&c.ClientID, &c.SecretHash, &c.CompanyID, &c.Revoked)
			return store.Record{Kind: store.KindOAuthClient, Value: &c}, err
		}},
		{"SELECT " + tokenColumns + " FROM tokens ORDER BY hash", func(rows *sql.Rows) (store.Record, error) {
			t, err := scanToken(rows)
			return store.Record{Kind: store.KindToken, Value: t}, err
		}},
		{"SELECT " + incidentColumns + " FROM incidents ORDER BY id", func(rows *sql.Rows) (store.Record, error) {
			inc, err := scanIncident(rows)
			return store.Record{Kind: store.KindIncident, Value: inc}, err
		}},
		{"SELECT incident_id, body FROM comments ORDER BY incident_id, position", func(rows *sql.Rows) (store.Record, error) {
			var id, text string
			if err := rows.Scan(&id, &text); err != nil {
				return store.Record{}, err
			}
			c, err := decodeComment(text)
			return store.Record{Kind: store.KindComment, IncidentID: id, Value: &c}, err
		}},
		{"SELECT incident_id, body FROM activities ORDER BY incident_id, data_version", func(rows *sql.Rows) (store.Record, error) {
			var id, text string
			if err := rows.Scan(&id, &text); err != nil {
				return store.Record{}, err
			}
			a, err := decodeActivity(text)
			return store.Record{Kind: store.KindActivity, IncidentID: id, Value: &a}, err
		}},
		{"SELECT " + idempotencyColumns + " FROM idempotency ORDER BY key", func(rows *sql.Rows) (store.Record, error) {
			r, err := scanIdempotency(rows)
			return store.Record{Kind: store.KindIdempotency, Value: r}, err
		}},
	}
	for _, st := range steps {
		if err := each(st.query, st.scan); err != nil {
			return err
		}
	}
	return nil
}

// Import writes records as they are, a batch in one transaction; a record
// whose key is held already replaces it. The cache and the sequences'
// reserved blocks are dropped afterwards, so what was imported is what is
// served.
func (s *Store) Import(ctx context.Context, records []store.Record) error {
	err := s.write(ctx, "import", func(ctx context.Context, tx *sql.Tx) error {
		for _, r := range records {
			if err := s.importRecord(ctx, tx, r); err != nil {
				return fmt.Errorf("%s record: %w", r.Kind, err)
			}
		}
		return nil
	})
	s.cache.clear()
	s.sequence.Forget()
	return err
}

func (s *Store) importRecord(ctx context.Context, tx *sql.Tx, r store.Record) error {
	exec := func(query string, args ...any) error {
		_, err := s.writer.exec(ctx, tx, query, args...)
		return err
	}
	switch v := r.Value.(type) {
	case *store.Company:
		master, err := masterText(v.MasterData)
		if err != nil {
			return err
		}
		return exec("INSERT OR REPLACE INTO companies (id, name, master) VALUES (?, ?, ?)", v.ID, v.Name, master)
	case *store.Network:
		members, _ := json.Marshal(nonNil(v.Members))
		return exec("INSERT OR REPLACE INTO networks (id, members, position) VALUES (?, ?, ?)", v.ID, string(members), v.Position)
	case *store.Client:
		if err := exec("INSERT OR REPLACE INTO clients ("+clientColumns+") VALUES (?,?,?,?,?,?,?,?)",
			v.APIKey, v.SecretHash, v.CompanyID, v.UserID, v.CreatedAt, v.RevokedAt, v.LicensePlate, v.MintedBy); err != nil {
			return err
		}
		return s.bumpClients(ctx, tx)
	case *store.Sequence:
		return exec("INSERT OR REPLACE INTO sequences (key, value) VALUES (?, ?)", v.Key, v.Value)
	case *store.User:
		// Replaced by username only: a user id another user has is an
		// error (store.UserIDTaken), not that user's removal. A user of an
		// export without ids gets its defaults.
		u := v.WithDefaults()
		return userIDTaken(exec(`INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?,?,?)
			ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, company_id = excluded.company_id, name = excluded.name,
				disabled = excluded.disabled, disabled_at = excluded.disabled_at,
				user_id = excluded.user_id, given_name = excluded.given_name, surname = excluded.surname`,
			u.Username, u.PasswordHash, u.CompanyID, u.Name, boolInt(u.Disabled), nanos(u.DisabledAt), u.ID, u.GivenName, u.Surname), u.ID)
	case *store.OAuthClient:
		return exec("INSERT OR REPLACE INTO oauth_clients (client_id, secret_hash, company_id, revoked) VALUES (?,?,?,?)",
			v.ClientID, v.SecretHash, v.CompanyID, boolInt(v.Revoked))
	case *store.Token:
		return exec("INSERT OR REPLACE INTO tokens ("+tokenColumns+") VALUES (?,?,?,?,?,?,?,?,?)",
			v.Hash, v.Kind, v.ClientID, v.Username, v.CompanyID, v.Scope, nanos(v.IssuedAt), nanos(v.ExpiresAt), boolInt(v.Revoked))
	case *store.Incident:
		args, err := incidentArgs(v)
		if err != nil {
			return err
		}
		return exec("INSERT OR REPLACE INTO incidents ("+incidentColumns+") VALUES "+incidentPlaceholders, args...)
	case *store.Comment:
		text, err := jsonText(v)
		if err != nil {
			return err
		}
		if err := exec("DELETE FROM comments WHERE incident_id = ? AND comment_id = ?", r.IncidentID, v.ID); err != nil {
			return err
		}
		return exec("INSERT OR REPLACE INTO comments (incident_id, position, comment_id, body) VALUES (?,?,?,?)", r.IncidentID, v.Position, v.ID, text)
	case *store.Activity:
		text, err := jsonText(v)
		if err != nil {
			return err
		}
		return exec("INSERT OR REPLACE INTO activities (incident_id, data_version, license_plate, body) VALUES (?,?,?,?)", r.IncidentID, v.DataVersion, v.LicensePlate, text)
	case *store.IdempotencyRecord:
		s.noteKey(v.Key)
		return exec("INSERT OR REPLACE INTO idempotency ("+idempotencyColumns+") VALUES (?,?,?,?,?,?,?,?,?,?)", idempotencyArgs(v)...)
	}
	return fmt.Errorf("unknown record value %T", r.Value)
}
