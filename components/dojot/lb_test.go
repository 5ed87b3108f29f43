package dojot

import (
	"fmt"
	"math/rand/v2"
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
}

// checkNginx runs `nginx -t` on conf and fails the test with its output.
func checkNginx(t *testing.T, nginx, conf string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nginx.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-c", p).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
}

// checkHAProxy runs `haproxy -c` on conf and fails the test with its output.
func checkHAProxy(t *testing.T, haproxy, conf string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, conf)
	}
}

// TestNginxAcceptsConfig runs `nginx -t` on the generated configuration.
func TestNginxAcceptsConfig(t *testing.T) {
	nginx := requireTool(t, "nginx")
	// NGINX resolves names when it loads its configuration: a name must
	// resolve on the load-balancer host ("localhost" does everywhere).
	b := testBackends
	b.MQTT = []string{"10.0.1.21", "2001:db8::22", "localhost"}
	for _, insecure := range []bool{true, false} {
		conf, err := NginxConfig(DefaultNodePorts(), b, insecure)
		if err != nil {
			t.Fatal(err)
		}
		checkNginx(t, nginx, conf)
		if strings.Contains(conf, "listen 1883;") != insecure {
			t.Errorf("insecure MQTT %v, config:\n%s", insecure, conf)
		}
		if !strings.Contains(conf, "server [2001:db8::22]:30005;") {
			t.Errorf("IPv6 backend not in brackets:\n%s", conf)
		}
		// Only ports a rendered Service serves: no metrics, LwM2M or HTTP agent.
		for _, unserved := range []string{"5683", "5684", "5693", "5694", "5896", ":30003", ":30006", ":30010"} {
			if strings.Contains(conf, unserved) {
				t.Errorf("nginx.conf forwards %s, which no Service serves", unserved)
			}
		}
	}
}

// TestHAProxyAcceptsConfig runs `haproxy -c` on the generated configuration.
func TestHAProxyAcceptsConfig(t *testing.T) {
	haproxy := requireTool(t, "haproxy")
	b := testBackends
	b.APIGateway = []string{"2001:db8::10"}
	for _, insecure := range []bool{true, false} {
		conf, err := HAProxyConfig(DefaultNodePorts(), b, insecure)
		if err != nil {
			t.Fatal(err)
		}
		checkHAProxy(t, haproxy, conf)
		for _, want := range []string{"maxconn 100000", "balance leastconn", "server mqtt-3 verne-3.example.org:30005 check inter 1000ms fall 3 rise 5", "server dojot-1 [2001:db8::10]:30001 check"} {
			if !strings.Contains(conf, want) {
				t.Errorf("haproxy.cfg lacks %q", want)
			}
		}
		if strings.Contains(conf, "listen metrics") || strings.Contains(conf, ":30003") {
			t.Errorf("haproxy.cfg forwards the metrics NodePort, which no Service serves:\n%s", conf)
		}
	}
}

