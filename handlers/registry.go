package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Call is one authenticated, authorized, validated event on its way to its
// handler, whatever surface it came through: the envelope API and the REST
// routes each turn their wire format into one, and no handler sees either
// wire format.
type Call struct {
	// Event is the event called.
	Event envelope.EventName
	// OwnerID, NetworkID and Dataspace say where it acts: the company it
	// acts for, its process network (empty for events without one) and
	// its dataspace.
	OwnerID, NetworkID, Dataspace string
	// Payload is the validated payload; enum values are in their canonical
	// case and numbers are json.Number.
	Payload map[string]any
	Caller  Caller
	// LicensePlate identifies this request in the response, the logs and the
	// activity history.
	LicensePlate string
	Now          time.Time
	// Detail, when set, is recorded in the history entry of what the call
	// creates or changes (a REST route names itself there).
	Detail map[string]any
	// Warnings go into the response header; the schema check starts them
	// and handlers may add to them.
	Warnings []string
	// Incident is the version of the incident the event created, wrote or
	// read, set by the handler, for surfaces that answer with the whole
	// incident.
	Incident *store.Incident
}

// EventName is the full name of the event called, as the history records
// it.
func (c *Call) EventName() string { return c.Event.String() }

// Caller is who sends an event: the API client's company and user.
type Caller struct {
	APIKey    string
	CompanyID string
	UserID    string
	// secret is the apiSecret the caller presented, "" for callers without
	// one; answerSeed derives from it what seals the caller's recorded
	// answers (idempotency.go), only for requests that hold a key.
	secret string
	// session is set for a user signed in with a session token (an access
	// token of the password grant) rather than with an API key.
	session bool
}

// Session reports whether the caller is a user signed in with a session
// token (NewSessionCaller) rather than an API client.
func (c Caller) Session() bool { return c.session }

// String names the caller without its secret, so that printing one never
// shows it.
func (c Caller) String() string {
	return "API key " + c.APIKey + " of company " + c.CompanyID + " (user " + c.UserID + ")"
}

// GoString is String, for %#v.
func (c Caller) GoString() string { return c.String() }

// answerSeed seals the caller's recorded answers; nil for a caller without
// a secret.
func (c Caller) answerSeed() []byte {
	if c.secret == "" {
		return nil
	}
	return credentials.AnswerSeed(c.secret)
}

// HandlerFunc carries out one event and returns the response payload.
// Failures are *envelope.Error values, or store errors that respond maps.
type HandlerFunc func(ctx context.Context, call *Call) (any, error)

// Event is one entry of the catalogue: an event name at one version, with its
// handler, the schema its payload must satisfy and a one-line help text.
type Event struct {
	Name envelope.EventName
	// Schema is the file under schemas/ that validates the payload.
	Schema string
	Help   string
	Handle HandlerFunc
	// ReadOnly marks an event that changes nothing: idempotency keys do not
	// apply to it, and it has no answer to rebuild.
	ReadOnly bool
	// Recover rebuilds the answer of a request of this event from its
	// effect, for a retry of a request that died after its change was
	// stored (see idempotency.go). Every event that is not ReadOnly has
	// one; a ReadOnly event has none.
	Recover func(*store.Effect) (any, []string)
	// CreatesFamily marks an event that creates an object with its
	// children (createFamily): the effect its license plate finds may be
	// a child's, and stands for the request only once the parent is in.
	CreatesFamily bool

	schema *schema.Payload
}

// Registry maps every supported event name to its Event. It is the
// catalogue: dispatch, the UnsupportedEventException text and the docs all
// read it.
type Registry struct {
	events   map[string]*Event
	versions map[string][]int // "app:action" -> sorted versions
}

// NewRegistry compiles every event's schema and indexes the events. It fails
// on a duplicate event, a schema that does not compile, or an event whose
// Recover does not match its ReadOnly, so a broken catalogue never starts.
func NewRegistry(events []*Event) (*Registry, error) {
	r := &Registry{events: map[string]*Event{}, versions: map[string][]int{}}
	schemas, err := schema.NewSet()
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		key := ev.Name.String()
		if _, dup := r.events[key]; dup {
			return nil, fmt.Errorf("event %s registered twice", key)
		}
		if ev.schema, err = schemas.Load(ev.Schema); err != nil {
			return nil, fmt.Errorf("event %s: %w", key, err)
		}
		switch {
		case ev.ReadOnly && ev.Recover != nil:
			return nil, fmt.Errorf("event %s is read-only but has an answer to recover", key)
		case !ev.ReadOnly && ev.Recover == nil:
			return nil, fmt.Errorf("event %s changes incidents but cannot recover its answer for a retried Idempotency-Key", key)
		}
		r.events[key] = ev
		action := ev.Name.App + ":" + ev.Name.Action
		r.versions[action] = append(r.versions[action], ev.Name.Version)
	}
	for _, v := range r.versions {
		sort.Ints(v)
	}
	return r, nil
}

// Lookup returns the event for name, or an UnsupportedEventException that
// lists the versions of the same action that are supported.
func (r *Registry) Lookup(name envelope.EventName) (*Event, *envelope.Error) {
	if ev, ok := r.events[name.String()]; ok {
		return ev, nil
	}
	action := name.App + ":" + name.Action
	if vs := r.versions[action]; len(vs) > 0 {
		names := make([]string, len(vs))
		for i, v := range vs {
			names[i] = fmt.Sprintf("%s:v%d", action, v)
		}
		return nil, envelope.Errorf(envelope.KindUnsupportedEvent,
			"version v%d of %s is not supported; supported: %s", name.Version, action, strings.Join(names, ", "))
	}
	return nil, envelope.Errorf(envelope.KindUnsupportedEvent,
		"event %s is not supported; see docs/events.md for the catalogue", name.String())
}

// Events lists the catalogue sorted by event name.
func (r *Registry) Events() []*Event {
	out := make([]*Event, 0, len(r.events))
	for _, ev := range r.events {
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Name, out[j].Name
		if a.App+a.Action != b.App+b.Action {
			return a.App+":"+a.Action < b.App+":"+b.Action
		}
		return a.Version < b.Version
	})
	return out
}
