package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// sendRaw sends an event whose payload is JSON text as written, so that a
// test controls how its numbers are spelt.
func sendRaw(t *testing.T, h *gt.Harness, c gt.Client, event, payload string) *gt.Response {
	t.Helper()
	return h.Send(t, c, event, json.RawMessage(payload))
}

// versionSpellings are ways of writing version n that JSON allows: each is
// the version n.
func versionSpellings(n int64) []string {
	return []string{fmt.Sprintf("%d.0", n), fmt.Sprintf("%de0", n), fmt.Sprintf("%d0E-1", n), fmt.Sprintf("%d.000e+0", n)}
}

// badVersions are numbers no incident is at: fractions, zero, negatives and
// numbers beyond int64.
var badVersions = []string{"1.5", "0.5", "10E-2", "0", "0.0", "-1", "-1.0", "9223372036854775808", "9.3e18", "1e19"}

// Every event that takes payload.dataVersion makes it the write's condition
// however the number is spelt: a stale version written 1.0, 1e0 or 10E-1 is
// the conflict answer and changes nothing, the current version so written
// applies, and anything that is not a version is a SchemaValidationException
// naming $.dataVersion.
func TestDataVersionIsTheConditionHoweverSpelt(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for _, pt := range processTypes {
		t.Run(pt.name, func(t *testing.T) {
			id := step(t, h, gt.Acme, pt.add(), map[string]any{"aptBusinessObjectSummary": "versions",
				"partnerCompany": map[string]any{"partnerId": "supplier-1"}}, nil).ID
			step(t, h, gt.Acme, pt.edit(), map[string]any{"id": id, "aptBusinessObjectDescription": "v2"}, nil)
			version := int64(2)

			// try sends event with each stale and bad spelling, then with the
			// current version spelt `current`, which must apply.
			try := func(event, extra, current string) {
				t.Helper()
				for _, stale := range versionSpellings(version - 1) {
					r := sendRaw(t, h, gt.Acme, event, fmt.Sprintf(`{"id": %q, "dataVersion": %s%s}`, id, stale, extra))
					r.MustFail(t, http.StatusConflict, "ConcurrentModificationException")
					if !strings.Contains(r.Header.ErrMsg, fmt.Sprintf("dataVersion %d", version)) {
						t.Fatalf("%s with stale dataVersion %s: errMsg does not name the current version: %s", event, stale, r.Header.ErrMsg)
					}
				}
				for _, bad := range badVersions {
					r := sendRaw(t, h, gt.Acme, event, fmt.Sprintf(`{"id": %q, "dataVersion": %s%s}`, id, bad, extra))
					r.MustFail(t, http.StatusBadRequest, "SchemaValidationException")
					if !strings.Contains(r.Header.ErrMsg, "$.dataVersion") {
						t.Fatalf("%s with dataVersion %s: errMsg does not name $.dataVersion: %s", event, bad, r.Header.ErrMsg)
					}
				}
				if got := read(t, h, gt.Acme, pt, id).DataVersion; int64(got) != version {
					t.Fatalf("%s: refused requests moved the incident from dataVersion %d to %d", event, version, got)
				}
				var out idVersion
				sendRaw(t, h, gt.Acme, event, fmt.Sprintf(`{"id": %q, "dataVersion": %s%s}`, id, current, extra)).MustOK(t).Decode(t, &out)
				if out.DataVersion != version+1 {
					t.Fatalf("%s with the current dataVersion spelt %s: answered dataVersion %d, want %d", event, current, out.DataVersion, version+1)
				}
				version++
			}
			// One edit per spelling of the current version.
			for i := range versionSpellings(0) {
				try(pt.edit(), fmt.Sprintf(`, "aptBusinessObjectDescription": "edit %d"`, i), versionSpellings(version)[i])
			}
			if pt.hasPartner {
				try(pt.submit(), "", versionSpellings(version)[0])
			}
			try(pt.close(), `, "closingStatement": "done"`, versionSpellings(version)[1])
			try(pt.reopen(), "", versionSpellings(version)[2])
			// The plain integer still works.
			try(pt.edit(), `, "aptBusinessObjectDescription": "plain"`, fmt.Sprint(version))
		})
	}
}

// PATCH's dataVersion follows the same rule as the events'.
func TestRESTPatchDataVersionHoweverSpelt(t *testing.T) {
	t.Parallel()
	h := startREST(t, handlers.Config{})
	token, _ := login(t, h, gt.Tim)
	created := restJSON(t, h, http.MethodPost, "/api/v1/incident", token, map[string]any{"subject": "v", "requesterEmail": gt.Tim.Username})
	id, _ := created.Body["id"].(string)
	path := "/api/v1/incident/" + id
	if a := restJSON(t, h, http.MethodPatch, path, token, `{"subject": "v2"}`); a.Status != 200 || a.Body["dataVersion"] != 2.0 {
		t.Fatalf("patch: %d %s", a.Status, a.Raw)
	}
	for _, stale := range versionSpellings(1) {
		if a := restJSON(t, h, http.MethodPatch, path, token, `{"subject": "stale", "dataVersion": `+stale+`}`); a.Status != http.StatusConflict {
			t.Fatalf("patch with stale dataVersion %s: %d %s", stale, a.Status, a.Raw)
		}
	}
	for _, bad := range badVersions {
		a := restJSON(t, h, http.MethodPatch, path, token, `{"subject": "bad", "dataVersion": `+bad+`}`)
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Raw, "dataVersion") {
			t.Fatalf("patch with dataVersion %s: %d %s", bad, a.Status, a.Raw)
		}
	}
	for i, current := range versionSpellings(2)[:1] {
		a := restJSON(t, h, http.MethodPatch, path, token, fmt.Sprintf(`{"subject": "current %d", "dataVersion": %s}`, i, current))
		if a.Status != 200 || a.Body["dataVersion"] != 3.0 {
			t.Fatalf("patch with current dataVersion %s: %d %s", current, a.Status, a.Raw)
		}
	}
	if a := restJSON(t, h, http.MethodGet, path, token, nil); a.Body["subject"] != "current 0" {
		t.Fatalf("a refused patch changed the incident: %s", a.Raw)
	}
}
