package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

const listChanges = "agile-process-teams:list-changes:v1"

type feedPage struct {
	Changes []struct {
		ObjectID     string `json:"objectId"`
		Kind         string `json:"kind"`
		DataVersion  int64  `json:"dataVersion"`
		EventName    string `json:"eventName"`
		LicensePlate string `json:"licensePlate"`
		At           int64  `json:"at"`
		Cursor       string `json:"cursor"`
	} `json:"changes"`
	Next string `json:"next"`
}

// follow reads the feed of c from cursor to its end, a page of size at a
// time, as "<event action>@v<version>", and returns the cursor to go on
// from.
func follow(t *testing.T, h *gt.Harness, c gt.Client, cursor string, size int) ([]string, string) {
	t.Helper()
	var seen []string
	for range 100 {
		var p feedPage
		h.Send(t, c, listChanges, map[string]any{"after": cursor, "limit": json.Number(fmt.Sprint(size))}).MustOK(t).Decode(t, &p)
		for _, ch := range p.Changes {
			seen = append(seen, fmt.Sprintf("%s@v%d", ch.EventName[len("agile-process-teams:"):], ch.DataVersion))
		}
		cursor = p.Next
		if len(p.Changes) < size {
			return seen, cursor
		}
	}
	t.Fatal("the feed does not end")
	return nil, ""
}

func TestTheFeedGivesEveryVisibleChangeOnceInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := gt.Start(t, gt.Options{DataDir: dir})
	id := addOne(t, h, gt.Acme, map[string]any{"aptBusinessObjectSummary": "followed"})
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "partnerCompany": map[string]any{"partnerId": "supplier-1"}}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:submit-incident-to-partner:v1", map[string]any{"id": id}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:add-comment-for-incident:v1", map[string]any{"processId": id, "processType": "incident",
		"aptCommentBox": map[string]any{"aptComment": map[string]any{"commentText": "hi", "visibilityType": "Public"}}}).MustOK(t)

	owner, ownerCursor := follow(t, h, gt.Acme, "", 2)
	wantOwner := []string{"add-incident:v5@v1", "edit-incident:v5@v2", "submit-incident-to-partner:v1@v3", "add-comment-for-incident:v1@v4"}
	if !slices.Equal(owner, wantOwner) {
		t.Errorf("the owner's feed %q, want %q", owner, wantOwner)
	}
	partner, partnerCursor := follow(t, h, gt.Supplier, "", 1)
	if want := []string{"submit-incident-to-partner:v1@v3", "add-comment-for-incident:v1@v4"}; !slices.Equal(partner, want) {
		t.Errorf("the partner's feed %q, want %q", partner, want)
	}
	if other, _ := follow(t, h, gt.Other, "", 10); len(other) != 0 {
		t.Errorf("another company's feed %q", other)
	}

	// The partner's access ends: the change that ends it and those after
	// are not in its feed. Across a restart, each reader goes on from its
	// cursor and sees each later change once.
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "partnerCompany": nil}).MustOK(t)
	h.Stop()
	h = gt.Start(t, gt.Options{DataDir: dir})
	h.Send(t, gt.Acme, "agile-process-teams:edit-incident:v5", map[string]any{"id": id, "aptBusinessObjectDescription": "after"}).MustOK(t)
	more, _ := follow(t, h, gt.Acme, ownerCursor, 2)
	if want := []string{"edit-incident:v5@v5", "edit-incident:v5@v6"}; !slices.Equal(more, want) {
		t.Errorf("the owner's feed after the restart %q, want %q", more, want)
	}
	if more, _ := follow(t, h, gt.Supplier, partnerCursor, 2); len(more) != 0 {
		t.Errorf("the partner's feed after its access ended %q", more)
	}

	// Each change carries its plate, as the history does.
	var p feedPage
	h.Send(t, gt.Acme, listChanges, map[string]any{}).MustOK(t).Decode(t, &p)
	var history struct {
		Activities []struct{ LicensePlate string } `json:"activities"`
	}
	h.Send(t, gt.Acme, "agile-process-teams:get-activity-history-for-incident:v1", map[string]any{"processId": id, "processType": "incident"}).MustOK(t).Decode(t, &history)
	for i, ch := range p.Changes {
		if ch.ObjectID != id || ch.Kind != "incident" || ch.At == 0 || i >= len(history.Activities) || ch.LicensePlate != history.Activities[i].LicensePlate {
			t.Errorf("change %d %+v does not match the history %+v", i, ch, history.Activities)
		}
	}

	// Over REST, the same feed; a cursor that is no cursor is refused.
	a := restSearch(t, h, "/api/v1/changes?limit=3&after="+url.QueryEscape(p.Changes[0].Cursor), gt.Basic(gt.Acme))
	changes, _ := a.Body["changes"].([]any)
	if a.Status != 200 || len(changes) != 3 || changes[0].(map[string]any)["dataVersion"] != float64(2) || a.Body["next"] != changes[2].(map[string]any)["cursor"] {
		t.Errorf("GET /api/v1/changes: %d %s", a.Status, a.Raw)
	}
	for _, bad := range []string{"?after=nope", "?after=bm9wZQ", "?since=1", "?limit=x"} {
		if a := restSearch(t, h, "/api/v1/changes"+bad, gt.Basic(gt.Acme)); a.Status != 400 {
			t.Errorf("GET /api/v1/changes%s: %d %s", bad, a.Status, a.Raw)
		}
	}
	h.Send(t, gt.Acme, listChanges, map[string]any{"after": "nope"}).MustFail(t, 400, "SchemaValidationException")
}
