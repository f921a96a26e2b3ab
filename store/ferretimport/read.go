package ferretimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// clientsRevisionKey is the old store's counter of client changes among its
// sequences; the new stores keep their own, so it is not imported.
const clientsRevisionKey = `["clients-revision"]`

// Read reads the FerretDB-era database named database (DefaultDatabase
// when empty) in dir and calls emit with its records in the new model,
// kinds in the order of the store.Kind constants (the order store.Export
// gives): companies, networks, API clients, sequences, users, OAuth
// clients, tokens, incidents, comments, history entries, idempotency
// records; within a kind in the order of the old _id. It stops at emit's
// first error and returns it.
//
// The old files are only read: see openFile for a database the old gateway
// did not close cleanly. Read needs no FerretDB: each collection is a table
// of SJSON documents (see decodeSJSON), named by FerretDB's catalogue.
//
// An incident was stored as its versions, one document each (the whole
// incident as that version left it, with the history entry of the change
// that made it); Read emits its latest version as the Incident, the
// comments of the latest version, each with the Position the new stores
// give a comment (store.CommentPosition of the version that added it and
// its place among the comments that version added), and one Activity per
// version. Memory is bounded by the largest incident's history, never the
// whole dataset: the versions are read in _id order, in which those of one
// incident are together (see readVersions).
func Read(ctx context.Context, dir, database string, emit func(store.Record) error) error {
	if database == "" {
		database = DefaultDatabase
	}
	file := filepath.Join(dir, database+fileExt)
	conn, done, err := openDatabase(ctx, dir, database)
	if err != nil {
		return fmt.Errorf("read the FerretDB-era database: %w", err)
	}
	defer done()
	r := &reader{conn: conn, emit: emit}
	if err := r.read(ctx); err != nil {
		var ee emitError
		if errors.As(err, &ee) {
			return ee.err
		}
		return fmt.Errorf("read the FerretDB-era database %s: %w", file, err)
	}
	return nil
}

// emitError is an error of emit, which Read returns as it is.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }

type reader struct {
	conn   *sql.Conn
	tables map[string]string
	emit   func(store.Record) error
}

func (r *reader) send(rec store.Record) error {
	if err := r.emit(rec); err != nil {
		return emitError{err}
	}
	return nil
}

