package credentials

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// AnswerSeed is what a caller's recorded answers are sealed under, derived
// from the apiSecret the caller presented. The store keeps only the hash of
// that secret, so it cannot derive the seed: only a caller who presents the
// secret again can read its recorded answers.
func AnswerSeed(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("scwm idempotency answer"))
	return m.Sum(nil)
}

// sealKey is the AES-256 key of one record, so that no two records share a
// key.
func sealKey(seed []byte, recordID string) []byte {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte(recordID))
	return m.Sum(nil)
}

// Seal encrypts and authenticates plaintext (AES-256-GCM) for the record
// recordID under a caller's AnswerSeed: a random nonce, then the
// ciphertext.
func Seal(seed []byte, recordID string, plaintext []byte) []byte {
	aead := newAEAD(seed, recordID)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(recordID))
}

// ErrSealed is returned by Open when the sealed text was not sealed under
// this seed and record, or was changed.
var ErrSealed = errors.New("the recorded answer cannot be opened with these credentials")

// Open undoes Seal.
func Open(seed []byte, recordID string, sealed []byte) ([]byte, error) {
	aead := newAEAD(seed, recordID)
	if len(sealed) < aead.NonceSize() {
		return nil, ErrSealed
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(recordID))
	if err != nil {
		return nil, ErrSealed
	}
	return plain, nil
}

func newAEAD(seed []byte, recordID string) cipher.AEAD {
	block, err := aes.NewCipher(sealKey(seed, recordID))
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}
