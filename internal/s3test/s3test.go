// Package s3test runs a real S3-compatible server on loopback for the
// backup and restore tests: versitygw (github.com/versity/versitygw) with
// its posix backend in a test's temporary directory, pinned in the tools
// module test/tools/s3 and built once through the Go module proxy into the
// user cache (~/.cache/iotstack/s3/<hash>/), the way monitoring/tools
// builds promtool (go tool mage s3tools; go tool mage test does it first).
//
// Start(t) returns a running server with one bucket and its root
// credentials; the server stops when the test ends. The small client
// methods (Put, Get, List, CreateBucket) sign their requests with AWS
// Signature Version 4 (sigv4.go) so that tests can check what a backup
// tool uploaded without an SDK in the main module; the server verifies
// every signature.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotstack/iotstack/internal/toolcache"
)

// Version is the versitygw release test/tools/s3/go.mod pins.
const Version = "1.8.0"

// Region is the region the server is started with and requests are
// signed for (versitygw's default, --region).
const Region = "us-east-1"

// Bucket is the bucket Start creates.
const Bucket = "iotstack-test"

const (
	bin = "versitygw"
	// startTimeout bounds the wait for the server to accept connections.
	startTimeout = 30 * time.Second
	// requestTimeout bounds each request of the client methods.
	requestTimeout = 30 * time.Second
)

// Tool is the built server program.
type Tool struct {
	// Dir is the cache directory holding it.
	Dir string
	// Versitygw is the program's path.
	Versitygw string
}

// set is the tools module and its build, stamped like versitygw's
// Makefile does (-X main.Version) so that --version names the release.
var set = toolcache.Set{Module: "s3", Cache: "s3", Target: "s3tools", Builds: []toolcache.Build{
	{Pkg: "github.com/versity/versitygw/cmd/versitygw", Bin: bin, Ldflags: "-X main.Version=v" + Version},
}}

func tool(dir string) *Tool { return &Tool{Dir: dir, Versitygw: filepath.Join(dir, bin)} }

// Locate returns where versitygw built from root/test/tools/s3 lives (a
// directory named after the hash of that module's go.mod and go.sum, so a
// version change builds anew) and whether the build is complete.
func Locate(root string) (*Tool, bool, error) {
	dir, ok, err := set.Locate(root)
	if err != nil {
		return nil, false, err
	}
	return tool(dir), ok, nil
}

// Ensure builds versitygw from root/test/tools/s3 through the Go module
// proxy, once per content of that module's go.mod and go.sum; later calls
// return at once. A cold build took about 1.5 minutes on two cores.
func Ensure(root string, log io.Writer) (*Tool, error) {
	dir, err := set.Ensure(root, log)
	if err != nil {
		return nil, err
	}
	return tool(dir), nil
}

// Version runs versitygw --version and returns its output's first line.
func (t *Tool) Version() (string, error) { return toolcache.Version(t.Versitygw) }

// ForTest returns the built versitygw for a test, found from the working
// directory's module root. It never builds it (go tool mage s3tools does,
// and mage test depends on it): when it is missing the test is skipped
// with the command to run, or fails when IOTSTACK_REQUIRE_TOOLS is set.
func ForTest(t testing.TB) *Tool { return tool(set.ForTest(t)) }

// Server is a running versitygw on loopback.
type Server struct {
	// Endpoint is the server's URL, http://127.0.0.1:PORT (path-style
	// addressing: the bucket is the first path segment).
	Endpoint string
	// Bucket is the bucket Start created (the constant Bucket).
	Bucket string
	// AccessKey and SecretKey are the server's root credentials, random
	// for each server.
	AccessKey, SecretKey string
	// Region is the region requests are signed for.
	Region string
	// Dir is the posix backend's root: each bucket is a directory there.
	Dir string

	cmd    *exec.Cmd
	exited chan struct{}
	logMu  sync.Mutex
	log    bytes.Buffer
}

