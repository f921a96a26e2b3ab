package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	childStopWait  = 10 * time.Second
	childStartWait = 60 * time.Second
)

// gatewayPackage is what the bench builds when no --gateway-bin is given.
// Built by import path, it builds from any directory of the checkout.
const gatewayPackage = "github.com/scwm-gateway/scwm-gateway/cmd/scwm-gateway"

// buildGateway builds the gateway of this checkout into dir with the go
// command, and returns the binary's path. The go command runs in the
// caller's own environment, as `go build` typed by hand would.
func buildGateway(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "scwm-gateway")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, gatewayPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build the gateway (run from this checkout, or give --gateway-bin): go build %s: %v\n%s", gatewayPackage, err, out)
	}
	return bin, nil
}

// childVariables are the variables of the bench's environment that the
// processes it starts see: the Go runtime's, and what a process needs to
// find its way (PATH, HOME, TMPDIR). Nothing else passes, so that no SCWM_*
// or MONGODB_URI setting of the caller changes what is measured.
var childVariables = []string{"PATH", "HOME", "TMPDIR", "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG", "GOTRACEBACK"}

// childEnv is the environment of the gateway and the baseline store: the
// childVariables that getenv has, and JSON logs, which the bench reads.
func childEnv(getenv func(string) string) []string {
	var env []string
	for _, name := range childVariables {
		if v := getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return append(env, "SCWM_LOG_FORMAT=json")
}

// The REST users and OAuth client a seed written withREST declares.
const (
	seedUsername     = "bench@bench.example"
	seedPassword     = "bench-password-1"
	seedOAuthClient  = "bench-oauth"
	seedOAuthSecret  = "bench-oauth-secret-1"
	seedOAuthCompany = seedOwner
)

// writeSeed writes a gateway seed file with bench-co, bench-partner,
// bench-net and one API client of bench-co per benchmark client, and, with
// withREST, a REST user and an OAuth client of bench-co (a user costs a
// password hash check at every start, so only what needs one has it).
func writeSeed(path string, n int, withREST bool) (*seedFile, error) {
	type client struct {
		APIKey    string `json:"apiKey"`
		APISecret string `json:"apiSecret"`
		CompanyID string `json:"companyId"`
		UserID    string `json:"userId"`
	}
	seed := struct {
		Companies    []map[string]string `json:"companies"`
		Networks     []map[string]any    `json:"networks"`
		Clients      []client            `json:"clients"`
		Users        []map[string]string `json:"users,omitempty"`
		OAuthClients []map[string]string `json:"oauthClients,omitempty"`
	}{
		Companies: []map[string]string{{"id": seedOwner, "name": seedOwnerName}, {"id": seedPartner, "name": seedPartnerName}},
		Networks:  []map[string]any{{"id": seedNetwork, "members": []string{seedOwner, seedPartner}}},
	}
	if withREST {
		seed.Users = []map[string]string{{"username": seedUsername, "password": seedPassword, "companyId": seedOwner, "name": "Bench User"}}
		seed.OAuthClients = []map[string]string{{"clientId": seedOAuthClient, "clientSecret": seedOAuthSecret, "companyId": seedOAuthCompany}}
	}
	sf := &seedFile{path: path}
	for i := range n {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		c := client{APIKey: apiKeyOf(i), APISecret: hex.EncodeToString(b), CompanyID: seedOwner, UserID: userID(i)}
		seed.Clients = append(seed.Clients, c)
		sf.keys, sf.secrets = append(sf.keys, c.APIKey), append(sf.secrets, c.APISecret)
	}
	raw, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return nil, err
	}
	return sf, os.WriteFile(path, raw, 0o600)
}

// apiKeyOf is the API key of worker i in the seed.
func apiKeyOf(i int) string { return fmt.Sprintf("bench-key-%04d", i) }

