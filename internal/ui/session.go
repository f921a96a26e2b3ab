package ui

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"github.com/scwm-gateway/scwm-gateway/handlers"
)

// Bounds of the sessions.
const (
	// MaxSessions bounds the sessions kept in memory; when it is reached, a
	// new sign-in first forgets the expired sessions, then the one used
	// least recently.
	MaxSessions = 10000
	// SessionLifetime is how long a session lasts from its sign-in, used or
	// not.
	SessionLifetime = 8 * time.Hour
	// SessionIdle is how long a session lasts without a request.
	SessionIdle = 30 * time.Minute
)

// session is one signed-in browser: who it is, how to check again that it
// may still act, and its token against cross-site requests. It lives in
// the gateway's memory only; the browser holds its random id.
type session struct {
	id   string
	csrf string
	// caller is who the session acts as on every page.
	caller handlers.Caller
	// who names the caller on the pages.
	who string
	// apiKey and secret are the API key's credentials, checked again on
	// every request so that a revoked key ends its sessions; userID is
	// the user's id, whose user must still be allowed to sign in.
	apiKey, secret, userID string
	created, lastUsed      time.Time
}

// sessions are the signed-in sessions, bounded in number, expiring by the
// gateway's clock.
type sessions struct {
	now func() time.Time
	max int

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(now func() time.Time, max int) *sessions {
	return &sessions{now: now, max: max, byID: map[string]*session{}}
}

// randomToken is an unguessable token, URL- and cookie-safe.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// expired reports whether s may no longer be used at now.
func (s *session) expired(now time.Time) bool {
	return !now.Before(s.created.Add(SessionLifetime)) || !now.Before(s.lastUsed.Add(SessionIdle))
}

// add keeps a new session for the caller and returns it, with a fresh id
// and token.
func (ss *sessions) add(s *session) *session {
	now := ss.now()
	s.id, s.csrf, s.created, s.lastUsed = randomToken(), randomToken(), now, now
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= ss.max {
		for id, old := range ss.byID {
			if old.expired(now) {
				delete(ss.byID, id)
			}
		}
	}
	for len(ss.byID) >= ss.max {
		var oldest *session
		for _, old := range ss.byID {
			if oldest == nil || old.lastUsed.Before(oldest.lastUsed) {
				oldest = old
			}
		}
		delete(ss.byID, oldest.id)
	}
	ss.byID[s.id] = s
	return s
}

// get finds the live session of id and marks it used; an expired one is
// forgotten.
func (ss *sessions) get(id string) (*session, bool) {
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if !ok {
		return nil, false
	}
	if s.expired(now) {
		delete(ss.byID, id)
		return nil, false
	}
	s.lastUsed = now
	return s, true
}

// remove forgets a session (sign-out).
func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}
