package ui

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/limits"
	"github.com/scwm-gateway/scwm-gateway/internal/oauth"
)

// cookieName names the session cookie; it holds the session's random id
// and nothing else.
const cookieName = "scwm_ui_session"

// signInData is the data of the sign-in page.
type signInData struct {
	Error    string
	APIKey   string
	Username string
}

func (u *UI) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := u.current(r); ok {
		http.Redirect(w, r, "/ui", http.StatusSeeOther)
		return
	}
	u.render(w, nil, http.StatusOK, "signin", "Sign in", signInData{})
}

// signIn checks an API key and its secret, or a user's password, with the
// throttle of failed sign-ins the APIs apply, and starts a session.
func (u *UI) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, nil, http.StatusRequestEntityTooLarge, "The form could not be read.")
		return
	}
	f := r.PostForm
	addr := clientAddress(r)
	var s *session
	var err error
	data := signInData{}
	switch f.Get("method") {
	case "apikey":
		data.APIKey = f.Get("apiKey")
		s, err = u.checkAPIKey(f.Get("apiKey"), f.Get("apiSecret"), addr)
	case "user":
		data.Username = f.Get("username")
		s, err = u.checkUser(r.Context(), f.Get("username"), f.Get("password"), addr)
	default:
		err = errors.New("choose how to sign in: an API key or a user")
	}
	if err != nil {
		status := http.StatusUnauthorized
		var ee *envelope.Error
		var oe *oauth.Error
		switch {
		case errors.As(err, &ee) && ee.Kind == envelope.KindRateLimitExceeded:
			status = http.StatusTooManyRequests
		case errors.As(err, &oe) && oe.Status == http.StatusTooManyRequests:
			status = http.StatusTooManyRequests
		case errors.As(err, &oe) && oe.Status == http.StatusServiceUnavailable:
			status = http.StatusServiceUnavailable
		}
		data.Error = signInMessage(err)
		u.render(w, nil, status, "signin", "Sign in", data)
		return
	}
	s = u.sessions.add(s)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: "/ui", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionLifetime.Seconds())})
	http.Redirect(w, r, "/ui", http.StatusSeeOther)
}

// signInMessage is what the sign-in page says of a failure.
func signInMessage(err error) string {
	var ee *envelope.Error
	var oe *oauth.Error
	switch {
	case errors.As(err, &ee):
		return ee.Message
	case errors.As(err, &oe):
		return oe.Description
	}
	return err.Error()
}

// checkAPIKey authenticates an API key as POST /api/events does.
func (u *UI) checkAPIKey(key, secret, addr string) (*session, error) {
	if key == "" || secret == "" {
		return nil, errors.New("signing in with an API key needs the apiKey and its apiSecret")
	}
	lim := u.gw.Limits()
	identity := limits.APIKeyIdentity(key)
	if err := lim.AuthAllowed(identity, addr); err != nil {
		return nil, err
	}
	client, ok := u.gw.Directory().Authenticate(key, secret)
	if !ok {
		lim.AuthFailed(identity, addr)
		return nil, errors.New("unknown apiKey or wrong apiSecret")
	}
	lim.AuthSucceeded(identity, addr)
	return &session{caller: handlers.NewCaller(client.APIKey, client.CompanyID, client.UserID, secret),
		who: "API key " + client.APIKey + " of " + client.CompanyID, apiKey: key, secret: secret}, nil
}

// checkUser checks a REST user's password as the password grant does.
func (u *UI) checkUser(ctx context.Context, username, password, addr string) (*session, error) {
	user, err := u.gw.OAuth().SignIn(ctx, username, password, addr)
	if err != nil {
		return nil, err
	}
	return &session{caller: handlers.NewSessionCaller("ui-"+user.ID, user.CompanyID, user.ID, ""),
		who: user.Username + " of " + user.CompanyID, userID: user.ID}, nil
}

// current is the live session of the request's cookie, if any.
func (u *UI) current(r *http.Request) (*session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, false
	}
	return u.sessions.get(c.Value)
}

// stillAllowed checks again that the session's credentials may act: the
// API key is not revoked, the user not disabled since the sign-in.
func (u *UI) stillAllowed(ctx context.Context, s *session) bool {
	if s.apiKey != "" {
		_, ok := u.gw.Directory().Authenticate(s.apiKey, s.secret)
		return ok
	}
	user, err := u.gw.FindUser(ctx, s.userID)
	return err == nil && user.MaySignIn(s.created) && user.CompanyID == s.caller.CompanyID
}

// signedIn serves h for a live session only (others are sent to the
// sign-in page), within the caller's rate limits; a POST must carry the
// session's token.
func (u *UI) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := u.current(r)
		if ok && !u.stillAllowed(r.Context(), s) {
			u.sessions.remove(s.id)
			ok = false
		}
		if !ok {
			if r.Method == http.MethodPost {
				u.fail(w, r, nil, http.StatusForbidden, "You are not signed in (or your session ended); sign in again.")
				return
			}
			http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				u.fail(w, r, s, http.StatusRequestEntityTooLarge, "The form could not be read.")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
				u.fail(w, r, s, http.StatusForbidden, "This form is not one this session showed; reload the page and try again.")
				return
			}
		}
		if err := u.gw.Limits().Allow(s.caller.APIKey, s.caller.CompanyID); err != nil {
			msg := err.Error()
			var ee *envelope.Error
			if errors.As(err, &ee) {
				msg = ee.Message
			}
			u.fail(w, r, s, http.StatusTooManyRequests, msg)
			return
		}
		h(w, r, s)
	}
}

// signOut ends the session and forgets its cookie.
func (u *UI) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	u.sessions.remove(s.id)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/ui", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
}

// trimmed bounds a form or query value shown back or sent on.
func trimmed(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
