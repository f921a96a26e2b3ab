package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/internal/schema"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Feed pages: the default and the most changes of one page.
const (
	defaultFeedLimit = 100
	maxFeedLimit     = 1000
)

// feedCursorPrefix starts the text of a feed cursor before it is encoded.
const feedCursorPrefix = "feed:"

// FeedChange is one change of the feed as the surfaces answer it.
type FeedChange struct {
	ObjectID     string `json:"objectId"`
	Kind         string `json:"kind"`
	DataVersion  int64  `json:"dataVersion"`
	EventName    string `json:"eventName"`
	LicensePlate string `json:"licensePlate"`
	// At is when the change was committed, milliseconds since the epoch.
	At int64 `json:"at"`
	// Cursor is the position right after this change, for a reader that
	// stops in the middle of a page.
	Cursor string `json:"cursor"`
}

// FeedPage is the answer of list-changes: the changes, and the cursor to
// continue after them (the one given when there were none).
type FeedPage struct {
	Changes []FeedChange `json:"changes"`
	Next    string       `json:"next"`
}

// listChanges answers list-changes: the change feed of the caller's
// company after its cursor, oldest first. A change is in it when the
// object it changed was the company's to see once changed (owned, the
// company its partner, or a kind shared with a network it is in); it acts
// in the call's network, or in every network for a call that names none.
func (g *Gateway) listChanges(ctx context.Context, call *Call) (any, error) {
	p := call.Payload
	after, err := decodeFeedCursor(stringField(p, "after"))
	if err != nil {
		return nil, schema.Invalid([]string{"$.after: " + err.Error()})
	}
	company := call.Caller.CompanyID
	q := store.FeedQuery{Dataspace: call.Dataspace, Company: company, After: after,
		Limit: min(limitField(p, defaultFeedLimit), maxFeedLimit), SharedKinds: sharedKinds}
	if call.NetworkID != "" {
		q.Networks = []string{call.NetworkID}
	} else {
		q.Networks = g.dir.NetworksOf(company)
	}
	entries, err := g.store.ListFeed(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &FeedPage{Changes: []FeedChange{}, Next: encodeFeedCursor(after)}
	for _, e := range entries {
		page.Next = encodeFeedCursor(e.Seq)
		if call.NetworkID != "" && e.NetworkID != call.NetworkID {
			continue
		}
		page.Changes = append(page.Changes, FeedChange{ObjectID: e.ObjectID, Kind: e.Kind, DataVersion: e.DataVersion,
			EventName: e.EventName, LicensePlate: e.LicensePlate, At: e.At, Cursor: page.Next})
	}
	return page, nil
}

// errNotAFeedCursor is the problem of a cursor the gateway did not give.
var errNotAFeedCursor = errors.New("is not a cursor of the change feed this gateway gave; start without one, or with the next of an earlier page")

func encodeFeedCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(feedCursorPrefix + strconv.FormatInt(seq, 10)))
}

// decodeFeedCursor reads a cursor of encodeFeedCursor; "" is the start.
func decodeFeedCursor(text string) (int64, error) {
	if text == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(text)
	digits, ok := strings.CutPrefix(string(raw), feedCursorPrefix)
	if err != nil || !ok {
		return 0, errNotAFeedCursor
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || seq < 0 {
		return 0, errNotAFeedCursor
	}
	return seq, nil
}
