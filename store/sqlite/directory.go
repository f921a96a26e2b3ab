package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// PutCompany creates the company or updates its name and master data; a
// company stored as c already is not written.
func (s *Store) PutCompany(ctx context.Context, c store.Company) error {
	master, err := masterText(c.MasterData)
	if err != nil {
		return fmt.Errorf("put company %s: %w", c.ID, err)
	}
	return s.write(ctx, "put company", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, `INSERT INTO companies (id, name, master) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, master = excluded.master
			WHERE name <> excluded.name OR master <> excluded.master`, c.ID, c.Name, master)
		return err
	})
}

// masterText is the master data as the companies table keeps it: its JSON
// text, or "" for none.
func masterText(m *store.CompanyMasterData) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode master data: %w", err)
	}
	return string(b), nil
}

// scanCompany reads a row of id, name, master.
func scanCompany(row interface{ Scan(...any) error }) (*store.Company, error) {
	var c store.Company
	var master string
	if err := row.Scan(&c.ID, &c.Name, &master); err != nil {
		return nil, err
	}
	if master != "" {
		c.MasterData = &store.CompanyMasterData{}
		if err := json.Unmarshal([]byte(master), c.MasterData); err != nil {
			return nil, fmt.Errorf("decode the master data of company %s: %w", c.ID, err)
		}
	}
	return &c, nil
}

// EnsureCompany creates the company, named after its id, if it is missing.
func (s *Store) EnsureCompany(ctx context.Context, id string) error {
	return s.write(ctx, "ensure company", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, "INSERT INTO companies (id, name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", id, id)
		return err
	})
}

// Companies lists every company.
func (s *Store) Companies(ctx context.Context) ([]store.Company, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	rows, err := s.query(ctx, "SELECT id, name, master FROM companies ORDER BY id")
	if err != nil {
		return nil, store.Wrap("list companies", s.classify(err))
	}
	defer rows.Close()
	var out []store.Company
	for rows.Next() {
		c, err := scanCompany(rows)
		if err != nil {
			return nil, store.Wrap("list companies", s.classify(err))
		}
		out = append(out, *c)
	}
	return out, store.Wrap("list companies", s.classify(rows.Err()))
}

// PutNetwork creates the network or replaces its member list and
// position; a network stored as n already is not written.
func (s *Store) PutNetwork(ctx context.Context, n store.Network) error {
	members, err := json.Marshal(nonNil(n.Members))
	if err != nil {
		return err
	}
	return s.write(ctx, "put network", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, `INSERT INTO networks (id, members, position) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET members = excluded.members, position = excluded.position
			WHERE members <> excluded.members OR position <> excluded.position`, n.ID, string(members), n.Position)
		return err
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AddNetworkMember adds company to network, creating the network if
// needed; networks made here sort after the seeded ones.
func (s *Store) AddNetworkMember(ctx context.Context, network, company string) error {
	return s.write(ctx, "add network member", func(ctx context.Context, tx *sql.Tx) error {
		var text string
		err := s.writer.queryRow(ctx, tx, "SELECT members FROM networks WHERE id = ?", network).Scan(&text)
		if errors.Is(err, sql.ErrNoRows) {
			members, _ := json.Marshal([]string{company})
			_, err = s.writer.exec(ctx, tx, "INSERT INTO networks (id, members, position) VALUES (?, ?, ?)", network, string(members), 1<<20)
			return err
		}
		if err != nil {
			return err
		}
		var members []string
		if err := json.Unmarshal([]byte(text), &members); err != nil {
			return fmt.Errorf("network %s: %w", network, err)
		}
		if slices.Contains(members, company) {
			return nil
		}
		raw, _ := json.Marshal(append(members, company))
		_, err = s.writer.exec(ctx, tx, "UPDATE networks SET members = ? WHERE id = ?", string(raw), network)
		return err
	})
}

// Networks lists every network, in the order of their positions.
func (s *Store) Networks(ctx context.Context) ([]store.Network, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	rows, err := s.query(ctx, "SELECT id, members, position FROM networks ORDER BY position, id")
	if err != nil {
		return nil, store.Wrap("list networks", s.classify(err))
	}
	defer rows.Close()
	var out []store.Network
	for rows.Next() {
		var n store.Network
		var members string
		if err := rows.Scan(&n.ID, &members, &n.Position); err != nil {
			return nil, store.Wrap("list networks", s.classify(err))
		}
		if err := json.Unmarshal([]byte(members), &n.Members); err != nil {
			return nil, fmt.Errorf("network %s: %w", n.ID, err)
		}
		out = append(out, n)
	}
	return out, store.Wrap("list networks", s.classify(rows.Err()))
}

const clientColumns = "api_key, secret_hash, company_id, user_id, created_at, revoked_at, license_plate, minted_by"

func scanClient(row interface{ Scan(...any) error }) (*store.Client, error) {
	var c store.Client
	err := row.Scan(&c.APIKey, &c.SecretHash, &c.CompanyID, &c.UserID, &c.CreatedAt, &c.RevokedAt, &c.LicensePlate, &c.MintedBy)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Clients lists every API client, revoked ones included.
func (s *Store) Clients(ctx context.Context) ([]store.Client, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	rows, err := s.query(ctx, "SELECT "+clientColumns+" FROM clients ORDER BY api_key")
	if err != nil {
		return nil, store.Wrap("list clients", s.classify(err))
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, store.Wrap("list clients", s.classify(err))
		}
		out = append(out, *c)
	}
	return out, store.Wrap("list clients", s.classify(rows.Err()))
}

// CountClients counts the API clients, revoked ones included.
func (s *Store) CountClients(ctx context.Context) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT count(*) FROM clients")
	if err != nil {
		return 0, store.Wrap("count clients", s.classify(err))
	}
	var n int64
	return n, store.Wrap("count clients", s.classify(row.Scan(&n)))
}

