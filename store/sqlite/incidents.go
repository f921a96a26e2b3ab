package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

const incidentColumns = `id, dataspace, owner_id, network_id, process_type, schema_version, data_version,
	created_by, last_updated_by, created_at, last_updated_at, state, number, partner_id, parent_id, data`

// incidentPlaceholders are the placeholders of an insert of incidentColumns.
const incidentPlaceholders = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

// incidentArgs are an incident's values in the order of incidentColumns.
func incidentArgs(inc *store.Incident) ([]any, error) {
	data := inc.Data
	if data == nil {
		data = map[string]any{}
	}
	text, err := jsonText(data)
	if err != nil {
		return nil, fmt.Errorf("encode the data of incident %s: %w", inc.ID, err)
	}
	return []any{inc.ID, inc.Dataspace, inc.OwnerID, inc.NetworkID, inc.ProcessType, inc.SchemaVersion, inc.DataVersion,
		inc.CreatedByUserID, inc.LastUpdatedBy, inc.CreatedAt, inc.LastUpdatedAt, inc.CurrentBaseState, inc.Number,
		inc.PartnerID, inc.ParentID, text}, nil
}

// scanIncident reads a row of incidentColumns.
func scanIncident(row interface{ Scan(...any) error }) (*store.Incident, error) {
	inc, err := scanRecord(row)
	if err != nil {
		return nil, err
	}
	if err := decodeInto(inc); err != nil {
		return nil, err
	}
	return inc, nil
}

// scanRecord reads a row of incidentColumns without decoding its data: the
// record has the data's text (DataText) and no Data.
func scanRecord(row interface{ Scan(...any) error }) (*store.Incident, error) {
	var inc store.Incident
	var data string
	err := row.Scan(&inc.ID, &inc.Dataspace, &inc.OwnerID, &inc.NetworkID, &inc.ProcessType, &inc.SchemaVersion,
		&inc.DataVersion, &inc.CreatedByUserID, &inc.LastUpdatedBy, &inc.CreatedAt, &inc.LastUpdatedAt,
		&inc.CurrentBaseState, &inc.Number, &inc.PartnerID, &inc.ParentID, &data)
	if err != nil {
		return nil, err
	}
	inc.SetDataText(data)
	return &inc, nil
}

// decodeInto fills the Data of a record of scanRecord from its text.
func decodeInto(inc *store.Incident) error {
	text := inc.DataText()
	data, err := jsonvalue.DecodeObject(text)
	if err != nil {
		return fmt.Errorf("decode the data of incident %s: %w", inc.ID, err)
	}
	inc.Data = data
	inc.SetDataText(text)
	return nil
}

// InsertIncident stores a new incident (DataVersion 1) with the comments
// it starts with and its first history entry, inc.Activities[0], in one
// transaction; ErrDuplicate if the id is taken.
func (s *Store) InsertIncident(ctx context.Context, inc *store.Incident) error {
	if len(inc.Activities) != 1 {
		return fmt.Errorf("insert incident %s: %d history entries, want the one of its creation", inc.ID, len(inc.Activities))
	}
	args, err := incidentArgs(inc)
	if err != nil {
		return err
	}
	comments := make([]store.Comment, len(inc.Comments))
	commentTexts := make([]string, len(inc.Comments))
	for i, c := range inc.Comments {
		c.Position = store.CommentPosition(inc.DataVersion, i)
		comments[i] = c
		if commentTexts[i], err = jsonText(c); err != nil {
			return fmt.Errorf("insert incident %s: encode comment: %w", inc.ID, err)
		}
	}
	activity := inc.Activities[0]
	activity.DataVersion = inc.DataVersion
	activityText, err := jsonText(activity)
	if err != nil {
		return fmt.Errorf("insert incident %s: encode its history: %w", inc.ID, err)
	}
	s.recordClaim(s.claims.ofWrite(ctx))
	err = s.write(ctx, "insert incident", func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.writer.exec(ctx, tx, "INSERT INTO incidents ("+incidentColumns+") VALUES "+incidentPlaceholders, args...); err != nil {
			return err
		}
		for i, c := range comments {
			if _, err := s.writer.exec(ctx, tx, "INSERT INTO comments (incident_id, position, comment_id, body) VALUES (?,?,?,?)",
				inc.ID, c.Position, c.ID, commentTexts[i]); err != nil {
				return err
			}
		}
		_, err := s.writer.exec(ctx, tx, "INSERT INTO activities (incident_id, data_version, license_plate, body) VALUES (?,?,?,?)",
			inc.ID, activity.DataVersion, activity.LicensePlate, activityText)
		if err != nil {
			return err
		}
		return s.appendFeed(ctx, tx, inc, activity)
	})
	if err != nil {
		return err
	}
	s.cacheWritten(inc, args)
	return nil
}

