package dojot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is required (go tool mage test installs it): %v", name, err)
		}
		t.Skipf("%s not installed; `go tool mage test` installs it", name)
	}
	return p
}

var testBackends = Backends{
	APIGateway: []string{"10.0.1.10"}, MQTT: []string{"10.0.1.21", "10.0.1.22", "verne-3.example.org"},
	LwM2M: []string{"10.0.1.10"}, Metrics: []string{"10.0.1.10"},
}

// TestNginxAcceptsConfig runs `nginx -t` on the generated configuration.
func TestNginxAcceptsConfig(t *testing.T) {
	nginx := requireTool(t, "nginx")
	// NGINX resolves names when it loads its configuration: a name must
	// resolve on the load-balancer host ("localhost" does everywhere).
	b := testBackends
	b.MQTT = []string{"10.0.1.21", "10.0.1.22", "localhost"}
	for _, insecure := range []bool{true, false} {
		conf := NginxConfig(DefaultNodePorts(), b, insecure)
		p := filepath.Join(t.TempDir(), "nginx.conf")
		os.WriteFile(p, []byte(conf), 0o644)
		out, err := exec.Command(nginx, "-t", "-c", p).CombinedOutput()
		if err != nil {
			t.Fatalf("nginx -t (insecure %v): %v\n%s\n%s", insecure, err, out, conf)
		}
		if strings.Contains(conf, "listen 1883;") != insecure {
			t.Errorf("insecure MQTT %v, config:\n%s", insecure, conf)
		}
	}
}

// TestHAProxyAcceptsConfig runs `haproxy -c` on the generated configuration.
func TestHAProxyAcceptsConfig(t *testing.T) {
	haproxy := requireTool(t, "haproxy")
	for _, insecure := range []bool{true, false} {
		conf := HAProxyConfig(DefaultNodePorts(), testBackends, insecure)
		p := filepath.Join(t.TempDir(), "haproxy.cfg")
		os.WriteFile(p, []byte(conf), 0o644)
		out, err := exec.Command(haproxy, "-c", "-f", p).CombinedOutput()
		if err != nil {
			t.Fatalf("haproxy -c (insecure %v): %v\n%s\n%s", insecure, err, out, conf)
		}
		for _, want := range []string{"maxconn 100000", "balance leastconn", "server mqtt-3 verne-3.example.org:30005 check inter 1000ms fall 3 rise 5", "bind *:8080"} {
			if !strings.Contains(conf, want) {
				t.Errorf("haproxy.cfg lacks %q", want)
			}
		}
	}
}

func TestNodePortCollisions(t *testing.T) {
	p := DefaultNodePorts()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.MQTT = 30003
	if err := p.Validate(); err == nil || err.Error() != "dojot: nodePorts.mqtt 30003 is also nodePorts.metrics; every NodePort must be unique" {
		t.Errorf("collision: %v", err)
	}
	p = DefaultNodePorts()
	p.HTTPAgent = 8080
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "nodePorts.httpAgent 8080; allowed 30000 to 32767") {
		t.Errorf("range: %v", err)
	}
}

func TestBackendsValidation(t *testing.T) {
	b := testBackends
	b.MQTT = nil
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), "backends.mqtt: empty") {
		t.Errorf("empty: %v", err)
	}
	b = testBackends
	b.Metrics = []string{"not an address"}
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), `backends.metrics[0]: "not an address" is neither`) {
		t.Errorf("bad address: %v", err)
	}
}
