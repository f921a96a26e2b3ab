package ferretimport

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/internal/jsonvalue"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// versionsCollection holds the incidents, one document per version: the
// _id "<incident id>/<n>" of version n, and the incident as version n left
// it with the history entry of the change that made it. The FerretDB-era
// gateway wrote them in the compact form: the fields it looked versions up
// by (incidentId, dataVersion, dataspace, ownerId, licensePlate) and the
// whole version as JSON text in the field json. Earlier builds, and data
// copied from MongoDB, have every field inline instead. Both are read.
const versionsCollection = "incident_versions"

// version is one stored version of an incident, decoded only as far as a
// pass needs.
type version struct {
	key         string
	incidentID  string
	dataVersion int64
	// text is the whole version as JSON text (the compact form); empty
	// in the inline form, whose fields are in doc.
	text string
	doc  map[string]any
}

func newVersion(doc map[string]any) (*version, error) {
	f := docFields(doc)
	v := &version{key: f.str("_id"), incidentID: f.str("incidentId"), dataVersion: f.int64("dataVersion"), text: f.str("json")}
	if f.err != nil {
		return nil, f.err
	}
	if v.text == "" {
		v.doc = doc
	}
	// In _id order the versions of one incident are together only if no
	// other incident's _id falls between theirs: true when an incident id
	// has no "/" (the text after it, "/<n>", then sorts apart from any
	// other id, however the ids compare).
	if v.incidentID == "" || strings.Contains(v.incidentID, "/") || v.key != v.incidentID+"/"+strconv.FormatInt(v.dataVersion, 10) {
		return nil, fmt.Errorf("version %q of incident %q, dataVersion %d: not the _id <incident id>/<dataVersion> the gateway gives versions", v.key, v.incidentID, v.dataVersion)
	}
	return v, nil
}

// versionText is the compact form's JSON text.
type versionText struct {
	store.Incident
	Comments []store.Comment `json:"comments"`
	Activity store.Activity  `json:"activity"`
}

// decodeText decodes the compact form's text into v, numbers as the
// gateway keeps them (int64 when whole, float64 otherwise), as the old
// gateway read them.
func decodeText(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return dec.Decode(v)
}

// full is the whole version: the incident (without comments and history),
// its comments and its history entry.
func (v *version) full() (*store.Incident, []store.Comment, store.Activity, error) {
	where := fmt.Sprintf("version %q", v.key)
	if v.text != "" {
		var t versionText
		if err := decodeText(v.text, &t); err != nil {
			return nil, nil, store.Activity{}, fmt.Errorf("%s: its json: %w", where, err)
		}
		if t.ID != v.incidentID || t.DataVersion != v.dataVersion {
			return nil, nil, store.Activity{}, fmt.Errorf("%s: its json is version %d of incident %q", where, t.DataVersion, t.ID)
		}
		inc := t.Incident
		inc.Comments, inc.Activities = nil, nil
		if inc.Data != nil {
			inc.Data = jsonvalue.Plain(inc.Data).(map[string]any)
		}
		for i := range t.Comments {
			plainAttachments(t.Comments[i].Attachments)
		}
		plainActivity(&t.Activity)
		return &inc, t.Comments, t.Activity, nil
	}
	f := &fields{m: v.doc, where: where}
	inc := &store.Incident{
		ID: f.str("incidentId"), Dataspace: f.str("dataspace"), OwnerID: f.str("ownerId"), NetworkID: f.str("networkId"),
		ProcessType: f.str("processType"), SchemaVersion: f.int("schemaVersion"), DataVersion: f.int64("dataVersion"),
		CreatedByUserID: f.str("createdByUserId"), LastUpdatedBy: f.str("lastUpdatedByUserId"),
		CreatedAt: f.int64("creationDateTime"), LastUpdatedAt: f.int64("lastUpdatedDateTime"),
		CurrentBaseState: f.str("currentBaseState"), Number: f.int64("number"), PartnerID: f.str("partnerId"),
		Data: f.object("data"),
	}
	var comments []store.Comment
	if raw := f.objects("comments"); raw != nil {
		comments = make([]store.Comment, len(raw))
		for i, m := range raw {
			c := &fields{m: m, where: fmt.Sprintf("%s comment %d", where, i)}
			comments[i] = store.Comment{
				ID: c.str("id"), CommentText: c.str("commentText"), VisibilityType: c.str("visibilityType"),
				Attachments: c.objects("attachments"), CompanyID: c.str("companyId"),
				CreatedBy: c.str("createdByUserId"), CreatedAt: c.int64("creationDateTime"),
				UpdatedBy: c.str("lastUpdatedByUserId"), UpdatedAt: c.int64("lastUpdatedDateTime"),
				LicensePlate: c.str("licensePlate"),
			}
			for j, a := range comments[i].Attachments {
				comments[i].Attachments[j] = plain(a).(map[string]any)
			}
			if c.err != nil {
				return nil, nil, store.Activity{}, c.err
			}
		}
	}
	activity, err := v.inlineActivity(f)
	if err != nil {
		return nil, nil, store.Activity{}, err
	}
	if f.err != nil {
		return nil, nil, store.Activity{}, f.err
	}
	return inc, comments, activity, nil
}

