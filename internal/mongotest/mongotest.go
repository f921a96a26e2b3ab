// Package mongotest gives tests a MongoDB-wire database of their own: a
// database in the deployment MONGODB_URI names when it is set, or else in
// a FerretDB server process (internal/ferretserver) that this package
// builds once per test binary and starts. It also starts dedicated
// servers that a test can kill and start again on the same address and
// files (Server), for outage tests.
//
// Packages that use it call Main from their TestMain, so that the servers
// stop and the built binary is deleted when the tests end.
package mongotest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// serverPackage is the test server's import path.
const serverPackage = "github.com/scwm-gateway/scwm-gateway/internal/ferretserver"

// startTimeout bounds the start of a server process, build excluded.
const startTimeout = 60 * time.Second

// Database is a database of a test's own in a MongoDB-wire deployment.
type Database struct {
	// URI reaches the deployment.
	URI string
	// Name is the database's, unique to the test.
	Name string
	// FerretDB says the deployment is FerretDB (this package's server, or
	// MONGODB_URI naming one), which lacks some of MongoDB (see IsFerretDB).
	FerretDB bool
}

// Start gives the test a database of its own: in MONGODB_URI's deployment
// when it is set, else in this test binary's shared FerretDB server
// (started at the first call). The database is dropped when the test ends.
func Start(t testing.TB) Database {
	t.Helper()
	uri := os.Getenv("MONGODB_URI")
	if uri == "" {
		srv, err := sharedServer()
		if err != nil {
			t.Fatalf("start the shared FerretDB server: %v", err)
		}
		uri = srv.URI()
	}
	db := Database{URI: uri, Name: "t_" + randomHex(12)}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ferret, err := IsFerretDB(ctx, uri)
	if err != nil {
		t.Fatalf("ask %s what it is: %v", uri, err)
	}
	db.FerretDB = ferret
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, uri, db.Name); err != nil {
			t.Errorf("drop test database %s: %v", db.Name, err)
		}
	})
	return db
}

// IsFerretDB reports whether the deployment at uri is FerretDB, which
// marks its buildInfo with a "ferretdbVersion" field.
func IsFerretDB(ctx context.Context, uri string) (bool, error) {
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return false, err
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	raw, err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		return false, err
	}
	_, err = raw.LookupErr("ferretdbVersion")
	return err == nil, nil
}

func dropDatabase(ctx context.Context, uri, name string) error {
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return err
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	return c.Database(name).Drop(ctx)
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Server is a FerretDB server process of internal/ferretserver.
type Server struct {
	addr, dir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.Closer
	exited chan struct{}
	log    *syncBuffer
}

// StartServer starts a server of the test's own on SQLite files in a new
// temporary directory, listening on a free loopback port; it is stopped
// when the test ends. Kill and Restart simulate an outage.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return StartServerAt(t, "127.0.0.1:0", t.TempDir())
}

// StartServerAt is StartServer on the given address and data directory.
func StartServerAt(t testing.TB, addr, dir string) *Server {
	t.Helper()
	srv, err := newServer(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop the FerretDB server: %v", err)
		}
	})
	return srv
}

func newServer(addr, dir string) (*Server, error) {
	bin, err := serverBinary()
	if err != nil {
		return nil, err
	}
	s := &Server{addr: addr, dir: dir}
	if err := s.start(bin); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URI is the mongodb:// URI of the server.
func (s *Server) URI() string { return "mongodb://" + s.Addr() + "/" }

// Dir is the server's data directory.
func (s *Server) Dir() string { return s.dir }

// Log is what the server printed (FerretDB's errors among it).
func (s *Server) Log() string { return s.log.String() }

// start runs the server and waits until it listens.
func (s *Server) start(bin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(bin, "--data-dir", s.dir, "--addr", s.addr, "--exit-with-stdin")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd, s.stdin, s.exited, s.log = cmd, stdin, make(chan struct{}), &syncBuffer{}
	listening := make(chan string, 1)
	go func(exited chan struct{}, log *syncBuffer) {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			log.WriteLine(line)
			var m struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.Message == "listening" {
				select {
				case listening <- m.Addr:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(exited)
	}(s.exited, s.log)
	select {
	case addr := <-listening:
		s.addr = addr
		return nil
	case <-s.exited:
		return fmt.Errorf("the FerretDB server on %s exited while starting:\n%s", s.addr, s.log)
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the FerretDB server on %s did not listen within %v:\n%s", s.addr, startTimeout, s.log)
	}
}

// Kill ends the server at once (SIGKILL), as a crash would, and waits
// until it is gone.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	_ = s.stdin.Close()
	s.cmd = nil
}

// Restart starts the server again on the same address and files, after
// Kill or Stop.
func (s *Server) Restart() error {
	bin, err := serverBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return errors.New("restart: the server is running")
	}
	return s.start(bin)
}

// Stop ends the server cleanly (SIGTERM) and waits until it is gone; it
// is killed if it takes longer than 30 seconds.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd = nil }()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		_ = s.stdin.Close()
		return fmt.Errorf("the FerretDB server did not stop within 30s of SIGTERM:\n%s", s.log)
	}
	_ = s.stdin.Close()
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("the FerretDB server exited with status %d:\n%s", code, s.log)
	}
	return nil
}

// syncBuffer is a server's log, written by its reader and read by tests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// maxLog bounds the log kept of a server.
const maxLog = 1 << 20

func (b *syncBuffer) WriteLine(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < maxLog {
		b.buf.WriteString(line)
		b.buf.WriteByte('\n')
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The binary and the shared server of this test binary.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error

	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// serverBinary builds internal/ferretserver once per test binary.
func serverBinary() (string, error) {
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ferretserver-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ferretserver")
		// go test puts its own toolchain first on the tests' PATH.
		cmd := exec.Command("go", "build", "-o", binPath, serverPackage)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build %s: %w\n%s", serverPackage, err, strings.TrimSpace(string(out)))
		}
	})
	return binPath, buildErr
}

// sharedServer is the server that Start's databases live in, started at
// the first call.
func sharedServer() (*Server, error) {
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ferretserver-data-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = newServer("127.0.0.1:0", dir)
	})
	return shared, sharedErr
}

// Main runs the tests of a package that uses mongotest, then stops the
// shared server and deletes its files and the built binary:
//
//	func TestMain(m *testing.M) { mongotest.Main(m) }
func Main(m *testing.M) { os.Exit(Finish(m.Run())) }

// Finish stops what the tests started (the shared server, the built
// binary) and returns the exit code to end with: code, or 1 if stopping
// failed. It is for a TestMain that has its own cleanup besides.
func Finish(code int) int {
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "mongotest:", err)
			if code == 0 {
				code = 1
			}
		}
		_ = os.RemoveAll(shared.dir)
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	return code
}
