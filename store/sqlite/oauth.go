package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// userColumns are the columns of a user, in the order scanUser reads
// them.
const userColumns = "username, password_hash, company_id, name, disabled, disabled_at, user_id, given_name, surname"

// PutUser creates the user, or updates its password hash, company, name,
// id and name parts if they differ; a user that matches already is not
// written. A disabled user stays disabled. The user is put with its
// defaults (store.User.WithDefaults); an id another user has is refused
// (store.UserIDTaken).
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	u = u.WithDefaults()
	return s.write(ctx, "put user "+u.Username, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, `INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?,?,?)
			ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, company_id = excluded.company_id, name = excluded.name,
				user_id = excluded.user_id, given_name = excluded.given_name, surname = excluded.surname
			WHERE password_hash <> excluded.password_hash OR company_id <> excluded.company_id OR name <> excluded.name
				OR user_id <> excluded.user_id OR given_name <> excluded.given_name OR surname <> excluded.surname`,
			u.Username, u.PasswordHash, u.CompanyID, u.Name, boolInt(u.Disabled), nanos(u.DisabledAt), u.ID, u.GivenName, u.Surname)
		return userIDTaken(err, u.ID)
	})
}

// userIDTaken turns the failure of a write of a user that is a constraint's
// into store.UserIDTaken: the username is the key the write replaces by,
// so the constraint that fails is the unique user id's.
func userIDTaken(err error, id string) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return store.UserIDTaken(id)
	}
	return err
}

// FindUser loads a user by username, or ErrNotFound.
func (s *Store) FindUser(ctx context.Context, username string) (*store.User, error) {
	return s.findUser(ctx, "find user", "username", store.NormalizeUsername(username))
}

// FindUserByID loads the user of a user id (store.User.ID), through the
// users_user_id index, or ErrNotFound.
func (s *Store) FindUserByID(ctx context.Context, id string) (*store.User, error) {
	return s.findUser(ctx, "find user by id", "user_id", id)
}

// findUser loads the user whose column (username or user_id) is value.
func (s *Store) findUser(ctx context.Context, what, column, value string) (*store.User, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE "+column+" = ?", value)
	if err != nil {
		return nil, store.Wrap(what, s.classify(err))
	}
	u, err := scanUser(row)
	if err != nil {
		return nil, store.Wrap(what, s.classify(err))
	}
	return u, nil
}

// scanUser reads the userColumns of a row, defaults applied (users of an
// earlier layout have no name parts).
func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var disabledAt sql.NullInt64
	if err := row.Scan(&u.Username, &u.PasswordHash, &u.CompanyID, &u.Name, &u.Disabled, &disabledAt, &u.ID, &u.GivenName, &u.Surname); err != nil {
		return nil, err
	}
	u.DisabledAt = fromNanos(disabledAt)
	u = u.WithDefaults()
	return &u, nil
}

// SetUserDisabled disables or enables a user; ErrNotFound if there is none.
// Disabling records when (User.DisabledAt), so that enabling the user again
// does not bring back the tokens issued before.
func (s *Store) SetUserDisabled(ctx context.Context, username string, disabled bool) error {
	id := store.NormalizeUsername(username)
	query, args := "UPDATE users SET disabled = 0 WHERE username = ?", []any{id}
	if disabled {
		query, args = "UPDATE users SET disabled = 1, disabled_at = ? WHERE username = ?", []any{s.now().UnixNano(), id}
	}
	return s.write(ctx, "set user disabled", func(ctx context.Context, tx *sql.Tx) error {
		return mustMatch(s.writer.exec(ctx, tx, query, args...))
	})
}

// mustMatch turns an update that matched no row into ErrNotFound.
func mustMatch(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// PutOAuthClient makes the stored OAuth client match c (a seed entry): it
// is created if missing, and its secret and company are updated if they
// differ; a client that matches already is not written. A revoked client
// stays revoked.
func (s *Store) PutOAuthClient(ctx context.Context, c store.OAuthClient) error {
	return s.write(ctx, "put oauth client", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, `INSERT INTO oauth_clients (client_id, secret_hash, company_id, revoked) VALUES (?,?,?,?)
			ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, company_id = excluded.company_id
			WHERE secret_hash <> excluded.secret_hash OR company_id <> excluded.company_id`,
			c.ClientID, c.SecretHash, c.CompanyID, boolInt(c.Revoked))
		return err
	})
}

