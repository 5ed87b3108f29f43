package stack

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestScaleRequests(t *testing.T) {
	req := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourceEphemeralStorage: resource.MustParse("64Mi")}
	scaleRequests(req, 0.1)
	if cpu := req[corev1.ResourceCPU]; cpu.String() != "150m" {
		t.Errorf("cpu %s, want 150m", cpu.String())
	}
	if mem := req[corev1.ResourceMemory]; mem.String() != "409Mi" {
		t.Errorf("memory %s, want 409Mi", mem.String())
	}
	if es := req[corev1.ResourceEphemeralStorage]; es.String() != "64Mi" {
		t.Errorf("ephemeral storage %s changed", es.String())
	}
	tiny := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")}
	scaleRequests(tiny, 0.1)
	if cpu, mem := tiny[corev1.ResourceCPU], tiny[corev1.ResourceMemory]; cpu.String() != "5m" || mem.String() != "16Mi" {
		t.Errorf("floors: %s %s", cpu.String(), mem.String())
	}
	s, err := New(Options{Name: "t", Namespace: "t", Topology: testTopology()})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float64{0, -1, 1.5} {
		if err := s.ScaleRequests(bad); err == nil {
			t.Errorf("scale %v: want an error", bad)
		}
	}
}
