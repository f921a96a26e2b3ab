package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// exportData writes the whole dataset of the store the flags name as
// newline-delimited JSON (store.ExportNDJSON) to --out or stdout: for a
// move to another store, a snapshot of a test harness's state, or a person
// who wants to read what the gateway holds.
func exportData(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, sf, log := storeCommand("export", getenv, stderr)
	out := fs.String("out", "-", "file to write the dataset to; - is stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export takes no arguments, got %q", fs.Args())
	}
	st, err := sf.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	w := stdout
	if *out != "-" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer f.Close()
		w = f
	}
	n, err := store.ExportNDJSON(ctx, w, st)
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && w != stdout {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	fmt.Fprintf(stderr, "exported %d records from %s\n", n, st.Describe())
	return nil
}

// errNotEmpty refuses an import into a store that holds data already.
var errNotEmpty = errors.New("the store holds data already")

// importData reads a dataset written by export (from --in or stdin) into
// the store the flags name, which must be empty: an import is a move or a
// restore, never a merge of two datasets.
func importData(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stderr io.Writer) error {
	fs, sf, log := storeCommand("import", getenv, stderr)
	in := fs.String("in", "-", "file to read the dataset from; - is stdin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("import takes no arguments, got %q", fs.Args())
	}
	r := stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	sf.owner = true
	st, err := sf.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	empty, err := isEmpty(ctx, st)
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("import into %s: %w: import into a new --data-dir or an empty database", st.Describe(), errNotEmpty)
	}
	n, err := store.ImportNDJSON(ctx, r, st)
	if err != nil {
		return fmt.Errorf("%w (after %d records; the store holds a partial dataset: start again with an empty one)", err, n)
	}
	fmt.Fprintf(stderr, "imported %d records into %s\n", n, st.Describe())
	return nil
}

// isEmpty reports whether the store holds no record at all.
func isEmpty(ctx context.Context, st store.Exporter) (bool, error) {
	found := errors.New("found a record")
	err := st.Export(ctx, func(store.Record) error { return found })
	if errors.Is(err, found) {
		return false, nil
	}
	return err == nil, err
}
