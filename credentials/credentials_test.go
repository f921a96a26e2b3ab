package credentials

import (
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
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
