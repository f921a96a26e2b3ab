package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/journal"
)

// aptApp is the app of the events the pages call.
const aptApp = "agile-process-teams"

// parsePages parses each page with the layout.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"ms": func(ms int64) string {
			if ms == 0 {
				return ""
			}
			return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 MST")
		},
		"when":          func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 MST") },
		"stamp":         stamp,
		"latency":       func(d time.Duration) string { return d.Round(time.Microsecond).String() },
		"text":          func(b []byte) string { return string(b) },
		"plateLink":     func(p string) string { return "/ui/requests?plate=" + url.QueryEscape(p) },
		"objectLink":    func(kind, id string) string { return "/ui/objects/" + url.PathEscape(kind) + "/" + url.PathEscape(id) },
		"hookLink":      hookLink,
		"redeliverLink": redeliverLink,
		"lastAttempt":   lastAttempt,
		"join":          func(list []string) string { return strings.Join(list, ", ") },
		"str": func(m map[string]any, k string) string {
			s, _ := m[k].(string)
			return s
		},
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"signin", "search", "object", "requests", "webhooks", "error"} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// record is an object as the read and search events answer it.
type record struct {
	ID                  string         `json:"id"`
	ObjectType          string         `json:"objectType"`
	DataVersion         int64          `json:"dataVersion"`
	OwnerID             string         `json:"ownerId"`
	CreatedByUserID     string         `json:"createdByUserId"`
	LastUpdatedByUserID string         `json:"lastUpdatedByUserId"`
	CreationDateTime    int64          `json:"creationDateTime"`
	LastUpdatedDateTime int64          `json:"lastUpdatedDateTime"`
	CurrentBaseState    string         `json:"currentBaseState"`
	Data                map[string]any `json:"data"`
}

// Kind is the record's processType.
func (r *record) Kind() string { return strings.TrimPrefix(r.ObjectType, aptApp+":") }

// Number is the record's business id (INC-17).
func (r *record) Number() string { s, _ := r.Data["aptBusinessObjectId"].(string); return s }

// Summary is the record's summary.
func (r *record) Summary() string { s, _ := r.Data["aptBusinessObjectSummary"].(string); return s }

// call dispatches an event as the session's caller, as the REST API does
// (no network named: the caller's company acts in its networks), and
// decodes its answer into out; a failure comes back as the problem to
// show.
func (u *UI) call(ctx context.Context, s *session, action string, version int, payload map[string]any, out any) *problem {
	if version == 0 {
		version = u.latest(action)
	}
	plate := envelope.NewLicensePlate()
	res := u.gw.Dispatch(ctx, &handlers.Request{Caller: s.caller, Event: envelope.EventName{App: aptApp, Action: action, Version: version},
		OwnerID: s.caller.CompanyID, Dataspace: u.dataspace, Payload: payload, LicensePlate: plate})
	if res.Err != nil {
		perr := u.gw.Failure(ctx, res.Err, res.Step, plate)
		return &problem{Status: perr.Kind.Status(), Message: perr.Message, Exception: perr.Kind.ExceptionName()}
	}
	raw, err := json.Marshal(res.Payload)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(out)
	}
	if err != nil {
		return &problem{Status: http.StatusInternalServerError, Message: "the answer of " + action + " could not be read"}
	}
	return nil
}

// latest is the newest version of an action the catalogue serves, 0 if
// none.
func (u *UI) latest(action string) int {
	v := 0
	for _, ev := range u.gw.Registry().Events() {
		if ev.Name.App == aptApp && ev.Name.Action == action && ev.Name.Version > v {
			v = ev.Name.Version
		}
	}
	return v
}

// searchData is the data of the search page.
type searchData struct {
	Q, ID, Kind, State string
	Items              []*record
	Next               string
	Problem            *problem
}

// searchPage is search-process with the form's filters: words, business
// id, kind and state, a page at a time.
func (u *UI) searchPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := searchData{Q: trimmed(q.Get("q")), ID: trimmed(q.Get("id")), Kind: trimmed(q.Get("kind")), State: trimmed(q.Get("state"))}
	payload := map[string]any{"limit": json.Number("25")}
	for field, v := range map[string]string{"q": d.Q, "aptBusinessObjectId": d.ID, "processType": d.Kind, "currentBaseState": d.State, "cursor": trimmed(q.Get("cursor"))} {
		if v != "" {
			payload[field] = v
		}
	}
	var page struct {
		Items []*record `json:"items"`
		Next  *string   `json:"next"`
	}
	d.Problem = u.call(r.Context(), s, "search-process", 0, payload, &page)
	d.Items = page.Items
	if page.Next != nil {
		next := url.Values{"cursor": {*page.Next}}
		for k, v := range map[string]string{"q": d.Q, "id": d.ID, "kind": d.Kind, "state": d.State} {
			if v != "" {
				next.Set(k, v)
			}
		}
		d.Next = "/ui?" + next.Encode()
	}
	status := http.StatusOK
	if d.Problem != nil {
		status = d.Problem.Status
	}
	u.render(w, s, status, "search", "Search", d)
}

