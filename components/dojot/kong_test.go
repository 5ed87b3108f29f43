package dojot

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestKongAdminOnLoopback: Kong's admin API listens on the pod's loopback
// only; no Service or container port exposes 8001; auth reaches the
// consumers gate; the routes are configured by a sidecar in Kong's pod
// through 127.0.0.1, not by a Job over the network.
func TestKongAdminOnLoopback(t *testing.T) {
	out := build(t, Config{Services: []string{"kong", "auth"}})
	var kong, auth *appsv1.Deployment
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *appsv1.Deployment:
			switch x.Name {
			case "kong":
				kong = x
			case "auth":
				auth = x
			}
		case *corev1.Service:
			for _, p := range x.Spec.Ports {
				if p.Port == adminPort || p.TargetPort.IntValue() == adminPort || p.TargetPort.String() == "admin" {
					t.Errorf("Service %s exposes the admin API: %+v", x.Name, p)
				}
			}
		case *batchv1.Job:
			if strings.HasPrefix(x.Name, "kong-routes") {
				t.Errorf("routes are configured by Job %s over the network", x.Name)
			}
		}
	}
	if kong == nil || auth == nil {
		t.Fatal("no kong or auth Deployment")
	}
	envOf := func(c corev1.Container, name string) string {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
		return ""
	}
	var proxy, routes *corev1.Container
	for i, c := range kong.Spec.Template.Spec.Containers {
		switch c.Name {
		case "kong":
			proxy = &kong.Spec.Template.Spec.Containers[i]
		case "routes":
			routes = &kong.Spec.Template.Spec.Containers[i]
		}
	}
	if proxy == nil || routes == nil {
		t.Fatal("kong pod lacks the kong or routes container")
	}
	if got := envOf(*proxy, "KONG_ADMIN_LISTEN"); got != "127.0.0.1:8001" {
		t.Errorf("KONG_ADMIN_LISTEN = %q; want 127.0.0.1:8001", got)
	}
	for _, p := range proxy.Ports {
		if p.ContainerPort == adminPort {
			t.Errorf("kong declares container port %d", adminPort)
		}
	}
	if got := envOf(*proxy, "KONG_NGINX_HTTP_INCLUDE"); got != gateDir+"/consumers-gate.conf" {
		t.Errorf("KONG_NGINX_HTTP_INCLUDE = %q", got)
	}
	if got := envOf(auth.Spec.Template.Spec.Containers[0], "AUTH_KONG_URL"); got != "http://kong.iot.svc.cluster.local:8002" {
		t.Errorf("AUTH_KONG_URL = %q; want the consumers gate", got)
	}
	if routes.ReadinessProbe == nil || routes.ReadinessProbe.Exec == nil {
		t.Error("the routes sidecar has no readiness probe on its done marker")
	}
	var script string
	for _, o := range out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == "kong-routes" {
			script = cm.Data["routes.sh"]
		}
	}
	if !strings.Contains(script, `kong="http://127.0.0.1:8001"`) || !strings.Contains(script, "touch "+routesReady) {
		t.Errorf("routes.sh does not configure Kong on the loopback:\n%s", script)
	}
}

// TestConsumersGateWithNginx runs the rendered gate in a real nginx in
// front of a recording stand-in for Kong's admin API (Kong does not run
// here) and checks that exactly auth's four calls pass and everything
// else, including path tricks, is refused before reaching the admin API.
func TestConsumersGateWithNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal("nginx is required (go tool mage deps installs it)")
		}
		t.Skip("nginx not installed")
	}
	var mu sync.Mutex
	var reached []string
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer admin.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	dir := t.TempDir()
	gate := adminGateConfig()
	gate = strings.ReplaceAll(gate, "http://127.0.0.1:8001", "http://"+admin.Listener.Addr().String())
	gate = strings.Replace(gate, "listen 0.0.0.0:8002;", fmt.Sprintf("listen 127.0.0.1:%d;", port), 1)
	gate = strings.Replace(gate, "access_log /dev/stdout;", "access_log "+filepath.Join(dir, "access.log")+";", 1)
	os.WriteFile(filepath.Join(dir, "gate.conf"), []byte(gate), 0o644)
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/gate.conf;
}
`, dir)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if i == 100 {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not listen:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	do := func(method, path string) int {
		t.Helper()
		req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), strings.NewReader("username=admin"))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = path // send the path exactly as written
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	allowed := []struct{ method, path string }{
		{"POST", "/consumers"},
		{"POST", "/consumers/admin/jwt"},
		{"DELETE", "/consumers/admin/jwt/5f6b2a34-1c7e-4a55-9d0b-0d6e1f2a3b4c"},
		{"DELETE", "/consumers/admin"},
	}
	for _, a := range allowed {
		if got := do(a.method, a.path); got != http.StatusCreated {
			t.Errorf("%s %s: %d; want it passed to the admin API", a.method, a.path, got)
		}
	}
	refused := []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/consumers"},
		{"GET", "/consumers/admin"},
		{"GET", "/consumers/admin/jwt"},
		{"PUT", "/consumers/admin"},
		{"PATCH", "/consumers/admin"},
		{"POST", "/consumers/admin/acls"},
		{"POST", "/consumers/admin/key-auth"},
		{"PUT", "/services/evil"},
		{"POST", "/plugins"},
		{"DELETE", "/routes/x"},
		{"POST", "/consumers/../plugins"},
		{"POST", "/consumers/%2e%2e/plugins"},
		{"POST", "/consumers/a%2F..%2F..%2Fplugins/jwt"},
		{"DELETE", "/consumers/admin/jwt/x/y"},
		{"POST", "/config"},
	}
	for _, r := range refused {
		if got := do(r.method, r.path); got != http.StatusForbidden {
			t.Errorf("%s %s: %d; want 403", r.method, r.path, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reached) != len(allowed) {
		t.Errorf("the admin API received %d requests, want %d: %q", len(reached), len(allowed), reached)
	}
}

// TestKongPasswordIsMD5: Kong's database user is declared with an md5
// password (pgmoon 1.10.0 has no SCRAM), auth's and device-manager's keep
// the server's SCRAM.
func TestKongPasswordIsMD5(t *testing.T) {
	out := build(t, Config{})
	var script string
	for _, o := range out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Data["databases.sh"] != "" {
			script = cm.Data["databases.sh"]
		}
	}
	for line, want := range map[string]bool{
		"set_password kong PASSWORD_KONG md5\n": true, "set_password auth PASSWORD_AUTH\n": true, "set_password devm PASSWORD_DEVM\n": true,
		"set_password auth PASSWORD_AUTH md5": false,
	} {
		if strings.Contains(script, line) != want {
			t.Errorf("databases.sh contains %q: %v; want %v", line, !want, want)
		}
	}
}
