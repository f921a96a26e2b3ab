// Package mongodb is the MongoDB store of scwm-gateway: the records of
// package store kept in a MongoDB deployment (standalone, replica set or
// sharded cluster) through go.mongodb.org/mongo-driver/v2, for several
// gateways that share one database.
//
// It uses no multi-document transaction and holds nothing in memory that
// is right only while this process is the one gateway: every rule that
// spans documents is kept by the order of the writes and by conditions the
// server checks. A change of an incident is committed by one insert, of
// its history entry, which carries the whole change until it is applied
// (see WriteChange and docs/storage.md): a gateway that dies halfway
// leaves a change that any gateway completes when it meets it.
//
// Every query names the index it runs on (a hint), so that a missing index
// is an error instead of a scan of the collection.
package mongodb