func (v *version) inlineActivity(f *fields) (store.Activity, error) {
	a := f.sub("activity")
	out := store.Activity{
		LicensePlate: a.str("licensePlate"), EventName: a.str("eventName"), UserID: a.str("userId"), CompanyID: a.str("companyId"),
		DateTime: a.int64("dateTime"), DataVersion: a.int64("dataVersion"), Fields: a.strings("fields"),
		StateFrom: a.str("stateFrom"), StateTo: a.str("stateTo"), CommentIDs: a.strings("commentIds"), Detail: a.object("detail"),
	}
	return out, cmp.Or(f.err, a.err)
}

func plainAttachments(atts []map[string]any) {
	for i, a := range atts {
		if a != nil {
			atts[i] = jsonvalue.Plain(a).(map[string]any)
		}
	}
}

func plainActivity(a *store.Activity) {
	if a.Detail != nil {
		a.Detail = jsonvalue.Plain(a.Detail).(map[string]any)
	}
}

// activity is the version's history entry, its DataVersion the version's.
func (v *version) activity() (store.Activity, error) {
	var a store.Activity
	if v.text != "" {
		var t struct {
			Activity store.Activity `json:"activity"`
		}
		if err := decodeText(v.text, &t); err != nil {
			return a, fmt.Errorf("version %q: its json: %w", v.key, err)
		}
		a = t.Activity
		plainActivity(&a)
	} else {
		var err error
		if a, err = v.inlineActivity(&fields{m: v.doc, where: fmt.Sprintf("version %q", v.key)}); err != nil {
			return a, err
		}
	}
	a.DataVersion = v.dataVersion
	return a, nil
}

// commentIDs are the ids of the version's comments, in their order.
func (v *version) commentIDs() ([]string, error) {
	if v.text != "" {
		var t struct {
			Comments []struct {
				ID string `json:"id"`
			} `json:"comments"`
		}
		if err := decodeText(v.text, &t); err != nil {
			return nil, fmt.Errorf("version %q: its json: %w", v.key, err)
		}
		ids := make([]string, len(t.Comments))
		for i, c := range t.Comments {
			ids[i] = c.ID
		}
		return ids, nil
	}
	f := &fields{m: v.doc, where: fmt.Sprintf("version %q", v.key)}
	raw := f.objects("comments")
	ids := make([]string, len(raw))
	for i, m := range raw {
		c := &fields{m: m, where: fmt.Sprintf("version %q comment %d", v.key, i)}
		ids[i] = c.str("id")
		if c.err != nil {
			return nil, c.err
		}
	}
	return ids, f.err
}

// versionRow is one row of the versions table as a pass reads it: the
// fields every pass needs, extracted by SQLite (whose JSON functions read
// the stored text much faster than decoding it here), the stored document
// for what needs decoding whole (an incident's latest version, a version
// in the inline form), and the pass's own extract of a compact version's
// text.
type versionRow struct {
	key         string
	incidentID  string
	dataVersion int64
	compact     bool
	raw         []byte
	extract     sql.NullString
}

