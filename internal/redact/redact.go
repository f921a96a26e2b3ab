// Package redact hides secrets in what the gateway and its tools print: a
// connection URI's password, so that logs and reports can name the store
// they use without giving its credentials away.
package redact

import "net/url"

// URI returns uri with its password, if any, replaced by "xxxxx"; a URI that
// does not parse is returned as "(unparseable URI)", since it may hold a
// password in a place the parser did not find.
func URI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparseable URI)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}
