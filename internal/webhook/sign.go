// Package webhook delivers webhook requests the way receivers can trust and
// the gateway can afford: signed as the Standard Webhooks specification
// says (webhook-id, webhook-timestamp, webhook-signature: an HMAC-SHA256
// of "id.timestamp.body" under the subscription's secret), sent only to
// addresses the deployment allows (never, unless allowed, to loopback,
// private, link-local or cloud-metadata addresses, checked on the address
// actually dialled), without following redirects, within a short timeout,
// and reading at most a bounded excerpt of the answer.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// secretPrefix starts a secret's text, as Standard Webhooks writes them.
const secretPrefix = "whsec_"

// secretBytes is the length of a new secret's key.
const secretBytes = 32

// NewSecret is a new random secret, as its text ("whsec_" and the base64
// of the key).
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret is the key of a secret's text: "whsec_" and base64, or the
// base64 alone.
func ParseSecret(text string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, secretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook: a secret is \"whsec_\" and the base64 of its key")
	}
	return key, nil
}

// Sign is the webhook-signature of a message: "v1," and the base64 of the
// HMAC-SHA256 of "id.timestamp.body" under key.
func Sign(key []byte, id string, timestamp time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SetHeaders sets the headers of a signed delivery on h.
func SetHeaders(h http.Header, key []byte, id string, timestamp time.Time, body []byte) {
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(timestamp.Unix(), 10))
	h.Set("webhook-signature", Sign(key, id, timestamp, body))
}

// ErrSignature is the failure of Verify.
var ErrSignature = errors.New("webhook: the signature does not verify")

// Verify checks a delivery as a receiver does: a webhook-signature entry
// (one of those separated by spaces) is the signature of the id, the
// timestamp and the body under key, and the timestamp is within
// tolerance of now, so that an old delivery cannot be replayed.
func Verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return fmt.Errorf("%w: webhook-id or webhook-timestamp is missing", ErrSignature)
	}
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: the timestamp is %v from now", ErrSignature, d.Round(time.Second))
	}
	want := Sign(key, id, at, body)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}
