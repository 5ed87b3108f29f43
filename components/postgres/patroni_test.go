package postgres

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRESTAPIAuthenticationWithPatroni runs a real Patroni (Debian's
// package, with its built-in Raft store on loopback and PostgreSQL 15)
// configured with the restapi section this package renders, the password
// expanded as the kubelet expands $(RESTAPI_PASSWORD). The probes' GET
// endpoints answer without credentials; every unsafe endpoint refuses a
// request without credentials or with wrong ones, and accepts the right
// ones. Debian ships Patroni 3.0; Spilo 4.0-p3 runs 4.0.4, whose
// check_access guards the same endpoints (patroni/api.py).
func TestRESTAPIAuthenticationWithPatroni(t *testing.T) {
	requirePostgres(t)
	patroni, err := exec.LookPath("patroni")
	if err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal("patroni is required (go tool mage deps installs it)")
		}
		t.Skip("patroni not installed; `go tool mage deps` installs it")
	}
	const password = "RestApi1Secret"
	dir := serverDir(t)
	api, raft, pg := freePort(t), freePort(t), freePort(t)
	auth := strings.ReplaceAll(restAPIAuthentication(), "$("+restAPIPasswordVar+")", password)
	auth = strings.Replace(auth, "restapi:\n", fmt.Sprintf("restapi:\n  listen: 127.0.0.1:%d\n  connect_address: 127.0.0.1:%d\n", api, api), 1)
	conf := fmt.Sprintf(`scope: iotstack-test
name: node0
%[1]sraft:
  data_dir: %[2]s/raft
  self_addr: 127.0.0.1:%[3]d
bootstrap:
  dcs:
    ttl: 30
    loop_wait: 2
    retry_timeout: 10
  initdb:
  - encoding: UTF8
postgresql:
  listen: 127.0.0.1:%[4]d
  connect_address: 127.0.0.1:%[4]d
  data_dir: %[2]s/data
  bin_dir: %[5]s
  pgpass: %[2]s/pgpass
  authentication:
    superuser:
      username: postgres
      password: Super1
    replication:
      username: standby
      password: Standby1
  parameters:
    unix_socket_directories: %[2]s
`, auth, dir, raft, pg, pgBin)
	confPath := filepath.Join(dir, "patroni.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "raft"), 0o700)
	cmd := asServer(t, dir, patroni, confPath)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "patroni.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd); logFile.Close() })
	logs := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }

	client := &http.Client{Timeout: 5 * time.Second}
	request := func(method, path, user, pass string) int {
		t.Helper()
		req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", api, path), strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Ready: the primary answers /readiness with 200 (bounded wait).
	deadline := time.Now().Add(90 * time.Second)
	for request("GET", "/readiness", "", "") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("Patroni never became ready:\n%s", logs())
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, path := range []string{"/liveness", "/readiness", "/patroni", "/cluster"} {
		if got := request("GET", path, "", ""); got != http.StatusOK {
			t.Errorf("GET %s without credentials: %d; want 200 (the probes use it)", path, got)
		}
	}
	unsafe := []struct{ method, path string }{
		{"POST", "/restart"}, {"POST", "/reinitialize"}, {"POST", "/switchover"}, {"POST", "/failover"},
		{"POST", "/reload"}, {"PATCH", "/config"}, {"PUT", "/config"}, {"DELETE", "/restart"}, {"DELETE", "/switchover"},
	}
	for _, u := range unsafe {
		if got := request(u.method, u.path, "", ""); got != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials: %d; want 401", u.method, u.path, got)
		}
		if got := request(u.method, u.path, RESTAPIUser, "wrong"); got != http.StatusUnauthorized {
			t.Errorf("%s %s with a wrong password: %d; want 401", u.method, u.path, got)
		}
	}
	// The right credentials pass: a reload is harmless.
	if got := request("POST", "/reload", RESTAPIUser, password); got != http.StatusAccepted && got != http.StatusOK {
		t.Errorf("POST /reload with the password: %d; want 202\n%s", got, logs())
	}
	if strings.Contains(logs(), password) {
		t.Error("Patroni logged the REST API password")
	}
}