// activity is an entry of an object's history.
type activity struct {
	LicensePlate string   `json:"licensePlate"`
	EventName    string   `json:"eventName"`
	UserID       string   `json:"userId"`
	CompanyID    string   `json:"companyId"`
	DateTime     int64    `json:"dateTime"`
	DataVersion  int64    `json:"dataVersion"`
	Fields       []string `json:"fields"`
	StateFrom    string   `json:"stateFrom"`
	StateTo      string   `json:"stateTo"`
}

// comment is a comment of an object.
type comment struct {
	ID             string `json:"id"`
	CommentText    string `json:"commentText"`
	VisibilityType string `json:"visibilityType"`
	CompanyID      string `json:"companyId"`
	CreatedBy      string `json:"createdByUserId"`
	CreatedAt      int64  `json:"creationDateTime"`
	LicensePlate   string `json:"licensePlate"`
}

// objectData is the data of an object's page.
type objectData struct {
	Record          *record
	DataJSON        string
	Comments        []comment
	CommentsProblem *problem
	SubTasks        []*record
	SubTasksProblem *problem
	HasSubTasks     bool
	History         []activity
	HistoryProblem  *problem
}

// subTaskEvents are the events that list a kind's children.
var subTaskEvents = map[string]string{"task": "list-sub-task-for-task", "taskTemplate": "list-sub-task-for-template"}

// objectPage reads one object with its kind's read event, then its
// comments, sub-tasks and history with theirs.
func (u *UI) objectPage(w http.ResponseWriter, r *http.Request, s *session) {
	kind, id := r.PathValue("kind"), r.PathValue("id")
	ctx := r.Context()
	d := objectData{Record: &record{}}
	read := "read-" + kind
	if u.latest(read) == 0 {
		u.fail(w, r, s, http.StatusNotFound, "There is no kind "+strconv.Quote(kind)+" to read.")
		return
	}
	if p := u.call(ctx, s, read, 0, map[string]any{"id": id}, d.Record); p != nil {
		u.render(w, s, p.Status, "error", "Not found", p)
		return
	}
	d.DataJSON = indented(d.Record.Data)
	target := map[string]any{"processType": kind, "id": id}
	var comments struct {
		Comments []comment `json:"comments"`
	}
	d.CommentsProblem = u.call(ctx, s, "list-comments-for-process", 0, target, &comments)
	d.Comments = comments.Comments
	if ev, ok := subTaskEvents[kind]; ok {
		d.HasSubTasks = true
		var subs struct {
			SubTasks []*record `json:"subTasks"`
		}
		d.SubTasksProblem = u.call(ctx, s, ev, 0, map[string]any{"id": id}, &subs)
		d.SubTasks = subs.SubTasks
	}
	var history struct {
		Activities []activity `json:"activities"`
	}
	d.HistoryProblem = u.call(ctx, s, "get-activity-history-for-process", 0, target, &history)
	d.History = history.Activities
	title := d.Record.Number()
	if title == "" {
		title = d.Record.ID
	}
	u.render(w, s, http.StatusOK, "object", title, d)
}

// stamp shows a time the gateway answers in RFC 3339 as the pages show
// times; anything else as it is.
func stamp(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

// indented is v as indented JSON, its markup characters as they are (the
// template escapes them; JSON's \u003c escapes would only be harder to
// read).
func indented(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// requestData is the data of the request page.
type requestData struct {
	Plate     string
	NoJournal bool
	Found     *journal.Entry
	NotFound  bool
	Recent    []journal.Entry
}

// requestPage looks a request of the caller's company up by its license
// plate in the journal, and lists the company's recent requests.
func (u *UI) requestPage(w http.ResponseWriter, r *http.Request, s *session) {
	d := requestData{Plate: trimmed(r.URL.Query().Get("plate"))}
	status := http.StatusOK
	if u.journal.Config().Disabled {
		d.NoJournal = true
	} else {
		company := s.caller.CompanyID
		if d.Plate != "" {
			if e, ok := u.journal.Find(company, d.Plate); ok {
				d.Found = &e
			} else {
				d.NotFound, status = true, http.StatusNotFound
			}
		}
		d.Recent = u.journal.List(company, 20)
	}
	u.render(w, s, status, "requests", "Requests", d)
}
