package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startEphemeral runs `serve --ephemeral` with extra flags and returns the
// process and the JSON line it printed once ready.
func startEphemeral(t *testing.T, extra ...string) (*exec.Cmd, readyLine, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(gatewayBinary(t), append([]string{"serve", "--ephemeral"}, extra...)...)
	cmd.Env = durEnviron()
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(out)
	text, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v", err)
	}
	var line readyLine
	if err := json.Unmarshal([]byte(text), &line); err != nil || line.URL == "" || line.APIKey == "" || line.APISecret == "" || line.OwnerID == "" {
		t.Fatalf("the ready line %q (%v)", text, err)
	}
	return cmd, line, r
}

// addWith sends add-incident with the ready line's credentials.
func addWith(t *testing.T, line readyLine) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"header": map[string]any{"headerVersion": 1, "eventName": "agile-process-teams:add-incident:v5", "ownerId": line.OwnerID,
			"processNetworkId": line.ProcessNetworkID, "appName": "agile-process-teams", "dataspace": "default"},
		"payload": map[string]any{"aptBusinessObjectSummary": "from a harness"},
	})
	req, _ := http.NewRequest(http.MethodPost, line.URL+"/api/events", bytes.NewReader(body))
	req.Header.Set("Authorization", line.Authorization)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// An ephemeral gateway prints one JSON line once it serves, works with
// the credentials in it, prints nothing else, and leaves nothing behind.
func TestEphemeralPrintsItsLineServesAndLeavesNothing(t *testing.T) {
	t.Parallel()
	cmd, line, rest := startEphemeral(t)
	if status := addWith(t, line); status != http.StatusOK {
		t.Fatalf("add with the ready line's credentials: %d", status)
	}
	if _, err := os.Stat(filepath.Join(line.DataDir, "gateway.db")); err != nil {
		t.Fatalf("the ready line's dataDir: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	more, _ := io.ReadAll(rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if len(bytes.TrimSpace(more)) != 0 {
		t.Errorf("stdout after the ready line: %q", more)
	}
	if _, err := os.Stat(line.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary store is left behind: %v", err)
	}
}

// With --seed, the line names the seed's first client in its company's
// first network; --ephemeral refuses a data directory or MongoDB.
func TestEphemeralWithASeedAndWhatItRefuses(t *testing.T) {
	t.Parallel()
	_, seed := durBuild(t)
	_, line, _ := startEphemeral(t, "--seed", seed)
	if line.APIKey != "acme-key" || line.APISecret != "acme-secret-0123456789" || line.OwnerID != "acme" || line.ProcessNetworkID != "net-1" {
		t.Fatalf("the ready line of a seeded gateway: %+v", line)
	}
	if status := addWith(t, line); status != http.StatusOK {
		t.Fatalf("add with the seed's client: %d", status)
	}
	for _, extra := range [][]string{{"--data-dir", t.TempDir()}, {"--mongo-uri", "mongodb://127.0.0.1:1"}} {
		var stderr bytes.Buffer
		cmd := exec.Command(gatewayBinary(t), append([]string{"serve", "--ephemeral"}, extra...)...)
		cmd.Env, cmd.Stderr = durEnviron(), &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(stderr.String(), "--ephemeral") {
				t.Errorf("serve --ephemeral %v: %v %s", extra, err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("serve --ephemeral %v did not refuse", extra)
		}
	}
}

// An ephemeral gateway prints an admin token; a reset with it empties the
// data and keeps the printed credentials working.
func TestEphemeralResetKeepsTheCredentials(t *testing.T) {
	t.Parallel()
	_, line, _ := startEphemeral(t)
	if line.AdminToken == "" {
		t.Fatal("the ready line has no adminToken")
	}
	if status := addWith(t, line); status != http.StatusOK {
		t.Fatalf("add: %d", status)
	}
	req, _ := http.NewRequest(http.MethodPost, line.URL+"/api/admin/reset", nil)
	req.Header.Set("Authorization", "Bearer "+line.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"reset"`) {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	if status := addWith(t, line); status != http.StatusOK {
		t.Fatalf("add with the printed credentials after the reset: %d", status)
	}
}

// --admin-token on a store that no seed and no kept first run made is
// refused at the start: a reset would leave it without credentials.
func TestAdminTokenNeedsASeed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := cliRun(nil, "clients", "create", "--company", "acme", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	_, err := cliRun(nil, "serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--admin-token", "x")
	if err == nil || !strings.Contains(err.Error(), "--admin-token") || !strings.Contains(err.Error(), "--seed") {
		t.Fatalf("serve --admin-token on a store without a seed: %v", err)
	}
}
