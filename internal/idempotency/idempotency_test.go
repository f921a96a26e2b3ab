package idempotency

import (
	"bytes"
	"errors"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/credentials"
)

// A recorded answer is sealed under its owner's seed and opens only for it;
// an owner without a seed records and reads answers as they are.
func TestRecordedAnswersAreSealedForTheirOwner(t *testing.T) {
	t.Parallel()
	body := []byte(`{"apiKey": "k", "apiSecret": "s3cret"}`)
	seed := credentials.AnswerSeed("the caller's secret")
	sealed := seal(seed, "record-1", body)
	if bytes.Contains(sealed, []byte("s3cret")) || !bytes.HasPrefix(sealed, sealedPrefix) {
		t.Fatalf("sealed answer %q", sealed)
	}
	if got, err := open(seed, "record-1", sealed); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("opened with the owner's seed: %q, %v", got, err)
	}
	for name, try := range map[string]func() ([]byte, error){
		"another secret": func() ([]byte, error) { return open(credentials.AnswerSeed("another"), "record-1", sealed) },
		"another record": func() ([]byte, error) { return open(seed, "record-2", sealed) },
		"no secret":      func() ([]byte, error) { return open(nil, "record-1", sealed) },
	} {
		if _, err := try(); !errors.Is(err, credentials.ErrSealed) {
			t.Errorf("opened with %s: %v", name, err)
		}
	}
	if plain := seal(nil, "record-1", body); !bytes.Equal(plain, body) {
		t.Fatalf("an answer without a seed was changed: %q", plain)
	}
	if got, err := open(nil, "record-1", body); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("an answer without a seed read back: %q, %v", got, err)
	}
}
