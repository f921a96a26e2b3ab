package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// get is the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The gateway serves /metrics with the API, or, with --metrics-addr, on
// that address alone: the API's address then says where they are.
func TestMetricsServedWithTheAPIOrOnTheirOwnAddress(t *testing.T) {
	t.Parallel()
	t.Run("with the API", func(t *testing.T) {
		t.Parallel()
		_, line, _ := startEphemeral(t)
		addWith(t, line)
		status, body := get(t, line.URL+"/metrics")
		if status != http.StatusOK || !strings.Contains(body, `scwm_requests_total{event="agile-process-teams:add-incident:v5",exception="",status="200",surface="events"} 1`) ||
			!strings.Contains(body, "scwm_store_group_commit_writes_count") || !strings.Contains(body, "scwm_build_info{version=") {
			t.Fatalf("GET /metrics: %d\n%s", status, body)
		}
	})
	t.Run("on their own address", func(t *testing.T) {
		t.Parallel()
		addr := gatewaytest.FreeLoopbackAddr(t)
		_, line, _ := startEphemeral(t, "--metrics-addr", addr)
		addWith(t, line)
		if status, body := get(t, line.URL+"/metrics"); status != http.StatusNotFound || !strings.Contains(body, "--metrics-addr") {
			t.Errorf("the API's /metrics: %d %s", status, body)
		}
		if status, body := get(t, "http://"+addr+"/metrics"); status != http.StatusOK || !strings.Contains(body, `surface="events"} 1`) {
			t.Errorf("the metrics address: %d\n%s", status, body)
		}
	})
}