// TestLoadBalancerRefuses: what the options must not produce (ports 0,
// out of range, unserved, colliding; bad or duplicate addresses) is an
// error, never a configuration nginx or HAProxy rejects.
func TestLoadBalancerRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports func(p *NodePorts)
		b     func(b *Backends)
		want  string
	}{
		{"zero ports", func(p *NodePorts) { *p = NodePorts{} }, nil, "dojot: nodePorts.apiGatewayHTTP 0; allowed 30000 to 32767"},
		{"collision", func(p *NodePorts) { p.MQTT = p.MQTTS }, nil, "dojot: nodePorts.mqtts 30005 is also nodePorts.mqtt; every NodePort must be unique"},
		{"range", func(p *NodePorts) { *p = p.ServeAPIGatewayHTTPS(); p.APIGatewayHTTPS = 8080 }, nil, "nodePorts.apiGatewayHTTPS 8080; allowed 30000 to 32767"},
		{"unserved metrics", func(p *NodePorts) { p.Metrics = 30003 }, nil, "dojot: nodePorts.metrics 30003; no rendered Service serves it"},
		{"unserved coap", func(p *NodePorts) { p.CoAP = 30006 }, nil, "dojot: nodePorts.coAP 30006; no rendered Service serves it"},
		{"empty mqtt", nil, func(b *Backends) { b.MQTT = nil }, "dojot: backends.mqtt: empty"},
		{"bad address", nil, func(b *Backends) { b.APIGateway = []string{"not an address"} }, `dojot: backends.apiGateway[0]: "not an address" is neither`},
		{"duplicate", nil, func(b *Backends) { b.MQTT = []string{"2001:db8::1", "2001:DB8:0::1"} }, `dojot: backends.mqtt[1]: "2001:DB8:0::1" is also backends.mqtt[0]`},
		{"unserved lwm2m", nil, func(b *Backends) { b.LwM2M = []string{"10.0.0.1"} }, "dojot: backends.lwm2m: [10.0.0.1]; no rendered Service serves it"},
		{"unserved metrics backends", nil, func(b *Backends) { b.Metrics = []string{"10.0.0.1"} }, "dojot: backends.metrics: [10.0.0.1]; no rendered Service serves it"},
	} {
		p, b := DefaultNodePorts(), testBackends
		b.MQTT = append([]string(nil), b.MQTT...)
		if tc.ports != nil {
			tc.ports(&p)
		}
		if tc.b != nil {
			tc.b(&b)
		}
		for gen, f := range map[string]func(NodePorts, Backends, bool) (string, error){"nginx": NginxConfig, "haproxy": HAProxyConfig} {
			if conf, err := f(p, b, true); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s, %s: got %v (config %d bytes); want an error containing %q", tc.name, gen, err, len(conf), tc.want)
			}
		}
	}
}

// lbCase is one set of load-balancer options: the four served NodePorts,
// up to three worker addresses per group and insecure MQTT.
type lbCase struct {
	http, https, mqtt, mqtts int32
	api, mqttAddrs           []string
	insecure                 bool
}

// checkLB is the load balancers' property: options the generators accept
// make configurations the real nginx and HAProxy accept; options they
// refuse are errors. NGINX resolves names at load, so names are only
// "localhost" here; HAProxy (init-addr last,libc,none) does not need them.
func checkLB(t *testing.T, nginx, haproxy string, c lbCase) {
	t.Helper()
	ports := NodePorts{APIGatewayHTTP: c.http, APIGatewayHTTPS: c.https, MQTT: c.mqtt, MQTTS: c.mqtts}
	if c.https != 0 { // Kong's HTTPS port, served with the mutual TLS
		ports = ports.ServeAPIGatewayHTTPS()
	}
	b := Backends{APIGateway: c.api, MQTT: c.mqttAddrs}
	ng, err1 := NginxConfig(ports, b, c.insecure)
	hp, err2 := HAProxyConfig(ports, b, c.insecure)
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("%+v: nginx %v, haproxy %v: both generators must agree", c, err1, err2)
	}
	if err1 != nil {
		if !strings.HasPrefix(err1.Error(), "dojot: nodePorts.") && !strings.HasPrefix(err1.Error(), "dojot: backends.") {
			t.Fatalf("%+v: error %q does not name the field", c, err1)
		}
		return
	}
	if nginx != "" {
		checkNginx(t, nginx, ng)
	}
	if haproxy != "" {
		checkHAProxy(t, haproxy, hp)
	}
}

// lbAddrs is the address pool the fuzz and random cases draw from: IPv4,
// IPv6 (full, compressed, loopback, upper case) and a resolvable name.
var lbAddrs = []string{"10.0.1.10", "192.0.2.7", "2001:db8::22", "::1", "2001:DB8:0:0:1::5", "fe80::1", "localhost", "127.0.0.1"}

func pick(seed uint64, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, lbAddrs[(seed>>(8*i))%uint64(len(lbAddrs))])
	}
	return out
}