// InsertOAuthClient stores a new OAuth client; ErrDuplicate if the id is
// taken.
func (s *Store) InsertOAuthClient(ctx context.Context, c store.OAuthClient) error {
	return s.write(ctx, "insert oauth client", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, "INSERT INTO oauth_clients (client_id, secret_hash, company_id, revoked) VALUES (?,?,?,?)",
			c.ClientID, c.SecretHash, c.CompanyID, boolInt(c.Revoked))
		return err
	})
}

// FindOAuthClient loads an OAuth client by id, or ErrNotFound.
func (s *Store) FindOAuthClient(ctx context.Context, clientID string) (*store.OAuthClient, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT client_id, secret_hash, company_id, revoked FROM oauth_clients WHERE client_id = ?", clientID)
	if err != nil {
		return nil, store.Wrap("find oauth client", s.classify(err))
	}
	var c store.OAuthClient
	if err := row.Scan(&c.ClientID, &c.SecretHash, &c.CompanyID, &c.Revoked); err != nil {
		return nil, store.Wrap("find oauth client", s.classify(err))
	}
	return &c, nil
}

// RevokeOAuthClient revokes an OAuth client: it gets no more tokens, and the
// tokens it has stop working; ErrNotFound if there is none.
func (s *Store) RevokeOAuthClient(ctx context.Context, clientID string) error {
	return s.write(ctx, "revoke oauth client", func(ctx context.Context, tx *sql.Tx) error {
		return mustMatch(s.writer.exec(ctx, tx, "UPDATE oauth_clients SET revoked = 1 WHERE client_id = ?", clientID))
	})
}

const tokenColumns = "hash, kind, client_id, username, company_id, scope, issued_at, expires_at, revoked"

// InsertToken stores a token.
func (s *Store) InsertToken(ctx context.Context, t store.Token) error {
	return s.write(ctx, "insert token", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.writer.exec(ctx, tx, "INSERT INTO tokens ("+tokenColumns+") VALUES (?,?,?,?,?,?,?,?,?)",
			t.Hash, t.Kind, t.ClientID, t.Username, t.CompanyID, t.Scope, nanos(t.IssuedAt), nanos(t.ExpiresAt), boolInt(t.Revoked))
		return err
	})
}

// FindToken loads a token by the hash of its value, or ErrNotFound.
func (s *Store) FindToken(ctx context.Context, hash string) (*store.Token, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = ?", hash)
	if err != nil {
		return nil, store.Wrap("find token", s.classify(err))
	}
	t, err := scanToken(row)
	return t, store.Wrap("find token", s.classify(err))
}

func scanToken(row interface{ Scan(...any) error }) (*store.Token, error) {
	var t store.Token
	var issued, expires sql.NullInt64
	if err := row.Scan(&t.Hash, &t.Kind, &t.ClientID, &t.Username, &t.CompanyID, &t.Scope, &issued, &expires, &t.Revoked); err != nil {
		return nil, err
	}
	t.IssuedAt, t.ExpiresAt = fromNanos(issued), fromNanos(expires)
	return &t, nil
}

// RevokeToken marks a token revoked and reports whether this call revoked
// it: of two concurrent revocations (say, two uses of one refresh token),
// exactly one gets true. ErrNotFound if there is no such token.
func (s *Store) RevokeToken(ctx context.Context, hash string) (bool, error) {
	var revoked bool
	err := s.write(ctx, "revoke token", func(ctx context.Context, tx *sql.Tx) error {
		revoked = false // a write may run twice (see writer.commit)
		res, err := s.writer.exec(ctx, tx, "UPDATE tokens SET revoked = 1 WHERE hash = ? AND revoked = 0", hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			revoked = true
			return nil
		}
		var one int
		return s.writer.queryRow(ctx, tx, "SELECT 1 FROM tokens WHERE hash = ?", hash).Scan(&one)
	})
	if err != nil {
		// The write may still run: its result is not read.
		return false, err
	}
	return revoked, nil
}

// ExpireTokens deletes tokens whose time is up, in small batches (see
// ExpireIdempotencyKeys).
func (s *Store) ExpireTokens(ctx context.Context, now time.Time) (int64, error) {
	return s.expire(ctx, "expire tokens",
		"DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires_at < ? LIMIT ?)", now.UnixNano())
}
