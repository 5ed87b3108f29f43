package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/profiles"
)

// lbTool finds nginx or haproxy, skipping (or failing with
// IOTSTACK_REQUIRE_TOOLS) where it is not installed.
func lbTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is required: %v", name, err)
		}
		t.Skipf("%s not installed; go tool mage deps installs it", name)
	}
	return p
}

// nodePortsServed are the NodePorts of the stack's Services, by protocol.
func nodePortsServed(b *profiles.Built) map[string]map[int32]string {
	out := map[string]map[int32]string{"TCP": {}, "UDP": {}}
	for _, c := range b.Stack.Components() {
		for _, obj := range c.Objects() {
			svc, ok := obj.(*corev1.Service)
			if !ok || svc.Spec.Type != corev1.ServiceTypeNodePort {
				continue
			}
			for _, p := range svc.Spec.Ports {
				proto := string(p.Protocol)
				if proto == "" {
					proto = "TCP"
				}
				if p.NodePort != 0 {
					out[proto][p.NodePort] = svc.Name
				}
			}
		}
	}
	if b.Grafana.NodePort != 0 { // the monitoring's Grafana (its own test checks its Service)
		out["TCP"][b.Grafana.NodePort] = "grafana"
	}
	return out
}

var (
	nginxUpstream = regexp.MustCompile(`(?s)upstream (\w+) \{(.*?)\}`)
	nginxServer   = regexp.MustCompile(`(?m)^\s+server \S+:(\d+);$`)
	nginxListen   = regexp.MustCompile(`(?s)listen (\d+)( udp)?;\s+proxy_pass (\w+);`)
)

// checkNginxForwards: every upstream's NodePort is served by a Service of
// the stack over the protocol its listener speaks.
func checkNginxForwards(t *testing.T, name, conf string, served map[string]map[int32]string) {
	t.Helper()
	proto := map[string]string{}
	for _, m := range nginxListen.FindAllStringSubmatch(conf, -1) {
		proto[m[3]] = "TCP"
		if m[2] != "" {
			proto[m[3]] = "UDP"
		}
	}
	for _, u := range nginxUpstream.FindAllStringSubmatch(conf, -1) {
		p, ok := proto[u[1]]
		if !ok {
			t.Errorf("%s: upstream %s has no listener", name, u[1])
			continue
		}
		for _, s := range nginxServer.FindAllStringSubmatch(u[2], -1) {
			port, _ := strconv.Atoi(s[1])
			if _, ok := served[p][int32(port)]; !ok {
				t.Errorf("%s: upstream %s forwards %s to NodePort %d, which no Service serves over %s (served: %v)", name, u[1], p, port, p, served)
			}
		}
	}
}