// child is a process the bench started: the gateway or the baseline store.
type child struct {
	name    string
	cmd     *exec.Cmd
	log     *childLog
	addr    string
	exited  chan struct{}
	waitErr error
	stopped bool
}

// spawn runs bin with args in env; its standard error goes to a childLog
// that watches for the JSON log line whose message is ready (empty: none).
// hook, if set, sees every line of that log, on the log's goroutine.
func spawn(name, bin string, env []string, ready string, hook func(line []byte), args ...string) (*child, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), log: newChildLog(ready), exited: make(chan struct{})}
	c.log.hook = hook
	c.cmd.Env = env
	c.cmd.Stdout = io.Discard
	c.cmd.Stderr = c.log // exec drains the pipe for the child's whole life
	c.cmd.WaitDelay = 5 * time.Second
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// startChild runs bin with args in env and waits for the JSON log line
// whose message is ready, whose addr it records.
func startChild(ctx context.Context, name, bin string, env []string, ready string, args ...string) (*child, error) {
	c, err := spawn(name, bin, env, ready, nil, args...)
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(childStartWait)
	defer timer.Stop()
	select {
	case c.addr = <-c.log.ready:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before listening (%v):\n%s", name, c.waitErr, c.log.tail())
	case <-timer.C:
		c.stop()
		return nil, fmt.Errorf("%s did not log %q within %v:\n%s", name, ready, childStartWait, c.log.tail())
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// kill ends the child with SIGKILL, as a crash would, and waits for it.
func (c *child) kill() {
	if c.stopped {
		return
	}
	c.stopped = true
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// stop sends SIGTERM and waits; after childStopWait it kills. It reports an
// exit that was not clean.
func (c *child) stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(childStopWait)
	defer timer.Stop()
	select {
	case <-c.exited:
		if c.waitErr != nil {
			return fmt.Errorf("%s exited with %v:\n%s", c.name, c.waitErr, c.log.tail())
		}
		return nil
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", c.name, childStopWait)
	}
}

// childLog takes a child's standard error: it finds the ready line, counts
// the lines at warn and error level and keeps the last of them.
type childLog struct {
	mu        sync.Mutex
	readyMsg  string
	ready     chan string
	found     bool
	partial   []byte
	last      []string // the last lines, any level
	lines     int
	warns     int
	errs      int
	lastError string
	hook      func(line []byte)
}

func newChildLog(ready string) *childLog {
	return &childLog{readyMsg: ready, ready: make(chan string, 1)}
}

func (l *childLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) == 0 {
		l.partial = nil // let the buffer go between writes
	}
	return len(p), nil
}

func (l *childLog) line(line []byte) {
	l.lines++
	if l.hook != nil {
		l.hook(line)
	}
	if len(l.last) == 20 {
		l.last = l.last[1:]
	}
	l.last = append(l.last, truncate(string(line), 1000))
	if !l.found && l.readyMsg != "" && bytes.Contains(line, []byte(l.readyMsg)) {
		var e struct {
			Message string `json:"message"`
			Msg     string `json:"msg"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal(line, &e) == nil && (e.Message == l.readyMsg || e.Msg == l.readyMsg) && e.Addr != "" {
			l.found = true
			l.ready <- e.Addr
		}
	}
	switch {
	case bytes.Contains(line, []byte(`"level":"error"`)) || bytes.Contains(line, []byte(`"level":"fatal"`)):
		l.errs++
		l.lastError = truncate(string(line), 1000)
	case bytes.Contains(line, []byte(`"level":"warn"`)):
		l.warns++
	}
}

func (l *childLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, "\n")
}

// logStats is what the gateway logged during the run.
type logStats struct {
	Lines     int    `json:"lines"`
	Warnings  int    `json:"warnLines"`
	Errors    int    `json:"errorLines"`
	LastError string `json:"lastErrorLine,omitempty"`
}

func (l *childLog) stats() *logStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &logStats{Lines: l.lines, Warnings: l.warns, Errors: l.errs, LastError: l.lastError}
}
