package dojot

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

// without returns SmallServices without the named ones, plus extra.
func without(drop []string, extra ...string) []string {
	var out []string
	for _, s := range SmallServices() {
		keep := true
		for _, d := range drop {
			keep = keep && s != d
		}
		if keep {
			out = append(out, s)
		}
	}
	return append(out, extra...)
}

// buildAgents renders cfg with or without VerneMQ among the deps.
func buildAgents(t *testing.T, cfg Config, vernemq bool) *stack.Output {
	t.Helper()
	cfg.Pools = pools
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		d := deps(t, s)
		if !vernemq {
			d.VerneMQ = nil
		}
		return New(s, d, cfg)
	})
	return out
}

func objectOf[T any](t *testing.T, out *stack.Output, kind, name string) T {
	t.Helper()
	for _, o := range out.Objects {
		if v, ok := o.Object.(T); ok && o.Object.GetName() == name {
			return v
		}
	}
	var zero T
	t.Fatalf("no %s %s", kind, name)
	return zero
}

// TestLwM2MAgent: the agent's Service serves the guide's five LwM2M
// NodePorts on the agent's ports, CoAP over UDP, and the HTTP file server
// listens where the Service forwards.
func TestLwM2MAgent(t *testing.T) {
	out := buildAgents(t, Config{Services: without(nil, IoTAgentLwM2M), NodePorts: DefaultNodePorts().ServeLwM2M(), Domain: "dojot.example.com"}, true)
	svc := objectOf[*corev1.Service](t, out, "Service", IoTAgentLwM2M)
	if svc.Spec.Type != corev1.ServiceTypeNodePort {
		t.Errorf("type %s", svc.Spec.Type)
	}
	want := map[int32]struct {
		node  int32
		proto corev1.Protocol
	}{5683: {30006, corev1.ProtocolUDP}, 5684: {30007, corev1.ProtocolUDP}, 5693: {30008, corev1.ProtocolUDP}, 5694: {30009, corev1.ProtocolUDP}, 5896: {30010, corev1.ProtocolTCP}}
	if len(svc.Spec.Ports) != len(want) {
		t.Errorf("ports %+v", svc.Spec.Ports)
	}
	for _, p := range svc.Spec.Ports {
		if w, ok := want[p.Port]; !ok || w.node != p.NodePort || w.proto != p.Protocol {
			t.Errorf("port %d: NodePort %d %s; want %+v", p.Port, p.NodePort, p.Protocol, w)
		}
	}
	d := objectOf[*appsv1.Deployment](t, out, "Deployment", IoTAgentLwM2M)
	ct := d.Spec.Template.Spec.Containers[0]
	envs := map[string]string{}
	for _, e := range ct.Env {
		envs[e.Name] = e.Value
	}
	if envs["FILE_SERVER_HTTP_PORT"] != "5896" || envs["FILE_SERVER_ADDRESS"] != "dojot.example.com" {
		t.Errorf("file server env %v: the agent must listen on (and name) the port its Service forwards", envs)
	}
	if ct.Image != "dojot/iotagent-leshan:v0.5.0" {
		t.Errorf("image %s", ct.Image)
	}
}

// TestMoscaAgent: without VerneMQ, Mosca serves the MQTT NodePorts
// (never Grafana's 30003), with MQTT 1883 only when insecure.
func TestMoscaAgent(t *testing.T) {
	for _, insecure := range []bool{true, false} {
		ports := DefaultNodePorts().ServeMetrics()
		out := buildAgents(t, Config{Services: without([]string{"k2v-bridge", "v2k-bridge"}, IoTAgentMosca), NodePorts: ports, InsecureMQTT: insecure}, false)
		svc := objectOf[*corev1.Service](t, out, "Service", IoTAgentMosca)
		got := map[int32]int32{}
		for _, p := range svc.Spec.Ports {
			got[p.Port] = p.NodePort
		}
		if got[8883] != 30005 || (got[1883] == 30004) != insecure || len(got) != map[bool]int{true: 2, false: 1}[insecure] {
			t.Errorf("insecure %v: ports %v", insecure, got)
		}
		for port, np := range got {
			if np == ports.Metrics {
				t.Errorf("port %d on Grafana's NodePort %d (dojot/dojot#1837)", port, np)
			}
		}
		d := objectOf[*appsv1.Deployment](t, out, "Deployment", IoTAgentMosca)
		if n := len(d.Spec.Template.Spec.Containers); n != 2 {
			t.Errorf("%d containers; want Mosca and its Redis", n)
		}
	}
}

// TestAgentsRefused: the combinations ansible-dojot refuses, or that
// would leave a port forwarding to nothing, are errors.
func TestAgentsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		vernemq bool
		want    string
	}{
		{"mosca with vernemq", Config{Services: without(nil, IoTAgentMosca)}, true, "iotagent-mosca together with VerneMQ"},
		{"bridges without vernemq", Config{Services: without(nil, IoTAgentMosca)}, false, "k2v-bridge, v2k-bridge need VerneMQ"},
		{"no mqtt agent", Config{Services: without([]string{"k2v-bridge", "v2k-bridge"})}, false, "no MQTT agent"},
		{"lwm2m ports unserved", Config{Services: without(nil, IoTAgentLwM2M)}, true, "iotagent-lwm2m listed true but the LwM2M NodePorts served false"},
		{"lwm2m ports without agent", Config{NodePorts: DefaultNodePorts().ServeLwM2M()}, true, "iotagent-lwm2m listed false"},
		{"email without user", Config{Email: &Email{Host: "smtp.example.com"}}, true, `dojot: email.user ""`},
		{"gui-v2 without kong", Config{Services: []string{"gui-v2"}}, true, "gui-v2 needs kong"},
	} {
		cfg := tc.cfg
		cfg.Pools = pools
		s := stacktest.NewStack(t, stacktest.ThreeZones())
		d := deps(t, s)
		if !tc.vernemq {
			d.VerneMQ = nil
		}
		if err := New(s, d, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v; want %q", tc.name, err, tc.want)
		}
	}
}

