package webhook_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scwm-gateway/scwm-gateway/internal/webhook"
)

// The signature of the Standard Webhooks specification's example.
func TestSignMatchesTheSpecification(t *testing.T) {
	t.Parallel()
	key, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyRefusesWhatWasNotSigned(t *testing.T) {
	t.Parallel()
	secret, err := webhook.NewSecret()
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("NewSecret: %q %v", secret, err)
	}
	key, _ := webhook.ParseSecret(secret)
	other, _ := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	at := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"d1"}`)
	h := http.Header{}
	webhook.SetHeaders(h, key, "d1", at, body)
	if err := webhook.Verify(key, h, body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	for name, check := range map[string]func() error{
		"another body":   func() error { return webhook.Verify(key, h, []byte(`{"id":"d2"}`), at, 5*time.Minute) },
		"another secret": func() error { return webhook.Verify(other, h, body, at, 5*time.Minute) },
		"too old":        func() error { return webhook.Verify(key, h, body, at.Add(time.Hour), 5*time.Minute) },
		"no id": func() error {
			h2 := h.Clone()
			h2.Del("webhook-id")
			return webhook.Verify(key, h2, body, at, 5*time.Minute)
		},
	} {
		if err := check(); !errors.Is(err, webhook.ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := webhook.ParseSecret("whsec_not base64!"); err == nil {
		t.Error("a secret that is not base64 was taken")
	}
}

func TestInternalAddresses(t *testing.T) {
	t.Parallel()
	for _, a := range []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fe80::1",
		"fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "0.0.0.0", "::", "100.64.0.1", "224.0.0.1", "ff02::1", "198.18.0.1"} {
		if !webhook.Internal(netip.MustParseAddr(a)) {
			t.Errorf("%s is not refused", a)
		}
	}
	for _, a := range []string{"93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"} {
		if webhook.Internal(netip.MustParseAddr(a)) {
			t.Errorf("%s is refused", a)
		}
	}
}

// receiver is a test endpoint on loopback, which only a client that
// allows private addresses reaches.
func receiver(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDeliverRefusesInternalAddressesUnlessAllowed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	url := receiver(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	key := []byte("k")
	strict := webhook.NewClient(time.Second, false, true)
	for _, endpoint := range []string{url, strings.Replace(url, "127.0.0.1", "localhost", 1)} {
		if _, err := strict.Deliver(context.Background(), endpoint, key, "d1", time.Now(), []byte(`{}`)); !errors.Is(err, webhook.ErrAddress) {
			t.Errorf("%s: %v, want it refused", endpoint, err)
		}
	}
	if _, err := webhook.NewClient(time.Second, true, false).Deliver(context.Background(), url, key, "d1", time.Now(), []byte(`{}`)); !errors.Is(err, webhook.ErrAddress) {
		t.Errorf("http:// without AllowHTTP: %v", err)
	}
	for _, bad := range []string{"ftp://example.com/x", "/relative", "https://"} {
		if _, err := webhook.NewClient(time.Second, true, true).Deliver(context.Background(), bad, key, "d1", time.Now(), []byte(`{}`)); !errors.Is(err, webhook.ErrAddress) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("a refused delivery reached the endpoint %d times", hits.Load())
	}
	res, err := webhook.NewClient(time.Second, true, true).Deliver(context.Background(), url, key, "d1", time.Now(), []byte(`{}`))
	if err != nil || !res.OK() || hits.Load() != 1 {
		t.Fatalf("allowed: %+v %v (hits %d)", res, err, hits.Load())
	}
}

func TestDeliverSignsAndBoundsWhatItReads(t *testing.T) {
	t.Parallel()
	key := []byte("a key of the subscription")
	body := []byte(`{"id":"d7","type":"agile-process-teams:edit-incident:v5"}`)
	var verified atomic.Bool
	signed := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		verified.Store(webhook.Verify(key, r.Header, got, time.Now(), time.Minute) == nil && r.Header.Get("Content-Type") == "application/json")
		w.WriteHeader(http.StatusNoContent)
	})
	c := webhook.NewClient(5*time.Second, true, true)
	if res, err := c.Deliver(context.Background(), signed, key, "d7", time.Now(), body); err != nil || res.Status != 204 || !verified.Load() {
		t.Fatalf("signed delivery: %+v %v, verified %v", res, err, verified.Load())
	}

	// Ten megabytes of answer: the client reads its excerpt and hangs up.
	huge := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 160 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	res, err := c.Deliver(context.Background(), huge, key, "d8", time.Now(), body)
	if err != nil || res.Status != 500 || res.OK() || len(res.Excerpt) != webhook.DefaultMaxExcerpt {
		t.Fatalf("a huge answer: %v, excerpt %d bytes, %v", res.Status, len(res.Excerpt), err)
	}

	// A redirect is the answer, not followed.
	var followed atomic.Bool
	target := receiver(t, func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	redirect := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	})
	if res, err := c.Deliver(context.Background(), redirect, key, "d9", time.Now(), body); err != nil || res.Status != 307 || res.OK() || followed.Load() {
		t.Fatalf("a redirect: %+v %v, followed %v", res, err, followed.Load())
	}
}

// A receiver that never answers costs the client its timeout, no more:
// the delivery fails with a timeout.
func TestDeliverGivesUpOnASlowReceiver(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	// Registered after the server's, so run before it: the server's Close
	// waits for this handler.
	t.Cleanup(func() { close(release) })
	_, err := webhook.NewClient(50*time.Millisecond, true, true).Deliver(context.Background(), slow, []byte("k"), "d1", time.Now(), []byte(`{}`))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("a receiver that never answers: %v, want a timeout", err)
	}
}
