package httpapi

import (
	"net"
	"net/http"
)

// clientAddress is the host part of the peer address. The gateway does not
// trust X-Forwarded-For: behind a proxy, the proxy should do this throttling.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