// FuzzLoadBalancers: arbitrary ports, address choices and insecure MQTT
// either make both configurations pass the real checkers or are refused.
// As a normal test it runs the seeds; `go test -fuzz FuzzLoadBalancers`
// explores further.
func FuzzLoadBalancers(f *testing.F) {
	f.Add(int32(30001), int32(30002), int32(30004), int32(30005), uint64(0x0102), uint8(1), uint64(0x0304), uint8(3), true)
	f.Add(int32(0), int32(0), int32(0), int32(0), uint64(0), uint8(1), uint64(0), uint8(1), true)
	f.Add(int32(30001), int32(30001), int32(30004), int32(30005), uint64(0), uint8(1), uint64(0), uint8(1), false)
	f.Add(int32(32767), int32(30000), int32(31000), int32(99999), uint64(0x0203), uint8(2), uint64(0x0506), uint8(2), true)
	f.Add(int32(30100), int32(30200), int32(30300), int32(30400), uint64(0x0202), uint8(2), uint64(0x0707), uint8(2), false)
	f.Add(int32(30100), int32(30200), int32(30300), int32(30400), uint64(0x03), uint8(0), uint64(0x03), uint8(1), true)
	nginx, haproxy := lbTools(f)
	f.Fuzz(func(t *testing.T, http, https, mqtt, mqtts int32, api uint64, nAPI uint8, brokers uint64, nMQTT uint8, insecure bool) {
		checkLB(t, nginx, haproxy, lbCase{http, https, mqtt, mqtts, pick(api, int(nAPI%4)), pick(brokers, int(nMQTT%4)), insecure})
	})
}

// TestLoadBalancersRandom runs the property on a bounded number of option
// sets from a fixed-seed generator, so every `go test` covers more than
// the seeds, with the same cases each run.
func TestLoadBalancersRandom(t *testing.T) {
	nginx, haproxy := lbTools(t)
	r := rand.New(rand.NewPCG(11, 4))
	port := func() int32 {
		if r.IntN(10) == 0 {
			return int32(r.IntN(70000)) - 100 // sometimes out of range
		}
		return 30000 + int32(r.IntN(2768))
	}
	for i := 0; i < 40; i++ {
		c := lbCase{port(), port(), port(), port(), pick(r.Uint64(), 1+r.IntN(3)), pick(r.Uint64(), r.IntN(4)), r.IntN(2) == 0}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkLB(t, nginx, haproxy, c) })
	}
}

func lbTools(t testing.TB) (nginx, haproxy string) {
	if p, err := exec.LookPath("nginx"); err == nil {
		nginx = p
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		haproxy = p
	}
	if (nginx == "" || haproxy == "") && os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
		t.Fatalf("nginx and haproxy are required (go tool mage deps installs them)")
	}
	return nginx, haproxy
}