// decode decodes the stored document.
func (row *versionRow) decode() (*version, error) {
	doc, err := decodeSJSON(row.raw)
	if err != nil {
		return nil, fmt.Errorf("version %q: %w", row.key, err)
	}
	return newVersion(doc)
}

// readVersions calls add with every version, incident by incident, and
// end after the last version of each incident; extract is the SQL
// expression of versionRow.extract. The versions are read in _id order,
// which keeps those of one incident together (see newVersion); within an
// incident they come in the text order of their _id ("/1", "/10", "/2"),
// not by number. An incident's versions must be 1..n without a gap, as the
// old gateway wrote them (it found the latest by probing for n): anything
// else is refused rather than imported as another history.
func (r *reader) readVersions(ctx context.Context, extract string, add func(*versionRow) error, end func(id string) error) error {
	table, ok := r.tables[versionsCollection]
	if !ok {
		return nil
	}
	order, err := idOrder(ctx, r.conn, table)
	if err != nil {
		return fmt.Errorf("collection %s: %w", versionsCollection, err)
	}
	const doc = "_ferretdb_sjson"
	q := `SELECT ` + doc + `, ` + doc + `->>'$._id', ` + doc + `->>'$.incidentId', ` + doc + `->>'$.dataVersion',
		coalesce(json_type(` + doc + `, '$.json') = 'text' AND ` + doc + `->>'$.json' != '', 0), ` + extract + `
		FROM ` + quoteIdent(table) + ` ORDER BY ` + order
	rows, err := r.conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("collection %s: %w", versionsCollection, err)
	}
	defer rows.Close()
	var cur string
	var count, lo, hi int64
	finish := func() error {
		if cur == "" {
			return nil
		}
		if lo != 1 || hi != count {
			return fmt.Errorf("incident %q has %d versions numbered %d to %d: they must be 1..n without a gap", cur, count, lo, hi)
		}
		return end(cur)
	}
	var n int64
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n++
		var row versionRow
		var key, id sql.NullString
		var dv sql.NullInt64
		if err := rows.Scan(&row.raw, &key, &id, &dv, &row.compact, &row.extract); err != nil {
			return fmt.Errorf("collection %s, document %d in _id order: %w", versionsCollection, n, err)
		}
		row.key, row.incidentID, row.dataVersion = key.String, id.String, dv.Int64
		if !key.Valid || !id.Valid || !dv.Valid || id.String == "" || strings.Contains(id.String, "/") ||
			key.String != id.String+"/"+strconv.FormatInt(dv.Int64, 10) {
			return fmt.Errorf("collection %s: version %q of incident %q, dataVersion %d: not the _id <incident id>/<dataVersion> the gateway gives versions",
				versionsCollection, row.key, row.incidentID, row.dataVersion)
		}
		if row.incidentID != cur {
			if err := finish(); err != nil {
				return fmt.Errorf("collection %s: %w", versionsCollection, err)
			}
			cur, count, lo, hi = row.incidentID, 0, row.dataVersion, row.dataVersion
		}
		count++
		lo, hi = min(lo, row.dataVersion), max(hi, row.dataVersion)
		if err := add(&row); err != nil {
			return fmt.Errorf("collection %s: %w", versionsCollection, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("collection %s, after document %d: %w", versionsCollection, n, err)
	}
	if err := finish(); err != nil {
		return fmt.Errorf("collection %s: %w", versionsCollection, err)
	}
	return nil
}

// incidents emits every incident's latest version.
func (r *reader) incidents(ctx context.Context) error {
	var latest *versionRow
	return r.readVersions(ctx, "NULL", func(row *versionRow) error {
		if latest == nil || latest.incidentID != row.incidentID || row.dataVersion > latest.dataVersion {
			latest = row
		}
		return nil
	}, func(string) error {
		v, err := latest.decode()
		if err != nil {
			return err
		}
		inc, _, _, err := v.full()
		if err != nil {
			return err
		}
		return r.send(store.Record{Kind: store.KindIncident, Value: inc})
	})
}

