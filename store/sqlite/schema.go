package sqlite

// schemaVersion is the layout's version, kept in the database's
// user_version: a database of an older layout is migrated when the store
// opens it (migrations), one of a newer layout is refused.
const schemaVersion = 5

// schema creates the tables and indexes. Every query the store makes is
// served by a primary key or by one of these indexes; none scans a table
// (except Export, which reads everything).
//
// An incident is one row in incidents, its current state; comments and
// history entries are rows of their own, so a change rewrites one row and
// appends or replaces the few it touches, and reads of long lists are
// range reads of an index.
const schema = `
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
	disabled_at   INTEGER,
	user_id       TEXT NOT NULL,
	given_name    TEXT NOT NULL DEFAULT '',
	surname       TEXT NOT NULL DEFAULT ''
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
` + indexesV2 + indexesV3 + searchV4 + feedV4 + webhooksV5

// indexesV2 are the indexes layout version 2 added, created by the layout
// and by the migration from version 1 alike.
const indexesV2 = `
CREATE INDEX IF NOT EXISTS incidents_parent ON incidents (dataspace, parent_id, created_at, id) WHERE parent_id <> '';
CREATE INDEX IF NOT EXISTS comments_comment_id ON comments (comment_id);
`

// indexesV3 are the indexes layout version 3 added: a user by the user id
// objects name (FindUserByID), which no two users share.
const indexesV3 = `
CREATE UNIQUE INDEX IF NOT EXISTS users_user_id ON users (user_id);
`

// searchV4 is what layout version 4 added for search (SearchIncidents):
// the visible objects of a company by owner, by partner and by network and
// kind,
// each in the two orders a search sorts by, and a full-text index of the
// summary and description. Triggers note each object whose text a write
// changes in incident_text_pending (with the text the index has of it),
// and the writer brings the index up to date for the whole batch just
// before it commits (flushText): in the writes' own transaction, at one
// flush of the full-text index per batch rather than one per statement.
const searchV4 = `
CREATE INDEX IF NOT EXISTS incidents_owner_updated ON incidents (dataspace, owner_id, last_updated_at, id);
CREATE INDEX IF NOT EXISTS incidents_owner_created ON incidents (dataspace, owner_id, created_at, id);
CREATE INDEX IF NOT EXISTS incidents_partner_updated ON incidents (dataspace, partner_id, last_updated_at, id) WHERE partner_id <> '';
CREATE INDEX IF NOT EXISTS incidents_partner_created ON incidents (dataspace, partner_id, created_at, id) WHERE partner_id <> '';
CREATE INDEX IF NOT EXISTS incidents_network_updated ON incidents (dataspace, network_id, process_type, last_updated_at, id);
CREATE INDEX IF NOT EXISTS incidents_network_created ON incidents (dataspace, network_id, process_type, created_at, id);
CREATE INDEX IF NOT EXISTS incidents_partner_number ON incidents (dataspace, partner_id, number) WHERE partner_id <> '';
CREATE INDEX IF NOT EXISTS incidents_network_number ON incidents (dataspace, network_id, process_type, number);
CREATE VIRTUAL TABLE IF NOT EXISTS incident_text USING fts5(summary, description, content='', detail=none, tokenize='unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS incident_text_pending (
	incident_rowid INTEGER PRIMARY KEY,
	indexed        INTEGER NOT NULL, -- 1: summary and description are in incident_text
	summary        TEXT,
	description    TEXT
);
CREATE TRIGGER IF NOT EXISTS incident_text_insert AFTER INSERT ON incidents BEGIN
	INSERT OR IGNORE INTO incident_text_pending (incident_rowid, indexed) VALUES (new.rowid, 0);
END;
CREATE TRIGGER IF NOT EXISTS incident_text_delete AFTER DELETE ON incidents BEGIN
	INSERT OR IGNORE INTO incident_text_pending (incident_rowid, indexed, summary, description)
	VALUES (old.rowid, 1, json_extract(old.data, '$.aptBusinessObjectSummary'), json_extract(old.data, '$.aptBusinessObjectDescription'));
END;
CREATE TRIGGER IF NOT EXISTS incident_text_update AFTER UPDATE OF data ON incidents
WHEN json_extract(old.data, '$.aptBusinessObjectSummary') IS NOT json_extract(new.data, '$.aptBusinessObjectSummary')
  OR json_extract(old.data, '$.aptBusinessObjectDescription') IS NOT json_extract(new.data, '$.aptBusinessObjectDescription')
BEGIN
	INSERT OR IGNORE INTO incident_text_pending (incident_rowid, indexed, summary, description)
	VALUES (old.rowid, 1, json_extract(old.data, '$.aptBusinessObjectSummary'), json_extract(old.data, '$.aptBusinessObjectDescription'));
END;
`

