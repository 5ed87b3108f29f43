package s3test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real server: what this package's signed client puts, boto3 (the S3
// library barman-cloud uses) reads back, and the other way round; the
// bucket Start created exists for both.
func TestServerWithBoto3(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %s is not on loopback", s.Endpoint)
	}
	if err := s.Put("dir/with space/a.txt", []byte("from go")); err != nil {
		t.Fatal(err)
	}
	python := requirePython3Boto3(t)
	script := `
import os, sys, boto3
from botocore.config import Config
c = boto3.client("s3", endpoint_url=sys.argv[1], config=Config(s3={"addressing_style": "path"}))
b = sys.argv[2]
got = c.get_object(Bucket=b, Key="dir/with space/a.txt")["Body"].read()
assert got == b"from go", got
c.put_object(Bucket=b, Key="from/boto3.txt", Body=b"from boto3")
print(",".join(sorted(x["Name"] for x in c.list_buckets()["Buckets"])))
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", script, s.Endpoint, s.Bucket)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, s.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != Bucket {
		t.Errorf("boto3 lists buckets %q, want %q", got, Bucket)
	}
	got, err := s.Get("from/boto3.txt")
	if err != nil || string(got) != "from boto3" {
		t.Fatalf("Get(from/boto3.txt) = %q, %v", got, err)
	}
	keys, err := s.List("")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dir/with space/a.txt", "from/boto3.txt"}; strings.Join(keys, "|") != strings.Join(want, "|") {
		t.Errorf("List = %q, want %q", keys, want)
	}
	if keys, err := s.List("from/"); err != nil || len(keys) != 1 {
		t.Errorf("List(from/) = %q, %v", keys, err)
	}
	if _, err := s.Get("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	// The posix backend keeps the bucket as a directory of Dir.
	if _, err := os.Stat(filepath.Join(s.Dir, Bucket, "from", "boto3.txt")); err != nil {
		t.Errorf("object not in the posix backend: %v", err)
	}
}

// The server checks signatures: a wrong secret is refused, so the signed
// client's successes above mean its signatures are right.
func TestServerRefusesBadSignature(t *testing.T) {
	s := Start(t)
	bad := &Server{Endpoint: s.Endpoint, Bucket: s.Bucket, AccessKey: s.AccessKey, SecretKey: s.SecretKey + "x", Region: s.Region}
	if err := bad.Put("x", []byte("y")); err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("Put with a wrong secret: %v, want HTTP 403", err)
	}
	if _, err := s.Get("x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused object exists: %v", err)
	}
	// And an unsigned request is refused too.
	resp, err := http.Get(s.Endpoint + "/" + s.Bucket + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned GET: HTTP %d, want 403", resp.StatusCode)
	}
}

// Each server has its own directory and credentials; the server stops at
// the end of its test.
func TestServersAreIndependentAndStop(t *testing.T) {
	var first *Server
	t.Run("first", func(t *testing.T) {
		first = Start(t)
		if err := first.Put("k", []byte("v")); err != nil {
			t.Fatal(err)
		}
	})
	select {
	case <-first.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the first server still runs after its test ended")
	}
	second := Start(t)
	if second.Dir == first.Dir || second.AccessKey == first.AccessKey || second.SecretKey == first.SecretKey {
		t.Fatalf("servers share a directory or credentials")
	}
	if _, err := second.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second server sees the first one's object: %v", err)
	}
}

// The pinned module and the Version constant agree.
func TestPinnedVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "test", "tools", set.Module, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("github.com/versity/versitygw v"+Version+" ")) {
		t.Fatalf("test/tools/s3/go.mod does not pin versitygw v%s", Version)
	}
}

// requirePython3Boto3 returns python3 when it can import boto3 (Debian's
// python3-boto3, installed with barman-cli-cloud by go tool mage deps).
func requirePython3Boto3(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(p, "-c", "import boto3").Run()
	}
	if err != nil {
		msg := "python3 with boto3 is not installed (apt-get install python3-boto3): " + err.Error()
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}