// cacheWritten caches the record a write just stored, as the cache keeps
// records (incidentCache): with the data's text, the last of its
// incidentArgs, and no Data.
func (s *Store) cacheWritten(inc *store.Incident, args []any) {
	if s.cache == nil {
		return
	}
	c := *inc
	c.Data, c.Comments, c.Activities = nil, nil, nil
	c.SetDataText(args[len(args)-1].(string))
	s.cache.put(&c)
}

// FindIncident returns the incident with this id in this dataspace, or
// ErrNotFound. with selects whether comments and history are returned too,
// and whether the data may come as its text alone (store.DataAsText).
func (s *Store) FindIncident(ctx context.Context, dataspace, id string, with store.Include) (*store.Incident, error) {
	inc, ok := s.cache.get(id)
	if !ok || with&^store.DataAsText != 0 {
		// A cached record costs no database operation; the rest does.
		var cancel context.CancelFunc
		ctx, cancel = s.operation(ctx)
		defer cancel()
	}
	if !ok {
		gen := s.cache.generation(id)
		row, err := s.queryRow(ctx, "SELECT "+incidentColumns+" FROM incidents WHERE id = ?", id)
		if err != nil {
			return nil, store.Wrap("find incident", s.classify(err))
		}
		found, err := scanRecord(row)
		if err != nil {
			return nil, store.Wrap("find incident", s.classify(err))
		}
		s.cache.putIfUnchanged(found, gen)
		inc = found
	}
	if inc.Dataspace != dataspace {
		return nil, fmt.Errorf("find incident: %w", store.ErrNotFound)
	}
	out := *inc
	if with&store.DataAsText == 0 {
		if err := decodeInto(&out); err != nil {
			return nil, err
		}
	}
	if with&store.WithComments != 0 {
		comments, err := s.allComments(ctx, id)
		if err != nil {
			return nil, err
		}
		out.Comments = comments
	}
	if with&store.WithActivities != 0 {
		history, err := s.allActivities(ctx, id)
		if err != nil {
			return nil, err
		}
		out.Activities = history
	}
	return &out, nil
}

// listPage is how many rows a read of a whole list fetches at a time.
const listPage = 500

func (s *Store) allComments(ctx context.Context, id string) ([]store.Comment, error) {
	return allPages(-1, func(after int64) ([]store.Comment, error) { return s.ListComments(ctx, id, after, listPage) },
		func(c store.Comment) int64 { return c.Position })
}

func (s *Store) allActivities(ctx context.Context, id string) ([]store.Activity, error) {
	return allPages(0, func(after int64) ([]store.Activity, error) { return s.ListActivities(ctx, id, after, listPage) },
		func(a store.Activity) int64 { return a.DataVersion })
}

// allPages reads a whole list a page of listPage at a time: list gives the
// page after a key, key says an element's.
func allPages[T any](first int64, list func(after int64) ([]T, error), key func(T) int64) ([]T, error) {
	var out []T
	for after := first; ; {
		page, err := list(after)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < listPage {
			return out, nil
		}
		after = key(page[len(page)-1])
	}
}

// FindChildren lists the objects whose ParentID is parentID in the
// dataspace, oldest first (by creation time, then id), with their data but
// not their comments or history: one range read of incidents_parent. It
// gives the oldest store.MaxChildren and leaves out any beyond them; an
// unknown parent has none.
func (s *Store) FindChildren(ctx context.Context, dataspace, parentID string) ([]*store.Incident, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if parentID == "" {
		return nil, nil
	}
	// parent_id <> '' lets the query use the partial index.
	rows, err := s.query(ctx, "SELECT "+incidentColumns+" FROM incidents WHERE dataspace = ? AND parent_id = ? AND parent_id <> '' ORDER BY created_at, id LIMIT ?",
		dataspace, parentID, store.MaxChildren)
	if err != nil {
		return nil, store.Wrap("find children", s.classify(err))
	}
	defer rows.Close()
	var out []*store.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, store.Wrap("find children", s.classify(err))
		}
		out = append(out, inc)
	}
	return out, store.Wrap("find children", s.classify(rows.Err()))
}

