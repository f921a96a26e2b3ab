package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// firstRunBanner reads the credentials of a full first-run banner, and
// fails the test if stdout holds none.
func firstRunBanner(t *testing.T, stdout string) (apiKey, apiSecret string) {
	t.Helper()
	kv := map[string]string{}
	for _, m := range bannerKV.FindAllStringSubmatch(stdout, -1) {
		kv[m[1]] = m[2]
	}
	if kv["apiKey"] == "" || kv["apiSecret"] == "" || kv["ownerId"] != firstCompany || kv["processNetworkId"] != firstNetwork {
		t.Fatalf("stdout holds no first-run credentials:\n%s", stdout)
	}
	return kv["apiKey"], kv["apiSecret"]
}

// addWorks sends the add-incident event of the first-run banner with auth
// and fails the test unless it is accepted.
func addWorks(t *testing.T, addr, auth string) {
	t.Helper()
	add := `{"header":{"headerVersion":1,"eventName":"agile-process-teams:add-incident:v5","ownerId":"my-company","processNetworkId":"my-network","appName":"agile-process-teams","dataspace":"default"},"payload":{"aptBusinessObjectSummary":"first"}}`
	if status, resp := post(t, "http://"+addr+"/api/events", auth, add); status != 200 {
		t.Fatalf("the first-run credentials got %d: %v", status, resp)
	}
}

// A first start that cannot listen (the port is taken) creates nothing, so
// the start that follows is a first start and prints the credentials: a
// newcomer who frees the port loses nothing.
func TestFirstRunCredentialsSurviveAStartThatCannotListen(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"SCWM_DATA_DIR": dir, "SCWM_ADDR": taken.Addr().String()}
	err = run(context.Background(), []string{"scwm-gateway", "serve"}, func(k string) string { return env[k] }, noStdin, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("serve on a taken port returned %v", err)
	}
	if stdout.Len() > 0 {
		t.Fatalf("a start that could not listen printed:\n%s", stdout.String())
	}
	if strings.Contains(stderr.String(), "credentials") {
		t.Fatalf("a start that could not listen logged credentials:\n%s", stderr.String())
	}

	env["SCWM_ADDR"] = "127.0.0.1:0"
	gw := startServe(t, env)
	key, secret := firstRunBanner(t, gw.stdout.String())
	addWorks(t, gw.addr, basicAuthorization(key, secret))
}

// The first-run credentials are kept in the data directory, readable by
// their owner only; the starts after the first point to the file instead of
// printing the secret, until the user deletes it.
func TestFirstRunCredentialsAreKeptInAFileUntilDeleted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SCWM_DATA_DIR": dir, "SCWM_ADDR": "127.0.0.1:0"}
	gw := startServe(t, env)
	key, secret := firstRunBanner(t, gw.stdout.String())
	file := filepath.Join(dir, firstRunFile)
	if !strings.Contains(gw.stdout.String(), file) {
		t.Fatalf("the first-run banner does not name %s:\n%s", file, gw.stdout.String())
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", file, info.Mode().Perm())
	}
	var kept struct{ OwnerID, ProcessNetworkID, APIKey, APISecret, Authorization string }
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &kept); err != nil || kept.APIKey != key || kept.APISecret != secret ||
		kept.Authorization != basicAuthorization(key, secret) {
		t.Fatalf("%s holds %s (%v), not the printed credentials", file, raw, err)
	}
	gw.stop(t)

	again := startServe(t, env)
	out := again.stdout.String()
	if strings.Contains(out, secret) || strings.Contains(out, "apiSecret") {
		t.Fatalf("a later start printed the secret again:\n%s", out)
	}
	if !strings.Contains(out, file) {
		t.Fatalf("a later start does not point to %s:\n%s", file, out)
	}
	addWorks(t, again.addr, kept.Authorization)
	again.stop(t)

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	last := startServe(t, env)
	if out := last.stdout.String(); out != "" {
		t.Fatalf("a start after the file was deleted printed:\n%s", out)
	}
}

// A start that dies anywhere after creating the credentials loses nothing:
// if it died before storing the client, the next start stores the kept
// credentials and prints them in full; if it died after, the next start
// points to the file, whose credentials work.
func TestFirstRunCredentialsSurviveAStartThatDied(t *testing.T) {
	t.Parallel()
	t.Run("before the client was stored", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		fr := &firstRun{OwnerID: firstCompany, ProcessNetworkID: firstNetwork, APIKey: "kept-key", APISecret: "kept-secret-0123456789",
			UserID: firstUser, File: filepath.Join(dir, firstRunFile)}
		if err := writeFirstRun(fr); err != nil {
			t.Fatal(err)
		}
		gw := startServe(t, map[string]string{"SCWM_DATA_DIR": dir, "SCWM_ADDR": "127.0.0.1:0"})
		key, secret := firstRunBanner(t, gw.stdout.String())
		if key != fr.APIKey || secret != fr.APISecret {
			t.Fatalf("the start printed %s:%s, not the kept credentials", key, secret)
		}
		addWorks(t, gw.addr, basicAuthorization(key, secret))
	})
	t.Run("after the client was stored", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		st, err := openStore(context.Background(), storeFlags{dataDir: dir, database: "scwm"}, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		created, err := prepareData(context.Background(), st, "", dir, zerolog.Nop())
		if err != nil || created == nil {
			t.Fatalf("prepareData: %+v %v", created, err)
		}
		if err := st.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The start died here, before printing anything.
		gw := startServe(t, map[string]string{"SCWM_DATA_DIR": dir, "SCWM_ADDR": "127.0.0.1:0"})
		if !strings.Contains(gw.stdout.String(), created.File) {
			t.Fatalf("the next start does not point to %s:\n%s", created.File, gw.stdout.String())
		}
		kept, err := readFirstRun(created.File)
		if err != nil || kept.APISecret != created.APISecret {
			t.Fatalf("the file keeps %+v (%v)", kept, err)
		}
		addWorks(t, gw.addr, kept.Authorization)
	})
}

// Once the first-run client is revoked, the file that keeps its
// credentials is stale: starts no longer point to it, and log a warning.
func TestFirstRunCredentialsFileOfARevokedClientIsNotPointedTo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SCWM_DATA_DIR": dir, "SCWM_ADDR": "127.0.0.1:0"}
	gw := startServe(t, env)
	key, _ := firstRunBanner(t, gw.stdout.String())
	gw.stop(t)
	if _, err := cliRun(env, "clients", "revoke", "--api-key", key); err != nil {
		t.Fatal(err)
	}
	again := startServe(t, env)
	if out := again.stdout.String(); out != "" {
		t.Fatalf("a start pointed to the credentials of a revoked client:\n%s", out)
	}
	if !strings.Contains(again.stderr.String(), "delete the file") {
		t.Fatalf("no warning about the stale file in the log:\n%s", again.stderr.String())
	}
}
