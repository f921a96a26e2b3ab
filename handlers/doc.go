// Package handlers is the application: the core every surface calls
// (Dispatch, with the registry that maps each SCWM event name to its
// handler, schema and help line), authentication and authorization of
// callers (the Directory of API clients and networks), the idempotency of
// requests, and the incident domain (lifecycle, partners, comments, follow,
// history, copy groups), all testable without HTTP.
//
// It declares the Store it needs and leaves persistence to package store,
// the SCWM wire protocol to package envelope, and HTTP to package
// internal/httpapi. Failure gives every error its kind in one place; each
// surface turns kinds into its own wire format.
package handlers