// commentIDsExtract is, for a compact version, the ids of its comments as
// a JSON array, in their order.
const commentIDsExtract = `(SELECT json_group_array(json_extract(value, '$.id') ORDER BY key)
	FROM json_each(_ferretdb_sjson->>'$.json', '$.comments'))`

// comments emits the comments of every incident's latest version, in
// Position order. A comment's Position is store.CommentPosition(v, i),
// where v is the first version whose comments hold it and i its place
// among the comments that first appear there: what the new stores give a
// comment the change of version v adds (a comment is never removed, and
// an edit keeps its place).
func (r *reader) comments(ctx context.Context) error {
	var latest *versionRow
	byVersion := map[int64][]string{}
	return r.readVersions(ctx, commentIDsExtract, func(row *versionRow) error {
		if latest == nil || latest.incidentID != row.incidentID {
			clear(byVersion)
			latest = row
		}
		if row.dataVersion > latest.dataVersion {
			latest = row
		}
		var ids []string
		if row.compact {
			if err := json.Unmarshal([]byte(row.extract.String), &ids); err != nil {
				return fmt.Errorf("version %q: the ids of its comments: %w", row.key, err)
			}
		} else {
			v, err := row.decode()
			if err != nil {
				return err
			}
			if ids, err = v.commentIDs(); err != nil {
				return err
			}
		}
		byVersion[row.dataVersion] = ids
		if row != latest {
			row.raw = nil // only the latest is decoded whole
		}
		return nil
	}, func(id string) error {
		positions := map[string]int64{}
		for dv := int64(1); dv <= latest.dataVersion; dv++ {
			i := 0
			for _, c := range byVersion[dv] {
				if _, seen := positions[c]; !seen {
					positions[c] = store.CommentPosition(dv, i)
					i++
				}
			}
		}
		v, err := latest.decode()
		if err != nil {
			return err
		}
		_, comments, _, err := v.full()
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		out := make([]*store.Comment, 0, len(comments))
		for i := range comments {
			c := &comments[i]
			if seen[c.ID] {
				return fmt.Errorf("incident %q: comment %q is listed twice in version %d", id, c.ID, latest.dataVersion)
			}
			seen[c.ID] = true
			c.Position = positions[c.ID]
			out = append(out, c)
		}
		slices.SortStableFunc(out, func(a, b *store.Comment) int { return cmp.Compare(a.Position, b.Position) })
		for _, c := range out {
			if err := r.send(store.Record{Kind: store.KindComment, IncidentID: id, Value: c}); err != nil {
				return err
			}
		}
		return nil
	})
}

// activityExtract is, for a compact version, its history entry as JSON.
const activityExtract = `json_extract(_ferretdb_sjson->>'$.json', '$.activity')`

// activities emits every incident's history, one entry per version,
// oldest first.
func (r *reader) activities(ctx context.Context) error {
	var history []store.Activity
	return r.readVersions(ctx, activityExtract, func(row *versionRow) error {
		var a store.Activity
		switch {
		case row.compact && row.extract.Valid:
			if err := decodeText(row.extract.String, &a); err != nil {
				return fmt.Errorf("version %q: its history entry: %w", row.key, err)
			}
			plainActivity(&a)
			a.DataVersion = row.dataVersion
		case row.compact: // a version without a history entry
			a.DataVersion = row.dataVersion
		default:
			v, err := row.decode()
			if err != nil {
				return err
			}
			if a, err = v.activity(); err != nil {
				return err
			}
		}
		history = append(history, a)
		return nil
	}, func(id string) error {
		slices.SortFunc(history, func(a, b store.Activity) int { return cmp.Compare(a.DataVersion, b.DataVersion) })
		for i := range history {
			if err := r.send(store.Record{Kind: store.KindActivity, IncidentID: id, Value: &history[i]}); err != nil {
				return err
			}
		}
		history = nil
		return nil
	})
}
