package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// gatewayStartWait bounds a gateway's start, up to /readyz answering 200.
// It is long because an old gateway may take long to open a big store.
const gatewayStartWait = 5 * time.Minute

// binary is a gateway binary a run measures: the one under test ("new",
// --gateway-bin) or the one it is compared with ("old", --compare-bin).
type binary struct {
	Label   string `json:"label"`
	Path    string `json:"path"`
	Version string `json:"version"`
	// limitFlags turn off the binary's rate limits: every gateway has
	// --rate-limit, later ones --company-rate-limit too.
	limitFlags []string
}

// resolveBinaries returns the binaries of a run: --gateway-bin (or the
// gateway of this checkout, built into tmp) and, if given, --compare-bin.
func resolveBinaries(ctx context.Context, gatewayBin, compareBin, tmp string, progress func(string, ...any)) ([]binary, error) {
	if gatewayBin == "" {
		progress("building the gateway: go build -o %s %s", filepath.Join(tmp, "scwm-gateway"), gatewayPackage)
		var err error
		if gatewayBin, err = buildGateway(ctx, tmp); err != nil {
			return nil, err
		}
	}
	bins := []binary{{Label: "new", Path: gatewayBin}}
	if compareBin != "" {
		bins = append(bins, binary{Label: "old", Path: compareBin})
	}
	for i := range bins {
		if _, err := os.Stat(bins[i].Path); err != nil {
			return nil, fmt.Errorf("gateway binary: %w", err)
		}
		bins[i].Version = binaryVersion(ctx, bins[i].Path)
		bins[i].limitFlags = []string{"--rate-limit", "0"}
		if supportsServeFlag(ctx, bins[i].Path, "company-rate-limit") {
			bins[i].limitFlags = append(bins[i].limitFlags, "--company-rate-limit", "0")
		}
	}
	return bins, nil
}

// binaryVersion is what `scwm-gateway version` prints, without the name.
func binaryVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "scwm-gateway"))
}

// supportsCommand reports whether the gateway binary has the command name
// (such as import or embedded-store): an unknown command is refused with
// `unknown command "name"`.
func supportsCommand(ctx context.Context, bin, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, name, "-h").CombinedOutput()
	return !strings.Contains(string(out), fmt.Sprintf("unknown command %q", name))
}

// supportsServeFlag reports whether the gateway binary's serve command
// lists the flag name in its usage.
func supportsServeFlag(ctx context.Context, bin, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "serve", "-h").CombinedOutput()
	return strings.Contains(string(out), "-"+name+" ")
}

// gateway is one gateway binary run as `serve` on a data directory of its
// own, with the bench's seed: started, stopped, killed and started again on
// the same directory and address.
type gateway struct {
	bin     binary
	dataDir string
	seed    *seedFile
	env     []string
	// flags are serve flags beyond the bench's own (address, data
	// directory, seed, no rate limits).
	flags []string
	// hook sees every line the gateway logs (the log is JSON).
	hook func(line []byte)

	addr      string
	proc      *child
	startedAt time.Time // when the running process was started
	readyAt   time.Time // when its /readyz first answered 200
}

// seedFile is a seed file the bench wrote, with the API keys it declares.
type seedFile struct {
	path          string
	keys, secrets []string
}

// start runs the gateway and waits until GET /readyz answers 200; it
// returns that time from the process start. The first start picks a free
// loopback port; later starts keep it, so that clients keep their URL.
func (g *gateway) start(ctx context.Context) (time.Duration, error) {
	fixed := g.addr != ""
	for try := 0; ; try++ {
		if !fixed {
			addr, err := freeAddr()
			if err != nil {
				return 0, err
			}
			g.addr = addr
		}
		args := append([]string{"serve", "--addr", g.addr, "--data-dir", g.dataDir, "--seed", g.seed.path}, g.bin.limitFlags...)
		args = append(args, g.flags...)
		started := time.Now()
		c, err := spawn("gateway "+g.bin.Label, g.bin.Path, g.env, "", g.hook, args...)
		if err != nil {
			return 0, err
		}
		ready, err := waitReady(ctx, c, "http://"+g.addr+"/readyz", gatewayStartWait)
		if err == nil {
			g.proc, g.startedAt, g.readyAt = c, started, ready
			return ready.Sub(started), nil
		}
		c.kill()
		// A port taken between the probe and the start: try another.
		if !fixed && try < 2 && strings.Contains(c.log.tail(), "address already in use") && ctx.Err() == nil {
			continue
		}
		return 0, err
	}
}

// stop ends the gateway with SIGTERM and waits for it.
func (g *gateway) stop() error {
	if g.proc == nil {
		return nil
	}
	p := g.proc
	g.proc = nil
	return p.stop()
}

// kill ends the gateway with SIGKILL, as a crash would.
func (g *gateway) kill() {
	if g.proc != nil {
		g.proc.kill()
		g.proc = nil
	}
}

// pid is the running gateway's process id, 0 when none runs.
func (g *gateway) pid() int {
	if g.proc == nil {
		return 0
	}
	return g.proc.cmd.Process.Pid
}

// access is how clients reach the gateway.
func (g *gateway) access() access {
	return access{url: "http://" + g.addr + "/api/events", owner: seedOwner, network: seedNetwork,
		keys: g.seed.keys, secrets: g.seed.secrets}
}

// waitReady polls url until it answers 200, and returns when it did. It
// fails when the process exits first or wait passes.
func waitReady(ctx context.Context, c *child, url string, wait time.Duration) (time.Time, error) {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-c.exited:
			return time.Time{}, fmt.Errorf("%s exited before it was ready (%v):\n%s", c.name, c.waitErr, c.log.tail())
		default:
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s was not ready within %v:\n%s", c.name, wait, c.log.tail())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newHTTPClient is a client with a keep-alive pool for n concurrent
// requests to one host.
func newHTTPClient(n int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        n + 16,
		MaxIdleConnsPerHost: n + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// healthVersion asks a server's /healthz for its version; it is also how
// the bench knows the server answers before the first phase.
func healthVersion(ctx context.Context, hc *http.Client, eventsURL string) (string, error) {
	base, _, _ := strings.Cut(eventsURL, "/api/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var h struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s/healthz answered %d (%v)", base, resp.StatusCode, err)
	}
	return h.Version, nil
}

// dirSize is the size of every regular file under dir, in bytes.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // removed while walking (a WAL or journal)
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return nil
				}
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}