// TestMetricsServedByGrafana: with ServeMetrics (the monitoring's Grafana
// on the guide's NodePort 30003) both load balancers forward port 3000 to
// the metrics workers, and nginx -t and haproxy -c accept the result;
// the metrics backends are then required.
func TestMetricsServedByGrafana(t *testing.T) {
	ports := DefaultNodePorts().ServeMetrics()
	if ports.Metrics != DefaultMetricsNodePort || !ports.MetricsServed() {
		t.Fatalf("ServeMetrics: %+v", ports)
	}
	b := testBackends
	b.MQTT = []string{"10.0.1.21", "localhost"} // nginx resolves names at load
	b.Metrics = []string{"10.0.1.10", "localhost"}
	conf, err := NginxConfig(ports, b, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(conf, "server 10.0.1.10:30003;") || !strings.Contains(conf, "listen 3000;\n        proxy_pass metrics_backend;") {
		t.Errorf("nginx.conf lacks the metrics rule:\n%s", conf)
	}
	checkNginx(t, requireTool(t, "nginx"), conf)
	hc, err := HAProxyConfig(ports, b, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hc, "listen metrics\n    mode tcp\n    bind *:3000") || !strings.Contains(hc, "server metrics-1 10.0.1.10:30003 check") {
		t.Errorf("haproxy.cfg lacks the metrics rule:\n%s", hc)
	}
	checkHAProxy(t, requireTool(t, "haproxy"), hc)
	b.Metrics = nil
	if _, err := NginxConfig(ports, b, false); err == nil || !strings.Contains(err.Error(), "backends.metrics: empty") {
		t.Errorf("metrics served without backends: %v", err)
	}
	// Unserved, the metrics port and backends are refused as before.
	b.Metrics = []string{"10.0.1.10"}
	if _, err := NginxConfig(DefaultNodePorts(), b, false); err == nil || !strings.Contains(err.Error(), "backends.metrics") {
		t.Errorf("metrics backends without Grafana: %v", err)
	}
}

// TestNginxLwM2M: with the LwM2M agent on, NGINX forwards the four UDP
// ports and the HTTP file server to the LwM2M NodePorts on the LwM2M
// workers, and nginx -t accepts it; HAProxy refuses LwM2M, and the LwM2M
// workers are required.
func TestNginxLwM2M(t *testing.T) {
	nginx := requireTool(t, "nginx")
	ports := DefaultNodePorts().ServeLwM2M()
	b := testBackends
	b.MQTT = []string{"10.0.1.21"}
	b.LwM2M = []string{"10.0.1.30", "2001:db8::31"}
	conf, err := NginxConfig(ports, b, true)
	if err != nil {
		t.Fatal(err)
	}
	checkNginx(t, nginx, conf)
	for _, want := range []string{
		"upstream coap_backend {\n        least_conn;\n        server 10.0.1.30:30006;\n        server [2001:db8::31]:30006;\n    }\n    server {\n        listen 5683 udp;\n        proxy_pass coap_backend;",
		"server 10.0.1.30:30007;", "listen 5684 udp;", "server 10.0.1.30:30008;", "listen 5693 udp;",
		"server 10.0.1.30:30009;", "listen 5694 udp;", "server 10.0.1.30:30010;", "listen 5896;\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, conf)
		}
	}
	if _, err := HAProxyConfig(ports, b, true); err == nil || !strings.Contains(err.Error(), "HAProxy load balancer cannot carry LwM2M") {
		t.Errorf("HAProxy with LwM2M: %v", err)
	}
	b.LwM2M = nil
	if _, err := NginxConfig(ports, b, true); err == nil || !strings.Contains(err.Error(), "dojot: backends.lwm2m: empty") {
		t.Errorf("LwM2M without workers: %v", err)
	}
}

// TestAPIGatewayHTTPS: the load balancers forward 443 to Kong's HTTPS
// NodePort only when the API gateway's mutual TLS serves it, and a port
// set for it otherwise is refused.
func TestAPIGatewayHTTPS(t *testing.T) {
	nginx, haproxy := lbTools(t)
	for _, on := range []bool{false, true} {
		ports := DefaultNodePorts()
		if on {
			ports = ports.ServeAPIGatewayHTTPS()
		}
		ng, err := NginxConfig(ports, testBackends, true)
		if err != nil {
			t.Fatal(err)
		}
		hp, err := HAProxyConfig(ports, testBackends, true)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ng, "listen 443;") != on || strings.Contains(ng, ":30002;") != on {
			t.Errorf("mutual TLS %v, nginx.conf:\n%s", on, ng)
		}
		if strings.Contains(hp, "bind *:443") != on || strings.Contains(hp, ":30002 check") != on {
			t.Errorf("mutual TLS %v, haproxy.cfg:\n%s", on, hp)
		}
		if nginx != "" {
			b := testBackends
			b.MQTT = []string{"localhost"}
			conf, err := NginxConfig(ports, b, true)
			if err != nil {
				t.Fatal(err)
			}
			checkNginx(t, nginx, conf)
		}
		if haproxy != "" {
			checkHAProxy(t, haproxy, hp)
		}
	}
	p := DefaultNodePorts()
	p.APIGatewayHTTPS = 30002
	if err := p.CheckServed(); err == nil || !strings.Contains(err.Error(), "nodePorts.apiGatewayHTTPS 30002; no rendered Service serves it") {
		t.Errorf("HTTPS NodePort without mutual TLS: %v", err)
	}
}
