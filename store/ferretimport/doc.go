// Package ferretimport reads the data directory of a FerretDB-era gateway
// (an embedded FerretDB v1.24 on SQLite) and gives its dataset as the
// records of the new model (store.Record), so that a store can import it:
// store/sqlite does on its first start in such a directory, and
// `scwm-gateway import` on request.
//
// It reads the SQLite file directly, without FerretDB, and never writes to
// the old files: Detect says whether a directory holds such a database,
// Read streams its records in the order store.Export gives them.
//
// FerretDB v1.24 keeps each collection as a table of JSON documents with a
// schema of their BSON types (see decodeSJSON) and maps collection names to
// table names in its catalogue table _ferretdb_collections. The gateway's
// collections were companies, networks, clients, sequences, users,
// oauth_clients, oauth_tokens, idempotency and incident_versions, an
// incident stored as one document per version (see versionsCollection).
package ferretimport
