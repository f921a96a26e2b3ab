package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// cliRun runs one `scwm-gateway` command in-process with env as its whole
// environment and returns what it printed on stdout.
func cliRun(env map[string]string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"scwm-gateway"}, args...), func(k string) string { return env[k] }, noStdin, &stdout, &stderr)
	if err != nil && stderr.Len() > 0 {
		return stdout.String(), &cliError{err: err, stderr: stderr.String()}
	}
	return stdout.String(), err
}

// noStdin is the standard input of the commands tests run without one: it
// is at its end at once.
var noStdin io.Reader = emptyInput{}

type emptyInput struct{}

func (emptyInput) Read([]byte) (int, error) { return 0, io.EOF }

// users create without --password-file takes the password from the standard
// input run is given, so that a test (or any caller of run) gives it one;
// the process's own standard input is not read.
func TestUsersCreateReadsThePasswordFromItsStdin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"scwm-gateway", "users", "create", "--username", "pia@acme.com", "--company", "acme", "--data-dir", dir, "--database", "stdin"}
	stdin := strings.NewReader("pia-password-1\nnot the password\n")
	if err := run(context.Background(), args, func(string) string { return "" }, stdin, &stdout, &stderr); err != nil {
		t.Fatalf("users create with the password on stdin: %v\n%s", err, stderr.String())
	}
	st, err := sqlite.Open(context.Background(), sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	u, err := st.FindUser(context.Background(), "pia@acme.com")
	if err != nil {
		t.Fatalf("users create: no user in the store: %v", err)
	}
	if !(credentials.Passwords{}).Verify(u.PasswordHash, "pia-password-1") {
		t.Errorf("the stored password is not the first line of the stdin run was given")
	}
}

// cliError is a failed command's error with what it wrote on stderr.
type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + "\nstderr: " + e.stderr }
func (e *cliError) Unwrap() error { return e.err }

// assertEmptyDir fails unless dir holds nothing: no command may have
// written its store there.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Fatalf("%s was written to (%d entries): the command used the store of the environment or default", dir, len(entries))
	}
}

// Every command that changes the store changes the one its flags name, or
// its environment when no flag is given: an operator who revokes a leaked
// key with --data-dir revokes it in that directory. In the flags case the
// environment names a decoy directory and database, which must stay
// untouched.
func TestStoreCommandsChangeTheStoreTheyAreGiven(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"flags", "environment"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			target, decoy := t.TempDir(), t.TempDir()
			database := "cli_" + how
			var env map[string]string
			var storeArgs []string
			if how == "flags" {
				env = map[string]string{"SCWM_DATA_DIR": decoy, "SCWM_DATABASE": "decoy"}
				storeArgs = []string{"--data-dir", target, "--database", database}
			} else {
				env = map[string]string{"SCWM_DATA_DIR": target, "SCWM_DATABASE": database}
			}
			cli := func(args ...string) string {
				t.Helper()
				out, err := cliRun(env, append(args, storeArgs...)...)
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				return out
			}
			// check opens the target store, as the gateway would, and
			// closes it again before the next command.
			check := func(f func(st *sqlite.Store)) {
				t.Helper()
				st, err := sqlite.Open(context.Background(), sqlite.Config{DataDir: target})
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close(context.Background())
				f(st)
			}
			ctx := context.Background()

			var created struct{ APIKey, CompanyID string }
			if err := json.Unmarshal([]byte(cli("clients", "create", "--company", "acme", "--user", "bob")), &created); err != nil || created.APIKey == "" {
				t.Fatalf("clients create printed no apiKey (%v)", err)
			}
			check(func(st *sqlite.Store) {
				c, err := st.FindClient(ctx, created.APIKey)
				if err != nil || !c.Active() || c.CompanyID != "acme" || c.UserID != "bob" {
					t.Fatalf("clients create: the client is not in the named store: %+v %v", c, err)
				}
			})
			if out := cli("clients", "revoke", "--api-key", created.APIKey); out != "revoked "+created.APIKey+"\n" {
				t.Fatalf("clients revoke printed %q", out)
			}
			check(func(st *sqlite.Store) {
				if c, err := st.FindClient(ctx, created.APIKey); err != nil || c.Active() {
					t.Fatalf("clients revoke: the client is still active in the named store: %+v %v", c, err)
				}
			})

			pw := filepath.Join(t.TempDir(), "pw")
			writeFile(t, pw, "sara-password-1\n")
			cli("users", "create", "--username", "sara@acme.com", "--company", "acme", "--password-file", pw)
			check(func(st *sqlite.Store) {
				if u, err := st.FindUser(ctx, "sara@acme.com"); err != nil || u.Disabled || u.CompanyID != "acme" {
					t.Fatalf("users create: the user is not in the named store: %+v %v", u, err)
				}
			})
			for _, step := range []struct {
				verb, printed string
				disabled      bool
			}{{"disable", "disabled", true}, {"enable", "enabled", false}} {
				if out := cli("users", step.verb, "--username", "sara@acme.com"); out != step.printed+" sara@acme.com\n" {
					t.Fatalf("users %s printed %q", step.verb, out)
				}
				check(func(st *sqlite.Store) {
					if u, err := st.FindUser(ctx, "sara@acme.com"); err != nil || u.Disabled != step.disabled {
						t.Fatalf("users %s: the named store has %+v %v", step.verb, u, err)
					}
				})
			}

			cli("oauth-clients", "create", "--company", "acme", "--client-id", "acme-app")
			check(func(st *sqlite.Store) {
				if c, err := st.FindOAuthClient(ctx, "acme-app"); err != nil || c.Revoked {
					t.Fatalf("oauth-clients create: the client is not in the named store: %+v %v", c, err)
				}
			})
			if out := cli("oauth-clients", "revoke", "--client-id", "acme-app"); out != "revoked acme-app\n" {
				t.Fatalf("oauth-clients revoke printed %q", out)
			}
			check(func(st *sqlite.Store) {
				if c, err := st.FindOAuthClient(ctx, "acme-app"); err != nil || !c.Revoked {
					t.Fatalf("oauth-clients revoke: the named store has %+v %v", c, err)
				}
			})

			if _, err := os.Stat(filepath.Join(target, sqlite.FileName)); err != nil {
				t.Fatalf("the named store is not the file %s in the named directory: %v", sqlite.FileName, err)
			}
			assertEmptyDir(t, decoy)
		})
	}
}

