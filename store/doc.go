// Package store keeps scwm-gateway's data in MongoDB through
// go.mongodb.org/mongo-driver/v2: companies, networks, API clients,
// per-company sequences and incident documents.
//
// With no MongoDB URI it starts an embedded FerretDB (SQLite files in a data
// directory) in-process and talks to it over the same wire protocol, so one
// code path serves both. It therefore uses only what both support:
// single-document atomic writes, unique indexes, findOneAndUpdate and bulk
// writes; no multi-document transactions and no TTL indexes. Two gaps of
// FerretDB v1.24 are closed here rather than left to callers: its updates of
// one document are not atomic under concurrency (see docLocks), and it applies
// $setOnInsert to existing documents (see insertOrUpdate).
//
// store knows nothing of HTTP, Echo or the SCWM envelope, and never imports
// handlers.
package store
