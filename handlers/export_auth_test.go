package handlers

import "context"

// HoldPasswordChecks takes every password-check slot of g until release is
// called, so that a test sees what a sign-in finds when all are busy.
func HoldPasswordChecks(g *Gateway) (release func()) { return g.oauth.HoldPasswordChecks() }

// PollDirectory does what g's directory does at each poll interval: it
// reloads the clients if their revision in the store changed.
func PollDirectory(g *Gateway) error { return g.dir.catchUp(context.Background(), false) }