// A store that cannot be reached is an error that names it, within
// --store-timeout (SCWM_STORE_TIMEOUT), never a change made in another
// store: `clients create --mongo-uri mongodb://127.0.0.1:1/` once
// "succeeded" in ./data.
func TestStoreCommandsFailOnAnUnreachableStore(t *testing.T) {
	t.Parallel()
	const unreachable = "mongodb://127.0.0.1:1/"
	commands := [][]string{
		{"clients", "create", "--company", "acme"},
		{"clients", "revoke", "--api-key", "some-key"},
		{"users", "create", "--username", "sara@acme.com", "--company", "acme", "--password-file", "PWFILE"},
		{"users", "disable", "--username", "sara@acme.com"},
		{"users", "enable", "--username", "sara@acme.com"},
		{"oauth-clients", "create", "--company", "acme"},
		{"oauth-clients", "revoke", "--client-id", "acme-app"},
	}
	for _, how := range []string{"flags", "environment"} {
		for _, command := range commands {
			t.Run(how+"/"+strings.Join(command[:2], "-"), func(t *testing.T) {
				t.Parallel()
				decoy := t.TempDir()
				pw := filepath.Join(t.TempDir(), "pw")
				writeFile(t, pw, "sara-password-1\n")
				args := append([]string(nil), command...)
				for i, a := range args {
					if a == "PWFILE" {
						args[i] = pw
					}
				}
				env := map[string]string{"SCWM_DATA_DIR": decoy}
				if how == "flags" {
					args = append(args, "--mongo-uri", unreachable, "--store-timeout", "200ms")
				} else {
					env["MONGODB_URI"], env["SCWM_STORE_TIMEOUT"] = unreachable, "200ms"
				}
				out, err := cliRun(env, args...)
				if err == nil {
					t.Fatalf("%v succeeded with an unreachable store, printing %q", args, out)
				}
				if !strings.Contains(err.Error(), "127.0.0.1:1") {
					t.Fatalf("the error does not name the unreachable store: %v", err)
				}
				if out != "" {
					t.Fatalf("a failed command printed %q", out)
				}
				assertEmptyDir(t, decoy)
			})
		}
	}
}

func TestStoreCommandsRefuseABadStoreTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := cliRun(map[string]string{"SCWM_DATA_DIR": dir}, "clients", "create", "--company", "acme", "--store-timeout", "soon")
	if err == nil || !strings.Contains(err.Error(), "--store-timeout") {
		t.Fatalf("a bad --store-timeout gave %v", err)
	}
	assertEmptyDir(t, dir)
}

// export reads the store of the directory its flag names, or
// SCWM_DATA_DIR without the flag, and import writes the one its flag names:
// a client created in one directory is what the export of that directory
// holds, and after an import into another directory that directory's store
// authenticates it. The decoy directory stays untouched.
func TestExportAndImportUseTheStoreTheyAreGiven(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"flags", "environment"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			source, target, decoy := t.TempDir(), t.TempDir(), t.TempDir()
			out, err := cliRun(map[string]string{"SCWM_DATA_DIR": source}, "clients", "create", "--company", "acme")
			if err != nil {
				t.Fatal(err)
			}
			var created struct{ APIKey string }
			if err := json.Unmarshal([]byte(out), &created); err != nil {
				t.Fatal(err)
			}
			env, exportArgs := map[string]string{"SCWM_DATA_DIR": source}, []string{"export"}
			if how == "flags" {
				env["SCWM_DATA_DIR"] = decoy
				exportArgs = append(exportArgs, "--data-dir", source)
			}
			dump, err := cliRun(env, exportArgs...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(dump, `"kind":"client"`) || !strings.Contains(dump, created.APIKey) {
				t.Fatalf("the export of %s does not hold the client created there:\n%s", source, dump)
			}
			file := filepath.Join(t.TempDir(), "dump.ndjson")
			if err := os.WriteFile(file, []byte(dump), 0o600); err != nil {
				t.Fatal(err)
			}
			importArgs := []string{"import", "--in", file}
			if how == "flags" {
				importArgs = append(importArgs, "--data-dir", target)
			} else {
				env["SCWM_DATA_DIR"] = target
			}
			if _, err := cliRun(env, importArgs...); err != nil {
				t.Fatal(err)
			}
			st, err := sqlite.Open(context.Background(), sqlite.Config{DataDir: target})
			if err != nil {
				t.Fatal(err)
			}
			c, err := st.FindClient(context.Background(), created.APIKey)
			st.Close(context.Background())
			if err != nil || !c.Active() || c.CompanyID != "acme" {
				t.Fatalf("after the import, %s has the client %+v (%v)", target, c, err)
			}
			if _, err := cliRun(env, importArgs...); err == nil || !strings.Contains(err.Error(), "holds data already") {
				t.Fatalf("a second import into the same store gave %v", err)
			}
			assertEmptyDir(t, decoy)
		})
	}
}