// Start runs versitygw's posix backend in t.TempDir() on a free loopback
// port, waits (at most 30 s) until it serves a signed request, creates the
// bucket Bucket and returns the server; it is stopped when the test ends.
// Like ForTest, it skips the test when versitygw is not built.
func Start(t testing.TB) *Server {
	t.Helper()
	tool := ForTest(t)
	s, err := start(tool.Versitygw, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	if err := s.CreateBucket(Bucket); err != nil {
		t.Fatalf("create bucket %s: %v\nversitygw log:\n%s", Bucket, err, s.Log())
	}
	s.Bucket = Bucket
	return s
}

func start(program, dir string) (*Server, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	// A port found free can be taken before the server binds it: a few
	// tries, each bounded.
	for try := 0; try < 3; try++ {
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{
			Endpoint:  "http://" + addr,
			AccessKey: "AK" + randomHex(9),
			SecretKey: randomHex(20),
			Region:    Region,
			Dir:       data,
			exited:    make(chan struct{}),
		}
		s.cmd = exec.Command(program,
			"--access", s.AccessKey, "--secret", s.SecretKey,
			"--region", s.Region, "--port", addr, "--quiet",
			"posix", data)
		// Only what the program needs from the environment: the
		// credentials come from the flags, never from ROOT_ACCESS_KEY or
		// other VGW_* variables of the caller.
		s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir}
		s.cmd.Dir = dir
		w := &lockedWriter{mu: &s.logMu, buf: &s.log}
		s.cmd.Stdout, s.cmd.Stderr = w, w
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start versitygw: %w", err)
		}
		go func() { _ = s.cmd.Wait(); close(s.exited) }()
		if err := s.waitReady(startTimeout); err != nil {
			s.stop()
			lastErr = err
			continue
		}
		return s, nil
	}
	return nil, lastErr
}

// waitReady polls a signed ListBuckets until it answers 200, the process
// exits or the timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("versitygw exited before serving: %s", s.Log())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		code, _, err := s.do(ctx, http.MethodGet, "/", nil)
		cancel()
		if err == nil && code == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw on %s not ready after %s (last: %d %v): %s", s.Endpoint, timeout, code, err, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the server: SIGTERM, then SIGKILL after 5 s.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Log returns what the server printed so far (errors; requests are not
// logged with --quiet). It never contains the secret key.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// Env returns the AWS environment variables most S3 clients (boto3 and so
// barman-cloud, the AWS CLI, WAL-G) read for this server's credentials and
// region. The endpoint is not among them for every client: pass Endpoint
// explicitly (barman-cloud --endpoint-url, WAL-G AWS_ENDPOINT).
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_DEFAULT_REGION=" + s.Region,
		"AWS_REGION=" + s.Region,
	}
}

// URL returns s3://bucket/prefix for the test bucket.
func (s *Server) URL(prefix string) string {
	return "s3://" + s.Bucket + "/" + strings.TrimPrefix(prefix, "/")
}

// CreateBucket creates a bucket (PUT /name).
func (s *Server) CreateBucket(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	code, body, err := s.do(ctx, http.MethodPut, "/"+uriEncode(name), nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("PUT bucket %s: HTTP %d: %s", name, code, body)
	}
	return nil
}

// Put stores an object in the test bucket.
func (s *Server) Put(key string, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	code, body, err := s.do(ctx, http.MethodPut, s.objectPath(key), data)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("PUT %s: HTTP %d: %s", key, code, body)
	}
	return nil
}

// ErrNotFound is returned by Get for a missing object.
var ErrNotFound = errors.New("no such key")

// Get reads an object of the test bucket.
func (s *Server) Get(key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	code, body, err := s.do(ctx, http.MethodGet, s.objectPath(key), nil)
	if err != nil {
		return nil, err
	}
	switch code {
	case http.StatusOK:
		return body, nil
	case http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", key, ErrNotFound)
	}
	return nil, fmt.Errorf("GET %s: HTTP %d: %s", key, code, body)
}

// List returns the keys of the test bucket under prefix, sorted (the
// server lists in key order), following continuation tokens.
func (s *Server) List(prefix string) ([]string, error) {
	var keys []string
	token := ""
	for page := 0; page < 1000; page++ {
		q := "?list-type=2&prefix=" + uriEncode(prefix)
		if token != "" {
			q += "&continuation-token=" + uriEncode(token)
		}
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		code, body, err := s.do(ctx, http.MethodGet, "/"+uriEncode(s.Bucket)+q, nil)
		cancel()
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("list %s: HTTP %d: %s", prefix, code, body)
		}
		var res struct {
			Contents []struct {
				Key string `xml:"Key"`
			} `xml:"Contents"`
			IsTruncated           bool   `xml:"IsTruncated"`
			NextContinuationToken string `xml:"NextContinuationToken"`
		}
		if err := xml.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, c := range res.Contents {
			keys = append(keys, c.Key)
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return keys, nil
		}
		token = res.NextContinuationToken
	}
	return nil, fmt.Errorf("list %s: more than 1000 pages", prefix)
}

func (s *Server) objectPath(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = uriEncode(seg)
	}
	return "/" + uriEncode(s.Bucket) + "/" + strings.Join(segs, "/")
}

// do sends a signed request; pathAndQuery is already URI-encoded.
func (s *Server) do(ctx context.Context, method, pathAndQuery string, payload []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.Endpoint+pathAndQuery, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	sign(req, payload, s.AccessKey, s.SecretKey, s.Region, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	return resp.StatusCode, body, err
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24 and later)
	return hex.EncodeToString(b)
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 1<<20 {
		return len(p), nil
	}
	return w.buf.Write(p)
}