// FindCommentByID finds a comment by its id alone, with the id of the
// object it is on, or ErrNotFound: one read of comments_comment_id. Should
// several objects have a comment of that id, it is the one of the object
// whose id sorts first.
func (s *Store) FindCommentByID(ctx context.Context, commentID string) (string, *store.Comment, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT incident_id, body FROM comments WHERE comment_id = ? ORDER BY incident_id LIMIT 1", commentID)
	if err != nil {
		return "", nil, store.Wrap("find comment", s.classify(err))
	}
	var id, text string
	if err := row.Scan(&id, &text); err != nil {
		return "", nil, store.Wrap("find comment", s.classify(err))
	}
	c, err := decodeComment(text)
	if err != nil {
		return "", nil, fmt.Errorf("decode comment %s: %w", commentID, err)
	}
	return id, &c, nil
}

// FindComment loads one comment of an incident, or ErrNotFound.
func (s *Store) FindComment(ctx context.Context, incidentID, commentID string) (*store.Comment, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT body FROM comments WHERE incident_id = ? AND comment_id = ?", incidentID, commentID)
	if err != nil {
		return nil, store.Wrap("find comment", s.classify(err))
	}
	var text string
	if err := row.Scan(&text); err != nil {
		return nil, store.Wrap("find comment", s.classify(err))
	}
	c, err := decodeComment(text)
	if err != nil {
		return nil, fmt.Errorf("decode comment %s: %w", commentID, err)
	}
	return &c, nil
}

// ListComments lists up to limit comments of an incident after the
// position after, in the order they were added: one range read of the
// comments' primary key.
func (s *Store) ListComments(ctx context.Context, incidentID string, after int64, limit int) ([]store.Comment, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	rows, err := s.query(ctx, "SELECT body FROM comments WHERE incident_id = ? AND position > ? ORDER BY position LIMIT ?", incidentID, after, limit)
	if err != nil {
		return nil, store.Wrap("list comments", s.classify(err))
	}
	defer rows.Close()
	var out []store.Comment
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return nil, store.Wrap("list comments", s.classify(err))
		}
		c, err := decodeComment(text)
		if err != nil {
			return nil, fmt.Errorf("decode a comment of incident %s: %w", incidentID, err)
		}
		out = append(out, c)
	}
	return out, store.Wrap("list comments", s.classify(rows.Err()))
}

// ListActivities lists up to limit history entries of an incident after
// the version after, oldest first: one range read of the history's primary
// key.
func (s *Store) ListActivities(ctx context.Context, incidentID string, after int64, limit int) ([]store.Activity, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	rows, err := s.query(ctx, "SELECT body FROM activities WHERE incident_id = ? AND data_version > ? ORDER BY data_version LIMIT ?", incidentID, after, limit)
	if err != nil {
		return nil, store.Wrap("list history", s.classify(err))
	}
	defer rows.Close()
	var out []store.Activity
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return nil, store.Wrap("list history", s.classify(err))
		}
		a, err := decodeActivity(text)
		if err != nil {
			return nil, fmt.Errorf("decode the history of incident %s: %w", incidentID, err)
		}
		out = append(out, a)
	}
	return out, store.Wrap("list history", s.classify(rows.Err()))
}

// errMissingComment is a change's replacement of a comment the incident
// does not have.
var errMissingComment = errors.New("no such comment")

