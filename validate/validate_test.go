package validate

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

// TestProfilesClean: every profile, and every part, passes every rule.
func TestProfilesClean(t *testing.T) {
	reports, err := Profiles(schemaDirs(t), profiles.Names()...)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 8 {
		t.Errorf("%d reports; want the three profiles, their monitoring parts, minimal-3az/loadtest and 100k/loadtest", len(reports))
	}
	for _, r := range reports {
		for _, f := range r.Findings {
			t.Errorf("%s", f)
		}
		for _, e := range r.Exceptions {
			if strings.TrimSpace(e.Reason) == "" {
				t.Errorf("exception %+v has no reason", e)
			}
		}
	}
}

// TestDecodeCorpus: documents an API server would reject, caught by the
// strict decoder with the expected message.
func TestDecodeCorpus(t *testing.T) {
	const head = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: kafka\nspec:\n"
	cases := []struct{ name, doc, want string }{
		{"unknown field", head + "  template:\n    spec:\n      containers:\n      - name: k\n        image: k:1\n        imagePullPolcy: Always\n", `unknown field "spec.template.spec.containers[0].imagePullPolcy"`},
		{"wrong type", head + "  replicas: \"3\"\n", "cannot unmarshal string into Go struct field"},
		{"bad quantity", head + "  template:\n    spec:\n      containers:\n      - name: k\n        image: k:1\n        resources:\n          limits:\n            cpu: 500mm\n", "unable to parse quantity's suffix"},
		{"duplicate key", head + "  replicas: 3\n  replicas: 4\n", `key "replicas" already set in map`},
		{"case", head + "  Replicas: 3\n", `unknown field "spec.Replicas"`},
	}
	for _, tc := range cases {
		err := DecodeDocument([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v; want %q", tc.name, err, tc.want)
		}
	}
	if err := DecodeDocument([]byte(head + "  replicas: 3\n  serviceName: kafka\n")); err != nil {
		t.Errorf("a good document: %v", err)
	}
}

// broken builds a one-workload stack and lets the case break it.
func broken(t *testing.T, replicas int32, mutate func(*corev1.PodSpec), extra func(*stack.Component)) *Report {
	t.Helper()
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	c, _ := s.AddComponent("app", stack.Meta{Version: "1.0"})
	sel := c.SelectorLabels()
	spec := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: 1000, GID: 1000, FSGroup: 1000}),
		Containers: []corev1.Container{{
			Name: "app", Image: "example.org/app:1.0", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Resources:       stack.MustLimits("1", "1Gi").Requirements(),
			ReadinessProbe:  stack.HTTPProbe("/ready", "http", stack.ProbeTiming{}),
			LivenessProbe:   stack.TCPProbe("http", stack.ProbeTiming{}),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
		}},
	}
	if err := s.Topology().Place(&spec, sel, stack.Placement{Pool: "main", SpreadZones: true, OnePerHost: true}); err != nil {
		t.Fatal(err)
	}
	mutate(&spec)
	c.Add(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "app"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: sel},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: spec}}})
	if extra != nil {
		extra(c)
	}
	r, err := CheckStack("test", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRuleCorpus: each broken workload is caught by the rule that should
// catch it, with the expected message; the unbroken one passes.
func TestRuleCorpus(t *testing.T) {
	pdb := func(c *stack.Component) { c.Add(stack.PDB("app", c.SelectorLabels(), 1)) }
	if r := broken(t, 3, func(*corev1.PodSpec) {}, pdb); !r.OK() {
		t.Fatalf("the unbroken workload: %v", r.Findings)
	}
	cases := []struct {
		name     string
		replicas int32
		mutate   func(*corev1.PodSpec)
		extra    func(*stack.Component)
		rule     Rule
		want     string
	}{
		{"root container", 1, func(s *corev1.PodSpec) { s.SecurityContext.RunAsUser = ptr.To(int64(0)) }, nil, PodSecurity, "runAsUser=0"},
		{"privilege escalation", 1, func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true) }, nil, PodSecurity, "allowPrivilegeEscalation != false"},
		{"host path", 1, func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var"}}})
		}, nil, PodSecurity, `restricted volume type "hostPath"`},
		{"missing PDB", 3, func(*corev1.PodSpec) {}, nil, PDB, "3 replicas and no PodDisruptionBudget selects them"},
		{"no anti-affinity", 3, func(s *corev1.PodSpec) { s.Affinity.PodAntiAffinity = nil }, pdb, HostAntiAffinity, "no pod anti-affinity on kubernetes.io/hostname"},
		{"no zone spread", 3, func(s *corev1.PodSpec) { s.TopologySpreadConstraints = nil }, pdb, ZoneSpread, "no topology spread constraint on topology.kubernetes.io/zone"},
		{"no memory limit", 1, func(s *corev1.PodSpec) { delete(s.Containers[0].Resources.Limits, corev1.ResourceMemory) }, nil, Resources, `container "app" has no memory limit`},
		{"no readiness", 1, func(s *corev1.PodSpec) { s.Containers[0].ReadinessProbe = nil }, nil, Probes, `container "app" has no readiness probe`},
		{"latest", 1, func(s *corev1.PodSpec) { s.Containers[0].Image = "example.org/app:latest" }, nil, ImageTag, "uses latest"},
		{"untagged", 1, func(s *corev1.PodSpec) { s.Containers[0].Image = "registry:5000/app" }, nil, ImageTag, "has no tag"},
		{"selector mismatch", 1, func(*corev1.PodSpec) {}, func(c *stack.Component) {
			c.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "app"}, Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app.kubernetes.io/name": "ap"},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}})
		}, References, "selects no pod template"},
		{"missing image", 1, func(s *corev1.PodSpec) { s.Containers[0].Image = "" }, nil, References, "spec.template.spec.containers[0].image: empty"},
		{"dangling ConfigMap", 1, func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-conf"}}}})
		}, nil, References, `ConfigMap "app-conf"`},
		{"port name over 15 characters", 1, func(s *corev1.PodSpec) { s.Containers[0].Ports[0].Name = "http-management-api" }, nil, References, "must be no more than 15 characters"},
		{"probe on an unknown port", 1, func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe = stack.TCPProbe("admin", stack.ProbeTiming{}) }, nil, References, `named port "admin" is not a port of container "app"`},
		{"bad label value", 1, func(s *corev1.PodSpec) {}, func(c *stack.Component) {
			c.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-conf", Labels: map[string]string{"tier": "kafka broker!"}}})
		}, References, `metadata.labels[tier]: "kafka broker!" is not a valid label value`},
		{"negative replicas", -1, func(*corev1.PodSpec) {}, nil, References, "spec.replicas: -1 is negative"},
		{"PDB with minAvailable and maxUnavailable", 3, func(*corev1.PodSpec) {}, func(c *stack.Component) {
			p := stack.PDB("app", c.SelectorLabels(), 1)
			p.Spec.MinAvailable = ptr.To(intstr.FromInt32(2))
			c.Add(p)
		}, References, "minAvailable and maxUnavailable are both set"},
		{"bitnami", 1, func(s *corev1.PodSpec) { s.Containers[0].Image = "bitnamilegacy/kafka:4.0.0" }, nil, ImageTag, "is a Bitnami image"},
		{"bitnami by digest", 1, func(s *corev1.PodSpec) {
			s.Containers[0].Image = "bitnami/kafka:4.0.0@sha256:" + strings.Repeat("a", 64)
		}, nil, ImageTag, "is a Bitnami image"},
		{"digest without tag", 1, func(s *corev1.PodSpec) { s.Containers[0].Image = "example.org/app@sha256:" + strings.Repeat("a", 64) }, nil, ImageTag, "has no tag"},
		{"malformed digest", 1, func(s *corev1.PodSpec) { s.Containers[0].Image = "example.org/app:1.0@sha256:abc" }, nil, ImageTag, `digest "sha256:abc"; a sha256 digest is 64 lower-case hex digits`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := broken(t, tc.replicas, tc.mutate, tc.extra)
			found := false
			for _, f := range r.Findings {
				if f.Rule == tc.rule.Name && strings.Contains(f.Message, tc.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want [%s] %q; got %v", tc.rule.Name, tc.want, r.Findings)
			}
		})
	}
	// A documented exception suppresses the finding and is listed.
	r := broken(t, 1, func(s *corev1.PodSpec) { s.Containers[0].ReadinessProbe = nil }, func(c *stack.Component) { c.Except(Probes.Name, "serves nothing") })
	if !r.OK() || len(r.Exceptions) != 1 || r.Exceptions[0].Reason != "serves nothing" {
		t.Fatalf("exception: findings %v, exceptions %v", r.Findings, r.Exceptions)
	}
}
