package vernemq

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/google/go-cmp/cmp"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func build(t *testing.T, cfg Config) *stack.Output {
	t.Helper()
	_, out := stacktest.Build(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	return out
}

var base = Config{Image: "dojot/vernemq-dojot:v0.5.0", EJBCAAddress: "x509-identity-mgmt:3000", Pool: "main", NodePortMQTT: 30004, NodePortMQTTS: 30005}

// TestListeners: plain MQTT is exposed only when insecure MQTT is on; the
// TLS listener always; traffic stays on the receiving node.
func TestListeners(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		cfg := base
		cfg.InsecureMQTT = insecure
		cfg.Replicas = 3
		out := build(t, cfg)
		var ports []string
		var listener string
		for _, o := range out.Objects {
			switch x := o.Object.(type) {
			case *corev1.Service:
				if x.Name == Name+"-external-service" {
					if x.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
						t.Error("external traffic is not kept on the node")
					}
					for _, p := range x.Spec.Ports {
						ports = append(ports, p.Name)
					}
				}
				if x.Name == Name && (x.Spec.InternalTrafficPolicy == nil || *x.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal) {
					t.Error("internal traffic is not kept on the node")
				}
			}
		}
		for _, o := range out.Objects {
			if set, ok := o.Object.(*appsv1.StatefulSet); ok {
				for _, e := range set.Spec.Template.Spec.Containers[0].Env {
					if e.Name == "DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT" {
						listener = e.Value
					}
				}
			}
		}
		want := []string{"mqtts"}
		if insecure {
			want = []string{"mqtt", "mqtts"}
		}
		if d := cmp.Diff(want, ports); d != "" {
			t.Errorf("insecure %v: NodePorts (-want +got):\n%s", insecure, d)
		}
		if strings.HasPrefix(listener, "0.0.0.0") != insecure {
			t.Errorf("insecure %v: plain listener %q", insecure, listener)
		}
	}
}

func TestRBAC(t *testing.T) {
	out := build(t, base)
	for _, o := range out.Objects {
		if r, ok := o.Object.(*rbacv1.Role); ok {
			want := []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
				{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, ResourceNames: []string{"vernemq"}, Verbs: []string{"get"}},
			}
			if d := cmp.Diff(want, r.Rules); d != "" {
				t.Errorf("Role (-want +got):\n%s", d)
			}
		}
	}
	stacktest.CheckScripts(t, out)
}

func TestValidation(t *testing.T) {
	stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, Config{Image: "x:1"}); return err }, "vernemq: ejbcaAddress is required")
	cases := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"too many replicas", func(c *Config) { c.Replicas = 4 }, "vernemq: replicas 4 exceed the 3 nodes available"},
		{"NodePort above the range", func(c *Config) { c.NodePortMQTTS = 99999 }, "vernemq: nodePortMQTTS 99999; allowed 30000 to 32767"},
		{"NodePort below the range", func(c *Config) { c.InsecureMQTT, c.NodePortMQTT = true, 1883 }, "vernemq: nodePortMQTT 1883; allowed 30000 to 32767"},
		{"duplicate NodePorts", func(c *Config) { c.InsecureMQTT, c.NodePortMQTT, c.NodePortMQTTS = true, 30005, 30005 }, "vernemq: nodePortMQTT 30005 is also nodePortMQTTS"},
		{"no image", func(c *Config) { c.Image = "" }, "vernemq: image: empty; want name:tag"},
		{"untagged image", func(c *Config) { c.Image = "dojot/vernemq-dojot" }, `vernemq: image: "dojot/vernemq-dojot" has no tag`},
	}
	for _, tc := range cases {
		cfg := base
		tc.mod(&cfg)
		stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err }, tc.want)
	}
	if _, err := New(nil, base); err == nil || !strings.Contains(err.Error(), "vernemq: stack is nil") {
		t.Errorf("nil stack: %v", err)
	}
	// Pinned by digest: the version label is the tag.
	cfg := base
	cfg.Image = "dojot/vernemq-dojot:v0.5.0@sha256:" + strings.Repeat("0a", 32)
	out := build(t, cfg)
	for _, o := range out.Objects {
		if v := o.Object.GetLabels()[stack.LabelVersion]; o.Component == "vernemq" && v != "v0.5.0" {
			t.Errorf("%s: version label %q; want v0.5.0", o.Ref, v)
		}
	}
}

// FuzzConfig: whatever New accepts synthesizes; the rest is refused.
func FuzzConfig(f *testing.F) {
	f.Add("dojot/vernemq-dojot:v0.5.0", int32(3), int32(30004), int32(30005), true, "x509-identity-mgmt:3000")
	f.Add("", int32(0), int32(0), int32(0), false, "")
	f.Add("dojot/vernemq-dojot@sha256:00", int32(51), int32(99999), int32(99999), true, "x")
	f.Add("a:b@sha256:"+strings.Repeat("f", 64), int32(1), int32(30005), int32(30005), false, "ca:3000")
	f.Fuzz(func(t *testing.T, image string, replicas, mqtt, mqtts int32, insecure bool, ejbca string) {
		cfg := Config{Image: image, Replicas: replicas, NodePortMQTT: mqtt, NodePortMQTTS: mqtts, InsecureMQTT: insecure, EJBCAAddress: ejbca, Pool: "main"}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}

// TestExternalName: the name and address devices use reach the image's
// certificate request variables; a name that is neither is refused.
func TestExternalName(t *testing.T) {
	cfg := base
	cfg.ExternalHostname, cfg.ExternalIP = "mqtt.example.com", "203.0.113.7"
	out := build(t, cfg)
	got := map[string]string{}
	for _, o := range out.Objects {
		if set, ok := o.Object.(*appsv1.StatefulSet); ok {
			for _, e := range set.Spec.Template.Spec.Containers[0].Env {
				got[e.Name] = e.Value
			}
		}
	}
	if got["EXTERNAL_SERVER_HOSTNAME"] != "mqtt.example.com" || got["EXTERNAL_SERVER_IP"] != "203.0.113.7" {
		t.Errorf("env %v", got)
	}
	for _, tc := range []struct{ host, ip, want string }{
		{"mqtt example", "", `externalHostname "mqtt example" is not a DNS name`},
		{"mqtt.example.com", "10.0.0", `externalIP "10.0.0" is not an IP address`},
	} {
		c := base
		c.ExternalHostname, c.ExternalIP = tc.host, tc.ip
		stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, c); return err }, tc.want)
	}
}
