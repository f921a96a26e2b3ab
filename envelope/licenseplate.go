package envelope

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// plateAlphabet is 64 characters that RFC 3986 leaves unreserved, in ASCII
// order, so that plates sort by the time they were made. It has no '-', so a
// plate never starts with one and reads as a flag to grep.
const plateAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"

var plateEncoding = base64.NewEncoding(plateAlphabet).WithPadding(base64.NoPadding)

// LicensePlateLen is the length of every license plate.
const LicensePlateLen = 16

// NewLicensePlate returns a fresh license plate: 16 URL-safe characters
// encoding 48 bits of millisecond time followed by 48 random bits. Plates made
// by any number of gateway instances are unique unless two of them draw the
// same 48 random bits in the same millisecond, and they sort by time, which
// helps support find a request in logs.
func NewLicensePlate() string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (Go 1.24+)
	return plateEncoding.EncodeToString(b[:])
}
