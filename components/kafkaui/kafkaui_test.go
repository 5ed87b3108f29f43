package kafkaui

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func build(t *testing.T, cfg Config) (*Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		k, err := kafka.New(s, kafka.Config{})
		if err != nil {
			return err
		}
		h, err = New(s, k, cfg)
		return err
	})
	return h, out
}

func env(t *testing.T, out *stack.Output) map[string]corev1.EnvVar {
	t.Helper()
	for _, r := range out.Objects {
		if d, ok := r.Object.(*appsv1.Deployment); ok && d.Name == "kafka-ui" {
			m := map[string]corev1.EnvVar{}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				m[e.Name] = e
			}
			return m
		}
	}
	t.Fatal("no kafka-ui Deployment")
	return nil
}

func TestReadOnlyLoginFormFromSecret(t *testing.T) {
	h, out := build(t, Config{})
	e := env(t, out)
	for k, want := range map[string]string{"KAFKA_CLUSTERS_0_READONLY": "true", "AUTH_TYPE": "LOGIN_FORM", "SPRING_SECURITY_USER_NAME": User,
		"KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS": "kafka-0.kafka-headless.iot.svc.cluster.local:9092,kafka-1.kafka-headless.iot.svc.cluster.local:9092,kafka-2.kafka-headless.iot.svc.cluster.local:9092"} {
		if e[k].Value != want {
			t.Errorf("%s = %q; want %q", k, e[k].Value, want)
		}
	}
	pw := e["SPRING_SECURITY_USER_PASSWORD"]
	if pw.Value != "" || pw.ValueFrom == nil || pw.ValueFrom.SecretKeyRef.Name != "kafka-ui-auth" || pw.ValueFrom.SecretKeyRef.Key != PasswordKey {
		t.Errorf("password not from the Secret kafka-ui-auth: %+v", pw)
	}
	if _, ok := e["SERVER_SERVLET_CONTEXT_PATH"]; ok || h.HealthPath != "/actuator/health" {
		t.Errorf("a context path without Path, or health %q", h.HealthPath)
	}
	// The brokers admit kafka-ui on their client port; nothing admits
	// anyone to kafka-ui (no ingress).
	for _, r := range out.Objects {
		np, ok := r.Object.(*networkingv1.NetworkPolicy)
		if !ok {
			continue
		}
		switch np.Name {
		case "kafka-ui":
			if len(np.Spec.Ingress) != 0 {
				t.Errorf("kafka-ui admits %+v; want nobody without an ingress", np.Spec.Ingress)
			}
		case "kafka":
			found := false
			for _, rule := range np.Spec.Ingress {
				for _, p := range rule.From {
					if p.PodSelector != nil && p.PodSelector.MatchLabels[stack.LabelName] == "kafka-ui" {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("the brokers do not admit kafka-ui")
			}
		}
	}
}

func TestReadWriteAndPath(t *testing.T) {
	h, out := build(t, Config{ReadWrite: true, Path: "/kafka-ui/"})
	e := env(t, out)
	if e["KAFKA_CLUSTERS_0_READONLY"].Value != "false" || e["SERVER_SERVLET_CONTEXT_PATH"].Value != "/kafka-ui" {
		t.Errorf("readonly %q, context path %q", e["KAFKA_CLUSTERS_0_READONLY"].Value, e["SERVER_SERVLET_CONTEXT_PATH"].Value)
	}
	if h.HealthPath != "/kafka-ui/actuator/health" || h.Path != "/kafka-ui/" {
		t.Errorf("health %q path %q", h.HealthPath, h.Path)
	}
}

func TestRejects(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Path: "kafka-ui"}, `path "kafka-ui"`},
		{Config{Path: "/a/b/"}, `path "/a/b/"`},
		{Config{Name: "Kafka_UI"}, `name "Kafka_UI"`},
		{Config{Resources: stack.MustLimits("1", "128Mi")}, "256Mi or more"},
		{Config{Pool: "nope"}, "nope"},
	} {
		s := stacktest.NewStack(t, stacktest.ThreeZones())
		k, err := kafka.New(s, kafka.Config{})
		if err != nil {
			t.Fatal(err)
		}
		before := len(s.Components())
		_, err = New(s, k, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want an error containing %q", tc.cfg, err, tc.want)
		}
		if len(s.Components()) != before {
			t.Errorf("%+v: a rejected Config added a component", tc.cfg)
		}
	}
	if _, err := New(stacktest.NewStack(t, stacktest.ThreeZones()), nil, Config{}); err == nil || !strings.Contains(err.Error(), "Kafka handle") {
		t.Errorf("nil handle: %v", err)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("kafka-ui", "", "1", "1Gi", "/kafka-ui/", true)
	f.Add("", "", "", "", "", false)
	f.Add("x", "main", "-1", "1Ei", "/a b/", false)
	f.Fuzz(func(t *testing.T, name, pool, cpu, mem, path string, rw bool) {
		cfg := Config{Name: name, Pool: pool, Path: path, ReadWrite: rw}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			k, err := kafka.New(s, kafka.Config{})
			if err != nil {
				return err
			}
			_, err = New(s, k, cfg)
			return err
		})
	})
}
