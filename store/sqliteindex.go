package store

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses
)

// indexIDLookups gives every collection table in the embedded store's
// SQLite files an index on the exact expression FerretDB v1.24 looks
// documents up by.
//
// FerretDB indexes _id as `_ferretdb_sjson->"_id"` but finds, updates and
// deletes by `_ferretdb_sjson->'$._id'`. SQLite uses an expression index
// only for the identical expression, so every lookup by _id scanned the
// whole table, parsing every document's JSON: an edit grew slower with
// every incident stored. The extra index makes those lookups indexed, and
// replaces FerretDB's own _id index. FerretDB does not know the change: its
// catalogue still lists the _id index, which only listIndexes shows; the new
// index goes with the table if FerretDB drops it. It runs while FerretDB is
// not yet started.
func indexIDLookups(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := indexIDLookupsIn(f); err != nil {
			return fmt.Errorf("index _id lookups in %s: %w", f, err)
		}
	}
	return nil
}

func indexIDLookupsIn(file string) error {
	dsn := (&url.URL{Scheme: "file", Path: file, RawQuery: "_pragma=busy_timeout(10000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var catalogue int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_ferretdb_collections'`).Scan(&catalogue); err != nil {
		return err
	}
	if catalogue == 0 {
		return nil
	}
	rows, err := db.Query(`SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`,
			quoteIdent(t+"_scwm_id_lookup"), quoteIdent(t))
		if _, err := db.Exec(q); err != nil {
			return err
		}
		// FerretDB's own _id index is then of no use to any lookup, and
		// every write paid for it: keeping it parsed each written document
		// once more. The new index is unique too, and FerretDB reports any
		// unique violation as a duplicate _id, as before.
		if _, err := db.Exec(fmt.Sprintf(`DROP INDEX IF EXISTS %s`, quoteIdent(t+"__id_"))); err != nil {
			return err
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