// FindClient returns the client with this apiKey, or ErrNotFound.
func (s *Store) FindClient(ctx context.Context, apiKey string) (*store.Client, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	c, err := s.findClientWhere(ctx, "api_key = ?", apiKey)
	return c, store.Wrap("find client", err)
}

func (s *Store) findClientWhere(ctx context.Context, where string, arg any) (*store.Client, error) {
	row, err := s.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE "+where+" LIMIT 1", arg)
	if err != nil {
		return nil, s.classify(err)
	}
	c, err := scanClient(row)
	return c, s.classify(err)
}

// clientsRevision is the counter of client changes (ClientsRevision).
const clientsRevision = "clients-revision"

// bumpClients counts a change of the clients, inside the write that makes
// it.
func (s *Store) bumpClients(ctx context.Context, tx *sql.Tx) error {
	_, err := s.writer.exec(ctx, tx, "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1", clientsRevision)
	return err
}

// ClientsRevision counts the clients' creations, updates and revocations,
// so that a gateway learns of a change by reading one row instead of every
// client.
func (s *Store) ClientsRevision(ctx context.Context) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT value FROM counters WHERE name = ?", clientsRevision)
	if err != nil {
		return 0, store.Wrap("clients revision", s.classify(err))
	}
	var n int64
	err = row.Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, store.Wrap("clients revision", s.classify(err))
}

// InsertClient stores a new client; ErrDuplicate if the apiKey is taken.
func (s *Store) InsertClient(ctx context.Context, c store.Client) error {
	if c.CreatedAt == 0 {
		c.CreatedAt = s.now().UnixMilli()
	}
	s.recordClaim(s.claims.ofWrite(ctx))
	return s.write(ctx, "insert client", func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.writer.exec(ctx, tx, "INSERT INTO clients ("+clientColumns+") VALUES (?,?,?,?,?,?,?,?)",
			c.APIKey, c.SecretHash, c.CompanyID, c.UserID, c.CreatedAt, c.RevokedAt, c.LicensePlate, c.MintedBy); err != nil {
			return err
		}
		return s.bumpClients(ctx, tx)
	})
}

// PutClient makes the stored client match c (a seed entry): it is created
// if missing, and its secret, company and user are updated if they differ;
// a client that matches already is not written. CreatedAt and a revocation
// are kept: re-applying a seed never brings a revoked key back.
func (s *Store) PutClient(ctx context.Context, c store.Client) error {
	now := s.now().UnixMilli()
	return s.write(ctx, "put client", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, `INSERT INTO clients (`+clientColumns+`) VALUES (?,?,?,?,?,0,'','')
			ON CONFLICT (api_key) DO UPDATE SET secret_hash = excluded.secret_hash, company_id = excluded.company_id, user_id = excluded.user_id
			WHERE secret_hash <> excluded.secret_hash OR company_id <> excluded.company_id OR user_id <> excluded.user_id`,
			c.APIKey, c.SecretHash, c.CompanyID, c.UserID, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.bumpClients(ctx, tx)
	})
}

// RevokeClient marks the client revoked, and with it every client it
// minted, and theirs, in one transaction; ErrNotFound if there is none.
// Revoking a revoked client changes nothing.
func (s *Store) RevokeClient(ctx context.Context, apiKey string) error {
	now := s.now().UnixMilli()
	return s.write(ctx, "revoke client", func(ctx context.Context, tx *sql.Tx) error {
		var exists int
		if err := s.writer.queryRow(ctx, tx, "SELECT 1 FROM clients WHERE api_key = ?", apiKey).Scan(&exists); err != nil {
			return err
		}
		seen := map[string]bool{apiKey: true}
		for queue := []string{apiKey}; len(queue) > 0; queue = queue[1:] {
			key := queue[0]
			if _, err := s.writer.exec(ctx, tx, "UPDATE clients SET revoked_at = ? WHERE api_key = ? AND revoked_at = 0", now, key); err != nil {
				return err
			}
			st, err := s.writer.stmt(ctx, tx, "SELECT api_key FROM clients WHERE minted_by = ?")
			if err != nil {
				return err
			}
			rows, err := st.QueryContext(ctx, key)
			if err != nil {
				return err
			}
			for rows.Next() {
				var minted string
				if err := rows.Scan(&minted); err != nil {
					rows.Close()
					return err
				}
				if !seen[minted] {
					seen[minted] = true
					queue = append(queue, minted)
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		return s.bumpClients(ctx, tx)
	})
}

// NextSequence returns the next number of the named counter of a company in
// a dataspace, starting at 1 (see store.Sequencer).
func (s *Store) NextSequence(ctx context.Context, dataspace, ownerID, name string) (int64, error) {
	return s.sequence.Next(ctx, dataspace, ownerID, name)
}

// reserveSequence adds size to a counter and returns its new value. Only a
// reservation is a store operation (a write, with the store's deadline):
// most numbers come from a block in memory, under the caller's deadline
// alone.
func (s *Store) reserveSequence(ctx context.Context, key string, size int64) (int64, error) {
	var value int64
	err := s.write(ctx, "reserve sequence", func(ctx context.Context, tx *sql.Tx) error {
		return s.writer.queryRow(ctx, tx, "INSERT INTO sequences (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value RETURNING value", key, size).Scan(&value)
	})
	if err != nil {
		// The write may still run: its result is not read.
		return 0, err
	}
	return value, nil
}
