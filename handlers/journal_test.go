package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// The journal holds each answered request under its license plate, for its
// own company only, with the secrets of its bodies removed.
func TestTheJournalKeepsRequestsWithoutTheirSecrets(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{Seed: twoPerCompanySeed()})
	added := h.Send(t, gt.Acme, "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": "a journal summary"}).MustOK(t)
	e, ok := h.Gateway.Journal().Find("acme", added.Header.LicensePlate)
	if !ok {
		t.Fatalf("the add's plate %s is not in the journal", added.Header.LicensePlate)
	}
	if e.Event != "agile-process-teams:add-incident:v5" || e.Status != http.StatusOK || e.APIKey != gt.Acme.APIKey ||
		!strings.Contains(string(e.Request), "a journal summary") || !strings.Contains(string(e.Response), "add-incident-response") {
		t.Errorf("journal entry = %+v", e)
	}
	if _, ok := h.Gateway.Journal().Find("globex", added.Header.LicensePlate); ok {
		t.Error("another company finds acme's request")
	}

	r, m := mint(t, h, gt.Acme, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("mint: %d %s", r.Status, r.Body)
	}
	e, ok = h.Gateway.Journal().Find("acme", r.Header.LicensePlate)
	if !ok {
		t.Fatal("the mint is not in the journal")
	}
	if strings.Contains(string(e.Response), m.APISecret) || !strings.Contains(string(e.Response), "[redacted]") {
		t.Errorf("the minted secret is in the journal: %s", e.Response)
	}

	bad := h.Send(t, gt.Acme, "agile-process-teams:no-such-event:v1", map[string]any{})
	e, ok = h.Gateway.Journal().Find("acme", bad.Header.LicensePlate)
	if !ok || e.Exception != bad.Header.ExceptionName || e.Status != bad.Status {
		t.Errorf("a refused request's entry = %+v, %v; answer %d %s", e, ok, bad.Status, bad.Header.ExceptionName)
	}
}
