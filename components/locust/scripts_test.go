package locust_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// scripts returns the rendered locust-scripts ConfigMap's files.
func scripts(t *testing.T) map[string]string {
	t.Helper()
	s := build(t, valid())
	for _, c := range s.Components() {
		for _, o := range c.Objects() {
			if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == "locust-scripts" {
				return cm.Data
			}
		}
	}
	t.Fatal("no ConfigMap locust-scripts")
	return nil
}

// need returns the path of each program, skipping the test when one is
// missing (failing under IOTSTACK_REQUIRE_TOOLS).
func need(t *testing.T, progs ...string) []string {
	t.Helper()
	var out []string
	for _, p := range progs {
		path, err := exec.LookPath(p)
		if filepath.IsAbs(p) {
			_, err = os.Stat(p)
			path = p
		}
		if err != nil {
			if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is required (go tool mage deps installs it): %v", p, err)
			}
			t.Skipf("%s not installed; go tool mage deps installs it", p)
		}
		out = append(out, path)
	}
	return out
}

// startRedis starts a throw-away redis-server on loopback and returns its
// port.
func startRedis(t *testing.T, server string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(server, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func redisCLI(t *testing.T, cli, port string, args ...string) string {
	t.Helper()
	out, err := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// runScript runs a script with the environment, bounded to a minute.
func runScript(t *testing.T, dir string, argv []string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestExportScript runs export.py with Debian's Python 3 and its redis
// module against a real redis-server, filled as generate_certs fills it
// (a hash per device with private_key and thing_certificate in database
// 0) plus the certificate Job's marker and CA in database 2: every device
// gets <id>.key and <id>.crt and the CA ca.crt; fewer certificates than
// CLIENTS is an error.
func TestExportScript(t *testing.T) {
	p := need(t, "redis-server", "redis-cli", "/usr/bin/python3", "/usr/lib/python3/dist-packages/redis")
	server, cli, python := p[0], p[1], p[2]
	port := startRedis(t, server)
	ids := []string{"a1b2c3", "d4e5f6", "0a0b0c"}
	for _, id := range ids {
		redisCLI(t, cli, port, "-n", "0", "hset", id, "private_key", "KEY "+id, "thing_certificate", "CRT "+id)
	}
	redisCLI(t, cli, port, "-n", "2", "set", "ca.crt", "THE CA")
	redisCLI(t, cli, port, "-n", "2", "set", "ready", "3")
	dir := t.TempDir()
	script := filepath.Join(dir, "export.py")
	if err := os.WriteFile(script, []byte(scripts(t)["export.py"]), 0o644); err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "cert") + "/"
	if err := os.MkdirAll(certDir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"REDIS_HOST=127.0.0.1", "REDIS_PORT=" + port, "CERT_DIR=" + certDir, "CLIENTS=3"}
	out, err := runScript(t, dir, []string{python, script}, env...)
	if err != nil {
		t.Fatalf("export.py: %v\n%s", err, out)
	}
	for _, id := range ids {
		for ext, want := range map[string]string{".key": "KEY " + id, ".crt": "CRT " + id} {
			got, err := os.ReadFile(filepath.Join(certDir, id+ext))
			if err != nil || string(got) != want {
				t.Errorf("%s%s: %q, %v; want %q", id, ext, got, err, want)
			}
		}
	}
	if got, err := os.ReadFile(filepath.Join(certDir, "ca.crt")); err != nil || string(got) != "THE CA" {
		t.Errorf("ca.crt: %q, %v", got, err)
	}
	// A marker for more clients than certificates: wait (not our case),
	// so mark 3 and drop one certificate: the export must fail.
	redisCLI(t, cli, port, "-n", "0", "del", ids[0])
	if out, err := runScript(t, dir, []string{python, script}, env...); err == nil {
		t.Errorf("export.py with 2 of 3 certificates succeeded:\n%s", out)
	}
}

// TestCertsScript runs certs.sh against a real redis-server: with the
// marker for CLIENTS set it stops without issuing; without it, a retry
// starts over (databases 0 and 1 emptied) and fails when generate_certs
// cannot run (no dojot locust sources here), leaving no marker.
func TestCertsScript(t *testing.T) {
	p := need(t, "redis-server", "redis-cli", "sh")
	server, cli, sh := p[0], p[1], p[2]
	port := startRedis(t, server)
	dir := t.TempDir()
	script := filepath.Join(dir, "certs.sh")
	if err := os.WriteFile(script, []byte(scripts(t)["certs.sh"]), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"REDIS_HOST=127.0.0.1", "REDIS_PORT=" + port, "CERT_DIR=" + dir + "/", "CLIENTS=3", "PROCESSES=1"}
	redisCLI(t, cli, port, "-n", "2", "set", "ready", "3")
	redisCLI(t, cli, port, "-n", "0", "hset", "a1", "private_key", "k")
	out, err := runScript(t, dir, []string{sh, script}, env...)
	if err != nil || !strings.Contains(out, "already in Redis") || redisCLI(t, cli, port, "-n", "0", "dbsize") != "1" {
		t.Errorf("with the marker: %v\n%s", err, out)
	}
	redisCLI(t, cli, port, "-n", "2", "del", "ready")
	redisCLI(t, cli, port, "-n", "1", "set", "1", "a1")
	out, err = runScript(t, dir, []string{sh, script}, env...)
	if err == nil {
		t.Errorf("without generate_certs the script succeeded:\n%s", out)
	}
	if n0, n1, mark := redisCLI(t, cli, port, "-n", "0", "dbsize"), redisCLI(t, cli, port, "-n", "1", "dbsize"), redisCLI(t, cli, port, "-n", "2", "get", "ready"); n0 != "0" || n1 != "0" || mark != "" {
		t.Errorf("after a failed run: db0 %s keys, db1 %s keys, marker %q; want both empty and no marker", n0, n1, mark)
	}
}

// TestScriptsShellCheck runs ShellCheck on the shell scripts.
func TestScriptsShellCheck(t *testing.T) {
	sc := need(t, "shellcheck")[0]
	dir := t.TempDir()
	for name, body := range scripts(t) {
		if !strings.HasSuffix(name, ".sh") {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sc, "-s", "sh", path).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}
