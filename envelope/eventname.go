package envelope

import (
	"fmt"
	"strconv"
	"strings"
)

// EventName is a parsed `<app>:<action>:v<N>` event name, such as
// `agile-process-teams:add-incident:v5`.
type EventName struct {
	App     string
	Action  string
	Version int
}

// ParseEventName parses an event name of the form `<app>:<action>:v<N>`.
// App and action are non-empty runs of letters, digits, '-' and '_'; N is a
// positive decimal integer without leading zeros.
func ParseEventName(s string) (EventName, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return EventName{}, fmt.Errorf("must have the form <app>:<action>:v<N>, e.g. agile-process-teams:add-incident:v5")
	}
	app, action, ver := parts[0], parts[1], parts[2]
	if !isNameToken(app) {
		return EventName{}, fmt.Errorf("app %q must be a non-empty run of letters, digits, '-' and '_'", app)
	}
	if !isNameToken(action) {
		return EventName{}, fmt.Errorf("action %q must be a non-empty run of letters, digits, '-' and '_'", action)
	}
	if len(ver) < 2 || ver[0] != 'v' || ver[1] == '0' || len(ver) > 6 {
		return EventName{}, fmt.Errorf("version %q must be 'v' followed by a positive number, e.g. v1", ver)
	}
	n, err := strconv.Atoi(ver[1:])
	if err != nil || n <= 0 {
		return EventName{}, fmt.Errorf("version %q must be 'v' followed by a positive number, e.g. v1", ver)
	}
	return EventName{App: app, Action: action, Version: n}, nil
}

func isNameToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// String spells the event name as it travels on the wire.
func (e EventName) String() string {
	return e.App + ":" + e.Action + ":v" + strconv.Itoa(e.Version)
}

// Response is the name of the answer to this event: the action with
// `-response` appended, as in `agile-process-teams:add-incident-response:v5`.
func (e EventName) Response() string {
	return e.App + ":" + e.Action + "-response:v" + strconv.Itoa(e.Version)
}
