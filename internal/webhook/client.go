package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Client sends deliveries. Its zero value is not usable: see NewClient.
type Client struct {
	// AllowPrivate lets deliveries go to loopback, private and link-local
	// addresses (a test harness on one machine).
	AllowPrivate bool
	// AllowHTTP lets deliveries go to http:// endpoints; otherwise only
	// https:// ones are sent to.
	AllowHTTP bool
	// MaxExcerpt bounds the bytes of an answer read (and kept as its
	// excerpt); the rest is not read.
	MaxExcerpt int64

	http *http.Client
}

// Defaults of NewClient.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxExcerpt = 1 << 10
)

// NewClient is a client whose every delivery, connection and TLS
// handshake included, ends within timeout (DefaultTimeout for zero). It
// uses no proxy from the environment: a proxy would dial for it, past the
// address check.
func NewClient(timeout time.Duration, allowPrivate, allowHTTP bool) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{AllowPrivate: allowPrivate, AllowHTTP: allowHTTP, MaxExcerpt: DefaultMaxExcerpt}
	dialer := &net.Dialer{Timeout: timeout, Control: c.checkDial}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect is the endpoint's answer, never followed: it could
		// lead anywhere, past the check of the endpoint's address.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// ErrAddress is the refusal of an endpoint whose address the deployment
// does not allow.
var ErrAddress = errors.New("webhook: the endpoint's address is not allowed")

// checkDial refuses a connection to an address the client may not reach.
// It runs on the address being dialled, after name resolution, so that a
// name that resolves to an internal address (at once, or only at the
// second lookup) is refused too.
func (c *Client) checkDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrAddress, address)
	}
	if !c.AllowPrivate && Internal(ap.Addr()) {
		return fmt.Errorf("%w: %s is a loopback, private, link-local or metadata address (the deployment may allow them: --webhook-allow-private)", ErrAddress, ap.Addr())
	}
	return nil
}

// internalPrefixes are the networks Internal refuses beyond what netip's
// predicates name: "this network", shared address space (carrier-grade
// NAT), and the IETF protocol assignments.
var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// Internal reports whether a is an address no webhook should reach from a
// gateway that does not allow it: loopback, private (RFC 1918, unique
// local), link-local (the cloud metadata address 169.254.169.254 among
// them), unspecified, multicast, and the other internal ranges, in IPv4,
// IPv6 and IPv4-mapped form.
func Internal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Result is what an endpoint answered a delivery.
type Result struct {
	Status  int
	Latency time.Duration
	// Excerpt is the start of the answer's body, at most MaxExcerpt
	// bytes.
	Excerpt string
}

// OK reports whether the endpoint took the delivery: a 2xx answer.
func (r *Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Deliver posts a signed JSON body to endpoint. An endpoint that is not
// allowed, or that cannot be reached in time, is an error; any answer,
// redirects included, is a Result.
func (c *Client) Deliver(ctx context.Context, endpoint string, key []byte, id string, timestamp time.Time, body []byte) (*Result, error) {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Host == "":
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrAddress, endpoint)
	case u.Scheme == "https":
	case u.Scheme == "http" && c.AllowHTTP:
	default:
		return nil, fmt.Errorf("%w: %q: endpoints are https:// (the deployment may allow http://)", ErrAddress, endpoint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "scwm-gateway-webhooks")
	SetHeaders(req.Header, key, id, timestamp, body)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, c.MaxExcerpt))
	return &Result{Status: resp.StatusCode, Latency: time.Since(start), Excerpt: string(excerpt)}, nil
}
