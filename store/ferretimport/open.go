package ferretimport

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself used
)

// DefaultDatabase is the database name the FerretDB-era gateway used
// unless --database said otherwise: its file is scwm.sqlite.
const DefaultDatabase = "scwm"

// fileExt is the extension FerretDB v1.24 gives the SQLite file of each
// database: a data directory holds one <database>.sqlite per database.
const fileExt = ".sqlite"

// catalogue is the table in which FerretDB v1.24 maps each collection to
// the table holding its documents.
const catalogue = "_ferretdb_collections"

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// Detect reports whether dir holds a database of the FerretDB-era gateway:
// a <name>.sqlite file that FerretDB v1.24 wrote (an SQLite database with
// FerretDB's catalogue table, _ferretdb_collections), whatever its name
// (the old --database). A missing or empty dir, an empty file, a file that
// is not SQLite and an SQLite database of anything else are not one. A
// file that starts as an SQLite database but cannot be read is an error,
// not "no database": it may be a damaged FerretDB-era one, which must not
// be taken for an empty start. Detect writes nothing (see openFile).
func Detect(dir string) (bool, error) {
	dbs, err := databases(dir)
	return len(dbs) > 0, err
}

// databases lists the names of the FerretDB databases in dir.
func databases(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(globEscape(dir), "*"+fileExt))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, file := range files {
		if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() {
			continue
		}
		ok, err := isFerretDB(file)
		if err != nil {
			return names, err
		}
		if ok {
			names = append(names, strings.TrimSuffix(filepath.Base(file), fileExt))
		}
	}
	return names, nil
}

// globEscape quotes the glob metacharacters of a directory name.
func globEscape(dir string) string {
	var b strings.Builder
	for _, r := range dir {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isFerretDB reports whether file is an SQLite database with FerretDB's
// catalogue. An empty file is no database; a file of another kind is not
// FerretDB's.
func isFerretDB(file string) (bool, error) {
	head, err := readHead(file)
	if err != nil {
		return false, err
	}
	// Without a log to recover, a file that is not SQLite (an empty one
	// included) is no database; with one, the database may be in the log
	// still.
	if len(hotLogs(file)) == 0 && !bytes.HasPrefix(head, sqliteMagic) {
		return false, nil
	}
	db, cleanup, err := openFile(file)
	if err != nil {
		return false, err
	}
	defer cleanup()
	var n int
	err = db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, catalogue).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	return n > 0, nil
}

// readHead reads the first 100 bytes of file (an SQLite header), fewer if
// it is shorter.
func readHead(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 100)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// checkHeader refuses a file that is not an SQLite database, or is shorter
// than its header says (cut off by a copy or a full disk).
func checkHeader(file string) error {
	head, err := readHead(file)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(head, sqliteMagic) || len(head) < 100 {
		return fmt.Errorf("%s is not an SQLite database", file)
	}
	pageSize := int64(binary.BigEndian.Uint16(head[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(binary.BigEndian.Uint32(head[28:32]))
	// The page count is valid when the change counter matches the
	// version-valid-for number (SQLite's file format).
	if pages == 0 || !bytes.Equal(head[24:28], head[92:96]) {
		return nil
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	if want := pages * pageSize; st.Size() < want {
		return fmt.Errorf("%s is truncated: %d bytes, its header says %d", file, st.Size(), want)
	}
	return nil
}

// openFile opens an SQLite file without writing to it or beside it.
//
// A database the old gateway closed cleanly is the file alone: it is
// opened immutable (no locks, no -shm, no -wal: SQLite writes nothing).
// After an unclean stop (a kill, a crash) committed transactions may still
// be in the write-ahead log <file>-wal (or a rollback journal); SQLite
// would write to the directory to recover them, so the file and its log
// are copied into a temporary directory and the copy is opened instead.
// cleanup closes the database and removes any copy.
func openFile(file string) (db *sql.DB, cleanup func(), err error) {
	open := file
	var tmp string
	removeTmp := func() {
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
	}
	logs := hotLogs(file)
	query := "mode=ro&immutable=1"
	if len(logs) > 0 {
		tmp, err = os.MkdirTemp("", "ferretimport-")
		if err != nil {
			return nil, nil, fmt.Errorf("copy %s to recover its log: %w", file, err)
		}
		open = filepath.Join(tmp, filepath.Base(file))
		for _, suffix := range append([]string{""}, logs...) {
			if err := copyFile(file+suffix, open+suffix); err != nil {
				removeTmp()
				return nil, nil, fmt.Errorf("copy %s to recover its log: %w", file, err)
			}
		}
		// The copy is ours: SQLite may recover the log into it.
		query = ""
	}
	abs, err := filepath.Abs(open)
	if err != nil {
		removeTmp()
		return nil, nil, err
	}
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: query}).String()
	db, err = sql.Open("sqlite", dsn)
	if err != nil {
		removeTmp()
		return nil, nil, err
	}
	// One connection: every query sees the same snapshot, and the
	// temporary copy is recovered once.
	db.SetMaxOpenConns(1)
	return db, func() { _ = db.Close(); removeTmp() }, nil
}

// hotLogs lists the suffixes of the logs beside file that may hold
// transactions not yet in it: a non-empty write-ahead log or rollback
// journal.
func hotLogs(file string) []string {
	var logs []string
	for _, suffix := range []string{"-wal", "-journal"} {
		if st, err := os.Stat(file + suffix); err == nil && st.Size() > 0 {
			logs = append(logs, suffix)
		}
	}
	return logs
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// openDatabase opens the FerretDB database named database in dir and
// checks that it is one.
func openDatabase(ctx context.Context, dir, database string) (*sql.Conn, func(), error) {
	if database == "" {
		database = DefaultDatabase
	}
	file := filepath.Join(dir, database+fileExt)
	if _, err := os.Stat(file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			found, _ := databases(dir)
			if len(found) > 0 {
				return nil, nil, fmt.Errorf("no FerretDB database %q in %s (it holds %s): %w", database, dir, strings.Join(found, ", "), err)
			}
		}
		return nil, nil, err
	}
	if len(hotLogs(file)) == 0 {
		if err := checkHeader(file); err != nil {
			return nil, nil, err
		}
	}
	db, cleanup, err := openFile(file)
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("open %s: %w", file, err)
	}
	done := func() { _ = conn.Close(); cleanup() }
	var n int
	err = conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, catalogue).Scan(&n)
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("read %s: %w", file, err)
	}
	if n == 0 {
		done()
		return nil, nil, fmt.Errorf("%s is not a FerretDB database: it has no %s table", file, catalogue)
	}
	return conn, done, nil
}

// tables maps each collection of the database to its table.
func tables(ctx context.Context, conn *sql.Conn) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name, table_name FROM "`+catalogue+`"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, table string
		if err := rows.Scan(&name, &table); err != nil {
			return nil, err
		}
		out[name] = table
	}
	return out, rows.Err()
}

// idOrder is the expression that orders a table by _id through one of its
// indexes: the old gateway's own (on the expression FerretDB looks _id up
// by) or, in a database it never opened, FerretDB's. Both give the _id's
// JSON text, so the order is the same; without either SQLite sorts.
func idOrder(ctx context.Context, conn *sql.Conn, table string) (string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var defs []string
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			return "", err
		}
		defs = append(defs, def)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	candidates := []string{`_ferretdb_sjson->'$._id'`, `_ferretdb_sjson->"_id"`}
	for _, expr := range candidates {
		if slices.ContainsFunc(defs, func(def string) bool { return strings.HasSuffix(def, "("+expr+")") }) {
			return expr, nil
		}
	}
	return candidates[0], nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
