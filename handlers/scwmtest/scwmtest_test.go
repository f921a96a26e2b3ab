package scwmtest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/handlers/scwmtest"
)

// send posts an envelope as a program under test would, with the seed's
// credentials, and answers the status and the decoded answer.
func send(t *testing.T, gw *scwmtest.Gateway, event string, payload map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": event, "ownerId": scwmtest.Company, "processNetworkId": scwmtest.Network,
			"appName": "agile-process-teams", "dataspace": "default"},
		"payload": payload,
	})
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(gw.Client.APIKey, gw.Client.APISecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, answer
}

// A program's test starts a gateway in its own process, works against it
// over HTTP with the seed's credentials, and resets it between cases.
func TestAGatewayInTheTestsProcess(t *testing.T) {
	t.Parallel()
	gw := scwmtest.Start(t, scwmtest.Options{})
	status, added := send(t, gw, "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": "from a Go test"})
	if status != http.StatusOK {
		t.Fatalf("add: %d %v", status, added)
	}
	id := added["payload"].(map[string]any)["id"].(string)
	if status, read := send(t, gw, "agile-process-teams:read-incident:v4", map[string]any{"id": id}); status != http.StatusOK {
		t.Fatalf("read: %d %v", status, read)
	}
	gw.Reset(t)
	if status, _ := send(t, gw, "agile-process-teams:read-incident:v4", map[string]any{"id": id}); status != http.StatusNotFound {
		t.Fatalf("read after the reset: %d, want 404", status)
	}
	if status, _ := send(t, gw, "agile-process-teams:add-incident:v5", map[string]any{"aptBusinessObjectSummary": "after the reset"}); status != http.StatusOK {
		t.Fatalf("the seed's credentials after the reset: %d", status)
	}
}
