package stack

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// TestCapacity: what can never schedule on the topology (pools of
// 3 x 4 vCPU / 32 GiB here) is refused at synthesis, naming the object.
func TestCapacity(t *testing.T) {
	cases := []struct {
		name string
		mod  func(s *Stack, e *echo)
		want string // "" means synthesis succeeds
	}{
		{"fits", func(s *Stack, e *echo) {}, ""},
		{"8 CPU on a 4 vCPU pool", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Resources = MustLimits("80", "1Gi").Requirements()
		}, "echo: StatefulSet/demo/echo: spec.template.spec.containers: the pod requests cpu 8 and memory 1Gi, more than any node it may run on allocates: main (cpu 4, memory 32Gi)"},
		{"memory above the node", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Resources = MustLimits("1", "33Gi").Requirements()
		}, "the pod requests cpu 100m and memory 33Gi, more than any node"},
		{"init container counts alone", func(s *Stack, e *echo) {
			ic := e.sts.Spec.Template.Spec.Containers[0]
			ic.Name, ic.Ports, ic.ReadinessProbe, ic.LivenessProbe = "init", nil, nil, nil
			ic.Resources = MustLimits("50", "1Gi").Requirements()
			e.sts.Spec.Template.Spec.InitContainers = []corev1.Container{ic}
		}, "the pod requests cpu 5 and memory 1Gi"},
		{"four per host on three hosts", func(s *Stack, e *echo) {
			e.sts.Spec.Replicas = ptr.To(int32(4))
		}, "spec.template.spec.affinity.podAntiAffinity: 4 replicas must each run on a node of their own, but only 3 nodes are eligible"},
		{"one per host across two workloads", func(s *Stack, e *echo) {
			e.sts.Spec.Replicas = ptr.To(int32(2))
			other := e.sts.DeepCopy()
			other.Name = "echo-b"
			e.c.Add(other)
		}, "4 pods (StatefulSet/demo/echo x2, StatefulSet/demo/echo-b x2) must each run on a node of their own, but only 3 nodes are eligible"},
		{"no such pool", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.NodeSelector = map[string]string{"role": "gpu"}
		}, "spec.template.spec.affinity: the pod may run on no node of the topology (pools: [main])"},
		{"pool totals", func(s *Stack, e *echo) {
			d := &appsv1.Deployment{}
			d.Name = "workers"
			d.Spec.Replicas = ptr.To(int32(10))
			d.Spec.Selector = e.sts.Spec.Selector.DeepCopy()
			d.Spec.Template = *e.sts.Spec.Template.DeepCopy()
			d.Spec.Template.Spec.Affinity.PodAntiAffinity = nil
			d.Spec.Template.Spec.TopologySpreadConstraints = nil
			d.Spec.Template.Spec.Containers[0].Resources = MustLimits("30", "1Gi").Requirements()
			d.Spec.Template.Spec.Containers[0].VolumeMounts = d.Spec.Template.Spec.Containers[0].VolumeMounts[:1]
			d.Spec.Template.Labels = e.c.SelectorFor("worker")
			d.Spec.Selector.MatchLabels = e.c.SelectorFor("worker")
			e.c.Add(d)
		}, "topology: pools[main]: the pods that may only run on pool main request cpu 30300m and memory 13Gi in all, more than its 3 nodes allocate (cpu 12, memory 96Gi): Deployment/demo/workers x10, StatefulSet/demo/echo x3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStack(t)
			e := addEcho(t, s, "echo")
			tc.mod(s, e)
			_, err := s.Synth()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

// TestSelectorOverlap: two copies of a component with the same labels
// are refused, naming both components.
func TestSelectorOverlap(t *testing.T) {
	s := newTestStack(t)
	a := addEcho(t, s, "kafka-000")
	b := addEcho(t, s, "kafka-001")
	// Both copies with the same fixed app name, as kafka.New had.
	for _, e := range []*echo{a, b} {
		e.c.meta.App = "kafka"
		sel := e.c.SelectorLabels()
		e.sts.Spec.Selector.MatchLabels = sel
		e.sts.Spec.Template.Labels = sel
		e.client.Spec.Selector = sel
		e.headless.Spec.Selector = sel
		e.sts.Spec.Replicas = ptr.To(int32(1))
	}
	_, err := s.Synth()
	for _, want := range []string{
		`kafka-000: Service/demo/kafka-000: spec.selector: app.kubernetes.io/component=server,app.kubernetes.io/instance=demo,app.kubernetes.io/name=kafka selects the pods of 2 components (StatefulSet/demo/kafka-000 of component "kafka-000", StatefulSet/demo/kafka-001 of component "kafka-001")`,
		`kafka-000: StatefulSet/demo/kafka-000: spec.selector: app.kubernetes.io/component=server,app.kubernetes.io/instance=demo,app.kubernetes.io/name=kafka also selects StatefulSet/demo/kafka-001 of component "kafka-001"`,
		`kafka-001: StatefulSet/demo/kafka-001: spec.selector: app.kubernetes.io/component=server,app.kubernetes.io/instance=demo,app.kubernetes.io/name=kafka also selects StatefulSet/demo/kafka-000 of component "kafka-000"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant an error containing %q", err, want)
		}
	}
	// With their own name labels both copies synthesize.
	s = newTestStack(t)
	addEcho(t, s, "kafka-000").sts.Spec.Replicas = ptr.To(int32(1))
	addEcho(t, s, "kafka-001").sts.Spec.Replicas = ptr.To(int32(1))
	if _, err := s.Synth(); err != nil {
		t.Fatal(err)
	}
}

func TestPodRequests(t *testing.T) {
	spec := &corev1.PodSpec{
		Containers:     []corev1.Container{{Resources: MustLimits("10", "1Gi").Requirements()}, {Resources: MustLimits("5", "1Gi").Requirements()}},
		InitContainers: []corev1.Container{{Resources: MustLimits("20", "512Mi").Requirements()}},
		Overhead:       corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
	}
	cpu, mem := PodRequests(spec)
	if cpu.String() != "2250m" || mem.String() != "2Gi" {
		t.Errorf("got cpu %s memory %s; want 2250m and 2Gi", cpu.String(), mem.String())
	}
	// A sidecar (restartPolicy Always) adds to the app containers and to
	// every init container after it.
	always := corev1.ContainerRestartPolicyAlways
	spec.InitContainers = []corev1.Container{
		{Resources: MustLimits("5", "4Gi").Requirements(), RestartPolicy: &always},
		{Resources: MustLimits("30", "512Mi").Requirements()},
	}
	cpu, mem = PodRequests(spec)
	if cpu.String() != "3750m" || mem.String() != "6Gi" {
		t.Errorf("with a sidecar: got cpu %s memory %s; want 3750m (3 + 500m init + 250m overhead) and 6Gi", cpu.String(), mem.String())
	}
}

func TestFits(t *testing.T) {
	topo := testTopology()
	for _, tc := range []struct {
		pool string
		pods int
		r    Resources
		want string
	}{
		{"main", 3, MustLimits("30", "32Gi"), ""},
		{"", 12, MustLimits("10", "8Gi"), ""},
		{"main", 1, MustLimits("80", "1Gi"), "redis: resources: a pod requests cpu 8 and memory 1Gi, more than a node of pool main allocates (cpu 4, memory 32Gi)"},
		{"main", 100, MustLimits("1", "1Gi"), "redis: 100 pods request cpu 10 and memory 100Gi in all, more than the 3 nodes of pool main allocate (cpu 12, memory 96Gi)"},
		{"gpu", 1, MustLimits("1", "1Gi"), `redis: pool: topology: no node pool "gpu" (pools: [main])`},
	} {
		err := topo.Fits("redis", tc.pool, tc.pods, tc.r)
		if (tc.want == "" && err != nil) || (tc.want != "" && (err == nil || err.Error() != tc.want)) {
			t.Errorf("%s x%d: got %v; want %q", tc.pool, tc.pods, err, tc.want)
		}
	}
}
