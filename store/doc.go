// Package store keeps scwm-gateway's data in MongoDB through
// go.mongodb.org/mongo-driver/v2: companies, networks, API clients,
// per-company sequences, incidents (one document per version), idempotency
// records, and the users, OAuth clients and tokens of the REST surface.
//
// With no MongoDB URI it starts an embedded FerretDB (SQLite files in a data
// directory) in-process and talks to it over the same wire protocol, so one
// code path serves both. It therefore relies only on what both support:
// single-document atomic writes, unique indexes, findOneAndUpdate and bulk
// writes; no multi-document transactions. Where FerretDB v1.24 falls short,
// the store makes up for it rather than leaving it to callers: its updates
// of one document are not atomic under concurrency (see docLocks); it
// applies $setOnInsert to existing documents (see insertOrUpdate); it has no
// TTL indexes, so expired idempotency keys and tokens are swept
// (ExpireIdempotencyKeys, ExpireTokens); its SQLite takes one writer at a
// time (see writeTurn and groupInserter); and it decodes every document for
// any query not by _id (so the latest version is found by _id, see
// latestVersion, and versions are kept compact, see compactVersion).
//
// The store applies no rule of the domain: a change arrives as the next
// version, planned by the caller, and is written once or refused with
// ErrConflict (WriteVersion).
//
// store knows nothing of HTTP, Echo or the SCWM envelope, and never imports
// handlers.
package store