// WriteChange writes a change (see store.Change) in one transaction: the
// incident's new state on condition that it is still at the version the
// change was planned from, the comments it adds and replaces, and its
// history entry. Otherwise it answers ErrConflict (or ErrNotFound) and
// writes nothing.
func (s *Store) WriteChange(ctx context.Context, ch store.Change) error {
	next := ch.Incident
	if next == nil || next.DataVersion < 2 {
		return fmt.Errorf("write change: a change writes version 2 or later")
	}
	args, err := incidentArgs(next)
	if err != nil {
		return err
	}
	type commentRow struct {
		c    store.Comment
		text string
	}
	added := make([]commentRow, len(ch.AddComments))
	for i, c := range ch.AddComments {
		c.Position = store.CommentPosition(next.DataVersion, i)
		added[i].c = c
		if added[i].text, err = jsonText(c); err != nil {
			return fmt.Errorf("write change: encode comment: %w", err)
		}
	}
	replaced := make([]commentRow, len(ch.ReplaceComments))
	for i, c := range ch.ReplaceComments {
		replaced[i].c = c
	}
	activity := ch.Activity
	activity.DataVersion = next.DataVersion
	activityText, err := jsonText(activity)
	if err != nil {
		return fmt.Errorf("write change: encode its history: %w", err)
	}
	// Readers in flight may have fetched the old state: they must not
	// cache it.
	s.cache.changing(next.ID)
	// Only the columns a change may change are set, so that SQLite leaves
	// alone the indexes of the others (an object's owner, network, kind,
	// number, parent and creation never change); the partner, which few
	// changes change, is set apart, only when it differs. The condition is
	// the version before; the data is the last argument of incidentArgs.
	update := []any{next.SchemaVersion, next.DataVersion, next.LastUpdatedBy, next.LastUpdatedAt, next.CurrentBaseState,
		args[len(args)-1], next.ID, next.DataVersion - 1}
	s.recordClaim(s.claims.ofWrite(ctx))
	err = s.write(ctx, "write change", func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.writer.exec(ctx, tx, `UPDATE incidents SET schema_version = ?, data_version = ?, last_updated_by = ?,
			last_updated_at = ?, state = ?, data = ? WHERE id = ? AND data_version = ?`, update...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var v int64
			err := s.writer.queryRow(ctx, tx, "SELECT data_version FROM incidents WHERE id = ?", next.ID).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("version %d of incident %s was written meanwhile (it is at %d): %w", next.DataVersion, next.ID, v, store.ErrConflict)
		}
		if _, err := s.writer.exec(ctx, tx, "UPDATE incidents SET partner_id = ? WHERE id = ? AND partner_id <> ?", next.PartnerID, next.ID, next.PartnerID); err != nil {
			return err
		}
		for _, r := range added {
			if _, err := s.writer.exec(ctx, tx, "INSERT INTO comments (incident_id, position, comment_id, body) VALUES (?,?,?,?)",
				next.ID, r.c.Position, r.c.ID, r.text); err != nil {
				return err
			}
		}
		for _, r := range replaced {
			var pos int64
			err := s.writer.queryRow(ctx, tx, "SELECT position FROM comments WHERE incident_id = ? AND comment_id = ?", next.ID, r.c.ID).Scan(&pos)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("replace comment %s of incident %s: %w", r.c.ID, next.ID, errMissingComment)
			}
			if err != nil {
				return err
			}
			c := r.c
			c.Position = pos
			text, err := jsonText(c)
			if err != nil {
				return err
			}
			if _, err := s.writer.exec(ctx, tx, "UPDATE comments SET body = ? WHERE incident_id = ? AND position = ?", text, next.ID, pos); err != nil {
				return err
			}
		}
		_, err = s.writer.exec(ctx, tx, "INSERT INTO activities (incident_id, data_version, license_plate, body) VALUES (?,?,?,?)",
			next.ID, activity.DataVersion, activity.LicensePlate, activityText)
		if err != nil {
			return err
		}
		return s.appendFeed(ctx, tx, next, activity)
	})
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			// The history entry of this version exists: another change
			// wrote it.
			return fmt.Errorf("write change of incident %s: %w", next.ID, store.ErrConflict)
		}
		return err
	}
	s.cacheWritten(next, args)
	return nil
}

// FindEffect looks for the change a request made under plate: its history
// entry, by the history's index of license plates, or the API client it
// created. ErrNotFound if the request changed nothing.
func (s *Store) FindEffect(ctx context.Context, dataspace, plate string) (*store.Effect, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT incident_id, body FROM activities WHERE license_plate = ? LIMIT 1", plate)
	if err != nil {
		return nil, store.Wrap("find effect", s.classify(err))
	}
	var id, text string
	err = row.Scan(&id, &text)
	switch {
	case err == nil:
		a, err := decodeActivity(text)
		if err != nil {
			return nil, fmt.Errorf("find effect: %w", err)
		}
		inc, err := s.FindIncident(ctx, dataspace, id, 0)
		if err != nil {
			return nil, err
		}
		return &store.Effect{Incident: inc, Activity: a}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, store.Wrap("find effect", s.classify(err))
	}
	c, err := s.findClientWhere(ctx, "license_plate = ?", plate)
	if err != nil {
		return nil, store.Wrap("find effect", err)
	}
	return &store.Effect{Client: c}, nil
}
