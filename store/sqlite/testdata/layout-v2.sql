CREATE TABLE IF NOT EXISTS companies (
	id     TEXT PRIMARY KEY,
	name   TEXT NOT NULL,
	master TEXT NOT NULL DEFAULT '' -- JSON of the master data, '' for none
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS networks (
	id       TEXT PRIMARY KEY,
	members  TEXT NOT NULL, -- JSON array of company ids
	position INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS clients (
	api_key       TEXT PRIMARY KEY,
	secret_hash   TEXT NOT NULL,
	company_id    TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	revoked_at    INTEGER NOT NULL,
	license_plate TEXT NOT NULL,
	minted_by     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clients_minted_by ON clients (minted_by) WHERE minted_by <> '';
CREATE INDEX IF NOT EXISTS clients_license_plate ON clients (license_plate) WHERE license_plate <> '';

CREATE TABLE IF NOT EXISTS sequences (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

-- Counters of the store itself, such as the clients' revision.
CREATE TABLE IF NOT EXISTS counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS incidents (
	id                  TEXT PRIMARY KEY,
	dataspace           TEXT NOT NULL,
	owner_id            TEXT NOT NULL,
	network_id          TEXT NOT NULL,
	process_type        TEXT NOT NULL,
	schema_version      INTEGER NOT NULL,
	data_version        INTEGER NOT NULL,
	created_by          TEXT NOT NULL,
	last_updated_by     TEXT NOT NULL,
	created_at          INTEGER NOT NULL,
	last_updated_at     INTEGER NOT NULL,
	state               TEXT NOT NULL,
	number              INTEGER NOT NULL,
	partner_id          TEXT NOT NULL,
	parent_id           TEXT NOT NULL DEFAULT '',
	data                TEXT NOT NULL -- JSON object
);
CREATE INDEX IF NOT EXISTS incidents_owner ON incidents (dataspace, owner_id, number);

CREATE TABLE IF NOT EXISTS comments (
	incident_id TEXT NOT NULL,
	position    INTEGER NOT NULL,
	comment_id  TEXT NOT NULL,
	body        TEXT NOT NULL, -- JSON of the comment
	PRIMARY KEY (incident_id, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS comments_id ON comments (incident_id, comment_id);

CREATE TABLE IF NOT EXISTS activities (
	incident_id   TEXT NOT NULL,
	data_version  INTEGER NOT NULL,
	license_plate TEXT NOT NULL,
	body          TEXT NOT NULL, -- JSON of the history entry
	PRIMARY KEY (incident_id, data_version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS activities_license_plate ON activities (license_plate);

CREATE TABLE IF NOT EXISTS idempotency (
	key           TEXT PRIMARY KEY,
	request_hash  TEXT NOT NULL,
	license_plate TEXT NOT NULL,
	dataspace     TEXT NOT NULL,
	state         TEXT NOT NULL,
	status        INTEGER NOT NULL,
	body          BLOB,
	lease_until   INTEGER,
	created_at    INTEGER,
	expires_at    INTEGER
);
CREATE INDEX IF NOT EXISTS idempotency_expires_at ON idempotency (expires_at);

CREATE TABLE IF NOT EXISTS users (
	username      TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	company_id    TEXT NOT NULL,
	name          TEXT NOT NULL,
	disabled      INTEGER NOT NULL,
	disabled_at   INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS oauth_clients (
	client_id   TEXT PRIMARY KEY,
	secret_hash TEXT NOT NULL,
	company_id  TEXT NOT NULL,
	revoked     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tokens (
	hash       TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	username   TEXT NOT NULL,
	company_id TEXT NOT NULL,
	scope      TEXT NOT NULL,
	issued_at  INTEGER,
	expires_at INTEGER,
	revoked    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_expires_at ON tokens (expires_at);
CREATE INDEX IF NOT EXISTS incidents_parent ON incidents (dataspace, parent_id, created_at, id) WHERE parent_id <> '';
CREATE INDEX IF NOT EXISTS comments_comment_id ON comments (comment_id);