// TestGUIV2Route: with gui-v2, Kong routes /v2 to it, stripping the
// prefix (v0.5.0's createEndpoint "gui-v2" ... '"/v2"' "true").
func TestGUIV2Route(t *testing.T) {
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	w := &wiring{s: s, cfg: Config{Services: without(nil, "gui-v2")}, d: Deps{X509: &x509.Handle{Address: "x509-identity-mgmt.iot.svc.cluster.local:3000"}}}
	if !strings.Contains(w.routesScript(), `route gui-v2 "\"/v2\"" true`) {
		t.Errorf("routes.sh lacks gui-v2's /v2 route:\n%s", w.routesScript())
	}
	w.cfg.Services = SmallServices()
	if strings.Contains(w.routesScript(), "gui-v2") {
		t.Error("routes gui-v2, which does not run")
	}
}

// TestAuthEmail: with e-mail settings auth gets the SMTP host and user
// and its password from the declared, user-provided Secret auth-email.
func TestAuthEmail(t *testing.T) {
	out := build(t, Config{Email: &Email{Host: "smtp.example.com", User: "dojot@example.com", Port: 465}})
	d := objectOf[*appsv1.Deployment](t, out, "Deployment", "auth")
	got := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		got[e.Name] = e
	}
	if got["AUTH_EMAIL_HOST"].Value != "smtp.example.com" || got["AUTH_EMAIL_USER"].Value != "dojot@example.com" || got["AUTH_EMAIL_PORT"].Value != "465" {
		t.Errorf("auth env %v", got)
	}
	if ref := got["AUTH_EMAIL_PASSWD"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != AuthEmailSecret || got["AUTH_EMAIL_PASSWD"].Value != "" {
		t.Errorf("AUTH_EMAIL_PASSWD %+v; want a reference to Secret %s", got["AUTH_EMAIL_PASSWD"], AuthEmailSecret)
	}
	declared := false
	for _, sp := range out.Secrets {
		if sp.Name == AuthEmailSecret && len(sp.Keys) == 1 && sp.Keys[0].Kind == stack.UserProvided {
			declared = true
		}
	}
	if !declared {
		t.Errorf("Secret %s not declared as user-provided: %+v", AuthEmailSecret, out.Secrets)
	}
}

// TestTLSSwitches: Kong's 8443 and its HTTPS NodePort exist only with
// mutual TLS, whose certificates come from the user's Secret kong-tls;
// kafka-ws's TLS mounts kafka-ws-tls and Kong reaches it by https.
func TestTLSSwitches(t *testing.T) {
	for _, on := range []bool{false, true} {
		ports := DefaultNodePorts()
		if on {
			ports = ports.ServeAPIGatewayHTTPS()
		}
		out := build(t, Config{MutualTLS: on, KafkaWSTLS: on, NodePorts: ports})
		ext := objectOf[*corev1.Service](t, out, "Service", "kong-external")
		https := false
		for _, p := range ext.Spec.Ports {
			if p.Port == 8443 {
				https = p.NodePort == 30002
			}
		}
		if https != on {
			t.Errorf("mutual TLS %v: kong-external ports %+v", on, ext.Spec.Ports)
		}
		kong := objectOf[*appsv1.Deployment](t, out, "Deployment", "kong")
		vols := map[string]string{}
		for _, v := range kong.Spec.Template.Spec.Volumes {
			if v.Secret != nil {
				vols[v.Name] = v.Secret.SecretName
			}
		}
		if (vols["certs"] == KongTLSSecret) != on {
			t.Errorf("mutual TLS %v: Kong's Secret volumes %v", on, vols)
		}
		ws := objectOf[*appsv1.Deployment](t, out, "Deployment", "kafka-ws")
		if got := len(ws.Spec.Template.Spec.Volumes) == 1 && ws.Spec.Template.Spec.Volumes[0].Secret.SecretName == KafkaWSTLSSecret; got != on {
			t.Errorf("kafka-ws TLS %v: volumes %+v", on, ws.Spec.Template.Spec.Volumes)
		}
		declared := map[string]bool{}
		for _, sp := range out.Secrets {
			declared[sp.Name] = true
		}
		if declared[KongTLSSecret] != on || declared[KafkaWSTLSSecret] != on {
			t.Errorf("TLS %v: declared Secrets %v", on, declared)
		}
		w := &wiring{s: stacktest.NewStack(t, stacktest.ThreeZones()), cfg: Config{Services: SmallServices(), KafkaWSTLS: on}, d: Deps{X509: &x509.Handle{Address: "x509:3000"}}}
		if strings.Contains(w.routesScript(), "service kafka-ws https://") != on {
			t.Errorf("kafka-ws TLS %v: Kong's kafka-ws route scheme wrong", on)
		}
	}
	for _, cfg := range []Config{{MutualTLS: true}, {NodePorts: DefaultNodePorts().ServeAPIGatewayHTTPS()}} {
		s := stacktest.NewStack(t, stacktest.ThreeZones())
		cfg.Pools = pools
		if err := New(s, deps(t, s), cfg); err == nil || !strings.Contains(err.Error(), "dojot: mutualTLS") {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}
