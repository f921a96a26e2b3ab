package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is returned when a write would give a second record a key
// that is taken.
var ErrDuplicate = errors.New("duplicate key")

// UserIDTaken is the error of a write that would give a user the id that
// another user (of another username) has: user ids are unique, as objects
// name their users by them.
func UserIDTaken(id string) error {
	return fmt.Errorf("the user id %q is another user's: %w", id, ErrDuplicate)
}

// ErrConflict is returned when a change was planned from a version of the
// incident that is no longer the latest: another change came first.
var ErrConflict = errors.New("the incident changed meanwhile")

// ErrBusy is returned when an operation could not start within the store
// timeout because the store's other writes held it.
var ErrBusy = errors.New("the store is busy")

// ErrDiskFull is returned when the embedded store's disk is (nearly) full.
var ErrDiskFull = errors.New("the store's disk is full")

// ErrInUse is returned by an embedded store whose data directory another
// process holds open.
var ErrInUse = errors.New("the data directory is in use by another process")

// UnavailableError is a failure that passes: the store could not be
// reached, could not do the operation in time, or had no room for it (as
// opposed to refusing the operation). A later retry may succeed. Stores
// wrap such failures in it (Unavailable) so that callers need not know
// their drivers' errors.
type UnavailableError struct {
	// Reason says in a few words why, for an error message.
	Reason string
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable wraps err as a passing failure with its reason.
func Unavailable(reason string, err error) error {
	return &UnavailableError{Reason: reason, Err: err}
}

// IsUnavailable reports whether err is a passing failure of the store (see
// UnavailableError): a later retry may succeed.
func IsUnavailable(err error) bool { return UnavailableReason(err) != "" }

// UnavailableReason says, in a few words for an error message, why the
// store was unavailable for err, or "" if err is not unavailability.
func UnavailableReason(err error) string {
	var ue *UnavailableError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ue):
		return ue.Reason
	case errors.Is(err, ErrBusy):
		return "the store is busy with other writes"
	case errors.Is(err, ErrDiskFull):
		return ErrDiskFull.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "the store did not answer in time"
	}
	return ""
}

// Wrap adds what failed to err, keeping the sentinel errors reachable.
func Wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
