package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/ferretimport"
)

// importDirPrefix names the directory a FerretDB-era dataset is imported
// into before it becomes the store.
const importDirPrefix = ".import-"

// LegacyImport says what the store imported from a FerretDB-era database
// in its directory when it was opened: how many records, from which file;
// zero when it imported nothing.
type LegacyImport struct {
	Records int64
	From    string
}

// Imported is what Open imported from a FerretDB-era database, for the
// start-up log.
func (s *Store) Imported() LegacyImport { return s.imported }

// importLegacy makes a directory that holds a FerretDB-era database and no
// store yet hold both: the old dataset is read (ferretimport, which never
// writes the old files) into a new store in a scratch directory beside,
// and only once all of it is written does that store's file move into
// place. A start that dies midway leaves the scratch directory, which the
// next start removes before it begins again; it never starts empty, and
// an import that fails says why and what to do.
func importLegacy(ctx context.Context, cfg Config) (LegacyImport, error) {
	dir := cfg.DataDir
	if err := removeStaleImports(dir); err != nil {
		return LegacyImport{}, err
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil || !errors.Is(err, os.ErrNotExist) {
		return LegacyImport{}, err // a store exists (or cannot be told): nothing to import
	}
	found, err := ferretimport.Detect(dir)
	if err != nil {
		return LegacyImport{}, fmt.Errorf("%s may hold a database of an earlier gateway (FerretDB), which cannot be read: %w; "+
			"move the data directory away to start empty, or repair the file", dir, err)
	}
	if !found {
		return LegacyImport{}, nil
	}
	scratch, err := os.MkdirTemp(dir, importDirPrefix)
	if err != nil {
		return LegacyImport{}, fmt.Errorf("import the earlier gateway's database: %w", err)
	}
	defer os.RemoveAll(scratch)
	into := cfg
	into.DataDir, into.CacheBytes, into.Beside = scratch, -1, false
	st, err := Open(ctx, into)
	if err != nil {
		return LegacyImport{}, fmt.Errorf("import the earlier gateway's database: %w", err)
	}
	n, err := store.ImportFrom(ctx, st, func(emit func(store.Record) error) error {
		return ferretimport.Read(ctx, dir, cfg.LegacyDatabase, emit)
	})
	if cerr := st.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return LegacyImport{}, fmt.Errorf("import the earlier gateway's database in %s: %w; its files are untouched: "+
			"fix the cause and start again, or run the earlier gateway's version to export what it can", dir, err)
	}
	// The closed store is one file (its log checkpointed): moving it is
	// the import's commit.
	if err := os.Rename(filepath.Join(scratch, FileName), filepath.Join(dir, FileName)); err != nil {
		return LegacyImport{}, fmt.Errorf("import the earlier gateway's database: %w", err)
	}
	return LegacyImport{Records: n, From: legacyFile(dir, cfg.LegacyDatabase)}, nil
}

func legacyFile(dir, database string) string {
	if database == "" {
		database = ferretimport.DefaultDatabase
	}
	return filepath.Join(dir, database+".sqlite")
}

// removeStaleImports removes what an import that died left behind.
func removeStaleImports(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), importDirPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove an unfinished import: %w", err)
			}
		}
	}
	return nil
}

// refuseUnimported stops a store opened beside the owner from creating a
// new store in a directory whose FerretDB-era database was never imported:
// the owner's first start would then find a store and import nothing.
func refuseUnimported(dir string) error {
	_, err := os.Stat(filepath.Join(dir, FileName))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	found, err := ferretimport.Detect(dir)
	if err != nil || !found {
		return err
	}
	return fmt.Errorf("%s holds the database of an earlier gateway (FerretDB) that is not imported yet: start `scwm-gateway serve` on it once, which imports it, then run this command", dir)
}