func (r *reader) read(ctx context.Context) error {
	var err error
	if r.tables, err = tables(ctx, r.conn); err != nil {
		return fmt.Errorf("FerretDB's catalogue: %w", err)
	}
	if err := r.refuseLegacyIncidents(ctx); err != nil {
		return err
	}
	steps := []func(context.Context) error{
		r.companies, r.networks, r.clients, r.sequences, r.users, r.oauthClients, r.tokens,
		r.incidents, r.comments, r.activities, r.idempotency,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// refuseLegacyIncidents refuses a database that still holds incidents in
// the "incidents" collection, where the earliest builds of the
// FerretDB-era gateway kept them before they were stored as versions: the
// FerretDB-era gateway itself no longer read them.
func (r *reader) refuseLegacyIncidents(ctx context.Context) error {
	table, ok := r.tables["incidents"]
	if !ok {
		return nil
	}
	var n int64
	if err := r.conn.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&n); err != nil {
		return fmt.Errorf("collection incidents: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("collection incidents holds %d incidents in the form of the earliest FerretDB-era builds, which stored no versions; they cannot be imported", n)
	}
	return nil
}

// scan calls fn with every document of a collection, decoded, in _id
// order. A collection the database does not have has no documents.
func (r *reader) scan(ctx context.Context, collection string, fn func(doc map[string]any) error) error {
	table, ok := r.tables[collection]
	if !ok {
		return nil
	}
	order, err := idOrder(ctx, r.conn, table)
	if err != nil {
		return fmt.Errorf("collection %s: %w", collection, err)
	}
	rows, err := r.conn.QueryContext(ctx, `SELECT _ferretdb_sjson FROM `+quoteIdent(table)+` ORDER BY `+order)
	if err != nil {
		return fmt.Errorf("collection %s: %w", collection, err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n++
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("collection %s, document %d: %w", collection, n, err)
		}
		doc, err := decodeSJSON(raw)
		if err != nil {
			return fmt.Errorf("collection %s, document %d in _id order: %w", collection, n, err)
		}
		if err := fn(doc); err != nil {
			return fmt.Errorf("collection %s: %w", collection, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("collection %s, after document %d: %w", collection, n, err)
	}
	return nil
}

// docFields reads a document's fields, naming it by its _id in errors.
func docFields(doc map[string]any) *fields {
	id, _ := doc["_id"].(string)
	return &fields{m: doc, where: fmt.Sprintf("document %q", id)}
}

// record checks f and sends the record it made.
func (r *reader) record(f *fields, kind string, v any) error {
	if f.err != nil {
		return f.err
	}
	return r.send(store.Record{Kind: kind, Value: v})
}

func (r *reader) companies(ctx context.Context) error {
	return r.scan(ctx, "companies", func(doc map[string]any) error {
		f := docFields(doc)
		return r.record(f, store.KindCompany, &store.Company{ID: f.str("_id"), Name: f.str("name")})
	})
}

func (r *reader) networks(ctx context.Context) error {
	return r.scan(ctx, "networks", func(doc map[string]any) error {
		f := docFields(doc)
		return r.record(f, store.KindNetwork, &store.Network{ID: f.str("_id"), Members: f.strings("members"), Position: f.int("position")})
	})
}

func (r *reader) clients(ctx context.Context) error {
	return r.scan(ctx, "clients", func(doc map[string]any) error {
		f := docFields(doc)
		return r.record(f, store.KindClient, &store.Client{
			APIKey: f.str("_id"), SecretHash: f.str("secretHash"), CompanyID: f.str("companyId"), UserID: f.str("userId"),
			CreatedAt: f.int64("createdAt"), RevokedAt: f.int64("revokedAt"),
			LicensePlate: f.str("licensePlate"), MintedBy: f.str("mintedBy"),
		})
	})
}

func (r *reader) sequences(ctx context.Context) error {
	return r.scan(ctx, "sequences", func(doc map[string]any) error {
		f := docFields(doc)
		s := &store.Sequence{Key: f.str("_id"), Value: f.int64("seq")}
		if s.Key == clientsRevisionKey && f.err == nil {
			return nil
		}
		return r.record(f, store.KindSequence, s)
	})
}

func (r *reader) users(ctx context.Context) error {
	return r.scan(ctx, "users", func(doc map[string]any) error {
		f := docFields(doc)
		return r.record(f, store.KindUser, &store.User{
			Username: f.str("_id"), PasswordHash: f.str("passwordHash"), CompanyID: f.str("companyId"), Name: f.str("name"),
			Disabled: f.bool("disabled"), DisabledAt: f.time("disabledAt"),
		})
	})
}

func (r *reader) oauthClients(ctx context.Context) error {
	return r.scan(ctx, "oauth_clients", func(doc map[string]any) error {
		f := docFields(doc)
		return r.record(f, store.KindOAuthClient, &store.OAuthClient{
			ClientID: f.str("_id"), SecretHash: f.str("secretHash"), CompanyID: f.str("companyId"), Revoked: f.bool("revoked"),
		})
	})
}

func (r *reader) tokens(ctx context.Context) error {
	return r.scan(ctx, "oauth_tokens", func(doc map[string]any) error {
		f := docFields(doc)
		return r.record(f, store.KindToken, &store.Token{
			Hash: f.str("_id"), Kind: f.str("kind"), ClientID: f.str("clientId"), Username: f.str("username"),
			CompanyID: f.str("companyId"), Scope: f.str("scope"), IssuedAt: f.time("issuedAt"), ExpiresAt: f.time("expiresAt"),
			Revoked: f.bool("revoked"),
		})
	})
}

func (r *reader) idempotency(ctx context.Context) error {
	return r.scan(ctx, "idempotency", func(doc map[string]any) error {
		f := docFields(doc)
		return r.record(f, store.KindIdempotency, &store.IdempotencyRecord{
			Key: f.str("_id"), RequestHash: f.str("requestHash"), LicensePlate: f.str("licensePlate"), Dataspace: f.str("dataspace"),
			State: f.str("state"), Status: f.int("status"), Body: f.bytes("body"),
			LeaseUntil: f.time("leaseUntil"), CreatedAt: f.time("createdAt"), ExpiresAt: f.time("expiresAt"),
		})
	})
}
