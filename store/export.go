package store

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
)

// Kinds of Record, in the order Export writes them: a record refers only to
// records of kinds before it.
const (
	KindCompany     = "company"
	KindNetwork     = "network"
	KindClient      = "client"
	KindSequence    = "sequence"
	KindUser        = "user"
	KindOAuthClient = "oauthClient"
	KindToken       = "token"
	KindIncident    = "incident"
	KindComment     = "comment"
	KindActivity    = "activity"
	KindIdempotency = "idempotency"
)

// Record is one record of a dataset as it moves between stores (Export,
// Import): its kind, the incident it belongs to (comments and history
// entries), and the record itself, one of *Company, *Network, *Client,
// *Sequence, *User, *OAuthClient, *Token, *Incident (without comments and
// history), *Comment, *Activity, *IdempotencyRecord.
type Record struct {
	Kind       string `json:"kind"`
	IncidentID string `json:"incidentId,omitempty"`
	Value      any    `json:"value"`
}

// Sequence is a counter's value as exported.
type Sequence struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

// Exporter is a store whose whole dataset can be read as records.
type Exporter interface {
	// Export calls emit with every record the store holds, kinds in the
	// order of the Kind constants; it stops at emit's first error.
	Export(ctx context.Context, emit func(Record) error) error
}

// Importer is a store records can be written into.
type Importer interface {
	// Import writes records as they are (a record of a key that is held
	// already replaces it). Records come in the order Export gives them.
	Import(ctx context.Context, records []Record) error
}

// exportFormat names the stream in its first line, so that a file of
// something else is refused at once.
const exportFormat = "scwm-gateway-export"

// exportVersion is the stream's version; Import refuses newer ones.
const exportVersion = 1

type streamHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// ExportNDJSON writes src's dataset to w as newline-delimited JSON: a
// header line, then one Record a line. A person can read it, grep it and
// cut it; ImportNDJSON reads it back into any store.
func ExportNDJSON(ctx context.Context, w io.Writer, src Exporter) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(streamHeader{Format: exportFormat, Version: exportVersion}); err != nil {
		return 0, err
	}
	var n int64
	err := src.Export(ctx, func(r Record) error {
		n++
		return enc.Encode(r)
	})
	if err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, bw.Flush()
}

// importBatch is how many records ImportNDJSON hands the store at once.
const importBatch = 1000

// maxRecordLine bounds one line of an export stream.
const maxRecordLine = 64 << 20

// ImportNDJSON reads a stream written by ExportNDJSON into dst and returns
// how many records it wrote.
func ImportNDJSON(ctx context.Context, r io.Reader, dst Importer) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxRecordLine)
	line := 0
	if !sc.Scan() {
		return 0, cmp.Or(sc.Err(), errors.New("import: the stream is empty"))
	}
	line++
	var h streamHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != exportFormat {
		return 0, fmt.Errorf("import: line 1 is not the header of a scwm-gateway export (%q)", truncate(sc.Text()))
	}
	if h.Version > exportVersion {
		return 0, fmt.Errorf("import: the stream is version %d of the export format; this gateway reads up to %d", h.Version, exportVersion)
	}
	return ImportFrom(ctx, dst, func(emit func(Record) error) error {
		for sc.Scan() {
			line++
			if len(strings.TrimSpace(sc.Text())) == 0 {
				continue
			}
			rec, err := DecodeRecord(sc.Bytes())
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			if err := emit(rec); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("line %d: %w", line+1, err)
		}
		return nil
	})
}

// ImportFrom writes the records source emits into dst, importBatch at a
// time, and returns how many it wrote.
func ImportFrom(ctx context.Context, dst Importer, source func(emit func(Record) error) error) (int64, error) {
	var n int64
	batch := make([]Record, 0, importBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.Import(ctx, batch); err != nil {
			return err
		}
		n += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	err := source(func(r Record) error {
		batch = append(batch, r)
		if len(batch) == importBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("import: %w", err)
	}
	return n, nil
}

// DecodeRecord reads one line of an export stream.
func DecodeRecord(line []byte) (Record, error) {
	var raw struct {
		Kind       string          `json:"kind"`
		IncidentID string          `json:"incidentId"`
		Value      json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Record{}, err
	}
	var v any
	switch raw.Kind {
	case KindCompany:
		v = &Company{}
	case KindNetwork:
		v = &Network{}
	case KindClient:
		v = &Client{}
	case KindSequence:
		v = &Sequence{}
	case KindUser:
		v = &User{}
	case KindOAuthClient:
		v = &OAuthClient{}
	case KindToken:
		v = &Token{}
	case KindIncident:
		v = &Incident{}
	case KindComment:
		v = &Comment{}
	case KindActivity:
		v = &Activity{}
	case KindIdempotency:
		v = &IdempotencyRecord{}
	default:
		return Record{}, fmt.Errorf("unknown record kind %q", raw.Kind)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw.Value)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return Record{}, fmt.Errorf("%s record: %w", raw.Kind, err)
	}
	if (raw.Kind == KindComment || raw.Kind == KindActivity) && raw.IncidentID == "" {
		return Record{}, fmt.Errorf("%s record without incidentId", raw.Kind)
	}
	plainNumbers(v)
	return Record{Kind: raw.Kind, IncidentID: raw.IncidentID, Value: v}, nil
}

// plainNumbers turns the json.Numbers of free-form values into the int64
// or float64 the stores hold.
func plainNumbers(v any) {
	switch r := v.(type) {
	case *Incident:
		if r.Data != nil {
			r.Data = jsonvalue.Plain(r.Data).(map[string]any)
		}
	case *Comment:
		for i, a := range r.Attachments {
			r.Attachments[i] = jsonvalue.Plain(a).(map[string]any)
		}
	case *Activity:
		if r.Detail != nil {
			r.Detail = jsonvalue.Plain(r.Detail).(map[string]any)
		}
	}
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