// TestDojotAgents: the guide's four IoT agent choices, gui-v2 and auth's
// e-mail synthesize and pass every rule and the schemas; their NGINX and
// HAProxy configurations pass nginx -t / haproxy -c and forward only to
// NodePorts a Service serves.
func TestDojotAgents(t *testing.T) {
	nginx := lbTool(t, "nginx")
	haproxy := lbTool(t, "haproxy")
	dirs := schemaDirs(t)
	for _, tc := range []struct {
		profile string
		sets    []string
		want    []string // in the load balancer's configuration
		absent  []string
	}{
		{profiles.Small, []string{"agents=vernemq"}, nil, []string{"udp", "5896", "listen 443;", ":30002"}},
		{profiles.Small, []string{"agents=vernemq+lwm2m"}, []string{"listen 5683 udp;", "listen 5684 udp;", "listen 5693 udp;", "listen 5694 udp;", "listen 5896;", ":30006;", ":30010;"}, nil},
		{profiles.Small, []string{"agents=mosca+lwm2m", "guiV2=true"}, []string{"listen 5683 udp;", "listen 8883;"}, nil},
		{profiles.Small, []string{"agents=mosca", "insecureMQTT=false"}, []string{"listen 8883;"}, []string{"listen 1883;", "udp"}},
		{profiles.Small, []string{"guiV2=true", "authEmail.host=smtp.example.com", "authEmail.user=dojot@example.com"}, nil, []string{"udp"}},
		{profiles.Hundred, []string{"agents=vernemq"}, []string{"listen mqtts"}, []string{"bind *:443", ":30002"}},
		{profiles.Small, []string{"mutualTLS=true", "kafkaWSTLS=true"}, []string{"listen 443;", ":30002;"}, nil},
		// Ports of services switched on may be set (sim's second stack sets them 100 higher).
		{profiles.Small, []string{"agents=vernemq+lwm2m", "nodePorts.coAP=30106", "nodePorts.metrics=30103", "mutualTLS=true", "nodePorts.apiGatewayHTTPS=30102"}, []string{":30106;", ":30103;", ":30102;", ":30007;"}, nil},
		{profiles.Hundred, []string{"mutualTLS=true", "kafkaWSTLS=true"}, []string{"bind *:443", ":30002 check"}, nil},
	} {
		name := tc.profile + " " + strings.Join(tc.sets, " ")
		p, err := profiles.Get(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Load(nil, tc.sets)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r, err := CheckStack(tc.profile, b.Stack, dirs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range r.Findings {
			t.Errorf("%s: %s", name, f)
		}
		served := nodePortsServed(b)
		for _, f := range b.Files {
			conf := string(f.Data)
			path := filepath.Join(t.TempDir(), filepath.Base(f.Name))
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasSuffix(f.Name, "nginx.conf"):
				if out, err := exec.Command(nginx, "-t", "-c", path).CombinedOutput(); err != nil {
					t.Errorf("%s: nginx -t: %v\n%s", name, err, out)
				}
				checkNginxForwards(t, name, conf, served)
			case strings.HasSuffix(f.Name, "haproxy.cfg"):
				if out, err := exec.Command(haproxy, "-c", "-f", path).CombinedOutput(); err != nil {
					t.Errorf("%s: haproxy -c: %v\n%s", name, err, out)
				}
			default:
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(conf, w) {
					t.Errorf("%s: %s lacks %q", name, f.Name, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(conf, a) {
					t.Errorf("%s: %s has %q", name, f.Name, a)
				}
			}
		}
	}
}

// TestDojotAgentsRefused: the combinations the guide cannot run are
// refused with an error naming the values path.
func TestDojotAgentsRefused(t *testing.T) {
	for _, tc := range []struct {
		profile string
		sets    []string
		want    string
	}{
		{profiles.Small, []string{"agents=vernemq+mosca"}, "agents"},
		{profiles.Hundred, []string{"agents=vernemq+lwm2m"}, `agents: "vernemq+lwm2m" in 100k: the LwM2M agent speaks CoAP over UDP`},
		{profiles.Hundred, []string{"agents=mosca"}, "kafka-loopback echoes VerneMQ's device messages"},
		{profiles.Small, []string{"services[0]=iotagent-mosca"}, "services[0]"},
		{profiles.Small, []string{"agents=vernemq+lwm2m", "nodePorts.coAP=30004"}, "nodePorts.coAP 30004 is also nodePorts.mqtt"},
		{profiles.Small, []string{"nodePorts.coAP=30006"}, "nodePorts.coAP 30006; no rendered Service serves it"},
		{profiles.Small, []string{"authEmail.host=smtp.example.com"}, `authEmail.user ""`},
		{profiles.Small, []string{"nodePorts.apiGatewayHTTPS=30002"}, "nodePorts.apiGatewayHTTPS 30002; no rendered Service serves it"},
	} {
		name := tc.profile + " " + strings.Join(tc.sets, " ")
		p, err := profiles.Get(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Load(nil, tc.sets)
		if err == nil {
			_, err = p.BuildValues(v)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; want one containing %q", name, err, tc.want)
		}
	}
}
