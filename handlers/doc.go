// Package handlers is the application: the HTTP surface of the gateway, the
// registry that maps each SCWM event name to its handler, schema and help
// line, authentication and authorization of callers, and the incident rules.
//
// It declares the Store it needs and leaves persistence to package store; it
// leaves the wire format (envelopes, event names, error kinds) to package
// envelope, and turns every error into a response envelope in one place
// (respond in events.go).
package handlers