// feedV4 is the change feed layout version 4 added (ListFeed): one row
// per committed change, written in the change's own transaction, its seq
// given in commit order by the one writer; and the feed of a company by
// owner, by partner and by network and kind.
const feedV4 = `
CREATE TABLE IF NOT EXISTS feed (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	dataspace     TEXT NOT NULL,
	incident_id   TEXT NOT NULL,
	process_type  TEXT NOT NULL,
	owner_id      TEXT NOT NULL,
	partner_id    TEXT NOT NULL,
	network_id    TEXT NOT NULL,
	data_version  INTEGER NOT NULL,
	event_name    TEXT NOT NULL,
	license_plate TEXT NOT NULL,
	at            INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_owner ON feed (dataspace, owner_id, seq);
CREATE INDEX IF NOT EXISTS feed_partner ON feed (dataspace, partner_id, seq) WHERE partner_id <> '';
CREATE INDEX IF NOT EXISTS feed_network ON feed (dataspace, network_id, process_type, seq);
`

// webhooksV5 is the webhook layout version 5 added: the subscriptions,
// a company's by its id; and their deliveries, each subscription's by
// seq, its pending ones on their own, and the finished ones by time for
// pruning. A delivery's attempts are JSON in its row, bounded by
// store.MaxDeliveryAttempts.
const webhooksV5 = `
CREATE TABLE IF NOT EXISTS webhooks (
	id              TEXT PRIMARY KEY,
	dataspace       TEXT NOT NULL,
	company_id      TEXT NOT NULL,
	url             TEXT NOT NULL,
	secret          TEXT NOT NULL,
	kinds           TEXT NOT NULL, -- JSON array
	events          TEXT NOT NULL, -- JSON array
	created_at      INTEGER NOT NULL,
	cursor          INTEGER NOT NULL,
	disabled_at     INTEGER NOT NULL,
	disabled_reason TEXT NOT NULL,
	lease_owner     TEXT NOT NULL,
	lease_until     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhooks_company ON webhooks (dataspace, company_id, created_at);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
	id               TEXT PRIMARY KEY,
	webhook_id       TEXT NOT NULL,
	seq              INTEGER NOT NULL,
	object_id        TEXT NOT NULL,
	kind             TEXT NOT NULL,
	data_version     INTEGER NOT NULL,
	event_name       TEXT NOT NULL,
	license_plate    TEXT NOT NULL,
	at               INTEGER NOT NULL,
	state            TEXT NOT NULL,
	first_attempt_at INTEGER NOT NULL,
	next_attempt_at  INTEGER NOT NULL,
	attempt_count    INTEGER NOT NULL,
	attempts         TEXT NOT NULL -- JSON array
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_deliveries_seq ON webhook_deliveries (webhook_id, seq);
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_finished ON webhook_deliveries (at) WHERE state <> 'pending';
`

// flushText brings the full-text index up to date with the objects the
// transaction's writes noted in incident_text_pending.
const flushText = `
INSERT INTO incident_text (incident_text, rowid, summary, description)
	SELECT 'delete', incident_rowid, summary, description FROM incident_text_pending WHERE indexed = 1;
INSERT INTO incident_text (rowid, summary, description)
	SELECT i.rowid, json_extract(i.data, '$.aptBusinessObjectSummary'), json_extract(i.data, '$.aptBusinessObjectDescription')
	FROM incident_text_pending p JOIN incidents i ON i.rowid = p.incident_rowid;
DELETE FROM incident_text_pending;
`

// migrations bring a database of an older layout to the current one: the
// statements at index v take version v+1 to v+2, run in one transaction
// with the new user_version (migrateStep). A migration only adds: columns
// with a default every existing row takes (or a value computed from the
// row's other columns), and indexes.
var migrations = []string{
	// 1 -> 2: the catalogue past incidents: a child's parent (incidents
	// with their children's index), a company's master data, and comments
	// found by their id alone.
	`ALTER TABLE incidents ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN master TEXT NOT NULL DEFAULT '';` + indexesV2,
	// 2 -> 3: users with ids and name parts: an existing user's id is its
	// username (the id its bearer calls have acted as); its name parts
	// stay empty, and read back as its name split (store.User.WithDefaults).
	`ALTER TABLE users ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN surname TEXT NOT NULL DEFAULT '';
UPDATE users SET user_id = username;` + indexesV3,
	// 3 -> 4: search: the indexes, and the text of every existing object
	// in the full-text index; and the change feed, which starts empty.
	feedV4 + searchV4 + `INSERT INTO incident_text (rowid, summary, description)
SELECT rowid, json_extract(data, '$.aptBusinessObjectSummary'), json_extract(data, '$.aptBusinessObjectDescription') FROM incidents;`,
	// 4 -> 5: webhook subscriptions and their deliveries, which start
	// empty.
	webhooksV5,
}
