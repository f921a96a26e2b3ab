package credentials

import (
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	if len(secret) < 40 || strings.ContainsAny(secret, "+/=") {
		t.Fatalf("secret %q is short or not URL-safe", secret)
	}
	hash := HashSecret(secret)
	if strings.Contains(hash, secret) {
		t.Fatal("the hash contains the secret")
	}
	if !Verify(hash, secret) {
		t.Fatal("the right secret was refused")
	}
	for _, wrong := range []string{"", secret[:len(secret)-1], secret + "x", strings.ToUpper(secret)} {
		if Verify(hash, wrong) {
			t.Fatalf("wrong secret %q accepted", wrong)
		}
	}
	if Verify("", secret) || Verify("md5:abc", secret) || Verify("sha256:zz", secret) {
		t.Fatal("an unknown or malformed hash matched")
	}
	if a, b := NewAPIKey(), NewAPIKey(); a == b || !strings.HasPrefix(a, APIKeyPrefix) {
		t.Fatalf("api keys %q %q", a, b)
	}
}

func TestSealOpensOnlyForTheSameSecretAndRecord(t *testing.T) {
	t.Parallel()
	seed := AnswerSeed("alice-secret-0123456789")
	sealed := Seal(seed, "rec-1", []byte(`{"apiSecret":"s3cret"}`))
	if strings.Contains(string(sealed), "s3cret") {
		t.Fatal("the sealed text holds the plaintext")
	}
	if got, err := Open(seed, "rec-1", sealed); err != nil || string(got) != `{"apiSecret":"s3cret"}` {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := Open(AnswerSeed("bob-secret-0123456789"), "rec-1", sealed); err == nil {
		t.Fatal("another secret opened the answer")
	}
	if _, err := Open(seed, "rec-2", sealed); err == nil {
		t.Fatal("the answer opened under another record")
	}
}
