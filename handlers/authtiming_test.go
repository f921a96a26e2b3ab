package handlers_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// TestAuthenticationTimingReport measures what a guesser sees: the median
// time of a refused request with an unknown apiKey and with a known apiKey
// and a wrong secret, interleaved in one run. It asserts nothing (a
// measurement is not a test); run it by hand:
//
//	SCWM_TIMING=1 go test -count=1 -run TestAuthenticationTimingReport -v ./handlers/
func TestAuthenticationTimingReport(t *testing.T) {
	if os.Getenv("SCWM_TIMING") == "" {
		t.Skip("a measurement: set SCWM_TIMING=1 to run it")
	}
	h := gt.Start(t, gt.Options{})
	body := gt.Envelope(gt.Acme, readIncident, map[string]any{"id": "01a2080c-0000-7000-8000-000000000000"})
	const n = 2000
	var unknown, known []time.Duration
	for i := range 2 * n {
		c := gt.Client{APIKey: gt.Acme.APIKey, APISecret: fmt.Sprintf("wrong-secret-%08d", i)}
		if i%2 == 0 {
			c.APIKey = credentials.NewAPIKey() // never seen before
		}
		start := time.Now()
		r := h.Post(t, body, gt.Basic(c), nil)
		d := time.Since(start)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("answered %d", r.Status)
		}
		if i < 200 {
			continue // warm-up
		}
		if i%2 == 0 {
			unknown = append(unknown, d)
		} else {
			known = append(known, d)
		}
	}
	median := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	t.Logf("median of %d refusals: unknown apiKey %v, known apiKey with a wrong secret %v", len(unknown), median(unknown), median(known))
}
