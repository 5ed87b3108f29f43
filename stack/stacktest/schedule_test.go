package stacktest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/stack"
)

func spreadStack(t *testing.T, topo stack.Topology, replicas int32, p stack.Placement) (*stack.Output, stack.Topology) {
	t.Helper()
	s := NewStack(t, topo)
	c, _ := s.AddComponent("q", stack.Meta{})
	sel := c.SelectorLabels()
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "q", Image: "q:1", Resources: stack.MustLimits("1", "1Gi").Requirements()}}}
	if err := topo.Place(&spec, sel, p); err != nil {
		t.Fatal(err)
	}
	c.Add(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: sel},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: spec}}})
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	return out, topo
}

func TestScheduleSpreadsAndRefuses(t *testing.T) {
	out, topo := spreadStack(t, ThreeZones(), 3, stack.Placement{Pool: "main", SpreadZones: true, OnePerHost: true})
	pods, err := Schedule(topo, out)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	for _, p := range pods["q"] {
		zones[p.Zone] = true
	}
	if len(zones) != 3 {
		t.Fatalf("3 replicas in zones %v", zones)
	}
	// Synthesis refuses a 4th replica with one per host on 3 nodes; a
	// stack built for 6 nodes and scheduled on 3 shows Schedule refusing it.
	s := NewStack(t, ThreeZones())
	c, _ := s.AddComponent("q", stack.Meta{})
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "q", Image: "q:1", Resources: stack.MustLimits("1", "1Gi").Requirements()}}}
	if err := s.Topology().Place(&spec, c.SelectorLabels(), stack.Placement{Pool: "main", OnePerHost: true}); err != nil {
		t.Fatal(err)
	}
	c.Add(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(4)), Selector: &metav1.LabelSelector{MatchLabels: c.SelectorLabels()},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: c.SelectorLabels()}, Spec: spec}}})
	if _, err := s.Synth(); err == nil || !strings.Contains(err.Error(), "4 replicas must each run on a node of their own, but only 3 nodes are eligible") {
		t.Fatalf("synthesis of a 4th replica with one per host on 3 nodes: %v", err)
	}
	six := ThreeZones()
	six.Pools[0].NodesPerZone = 2
	out, _ = spreadStack(t, six, 4, stack.Placement{Pool: "main", OnePerHost: true})
	if _, err := Schedule(ThreeZones(), out); err == nil || !strings.Contains(err.Error(), "Deployment/q-3 fits on no node") {
		t.Fatalf("a 4th replica with one per host on 3 nodes: %v", err)
	}
	// Six replicas spread over zones without host anti-affinity: two per zone.
	out, topo = spreadStack(t, ThreeZones(), 6, stack.Placement{Pool: "main", SpreadZones: true})
	pods, err = Schedule(topo, out)
	if err != nil {
		t.Fatal(err)
	}
	perZone := map[string]int{}
	for _, p := range pods["q"] {
		perZone[p.Zone]++
	}
	for z, n := range perZone {
		if n != 2 {
			t.Errorf("zone %s has %d replicas; want 2", z, n)
		}
	}
}

// TestScheduleZoneLoss removes a zone from the nodes the spread sees: with
// minDomains = 3 a pod does not double up in a surviving zone.
func TestScheduleZoneLoss(t *testing.T) {
	out, _ := spreadStack(t, ThreeZones(), 3, stack.Placement{Pool: "main", SpreadZones: true})
	lost := ThreeZones()
	lost.Zones = lost.Zones[:2]
	if _, err := Schedule(lost, out); err == nil || !strings.Contains(err.Error(), "q-2 fits on no node") {
		t.Fatalf("third replica with a zone lost: %v", err)
	}
}

func TestScheduleResources(t *testing.T) {
	topo := ThreeZones()
	out, _ := spreadStack(t, topo, 3, stack.Placement{Pool: "main"})
	small := ThreeZones()
	for i := range small.Pools {
		small.Pools[i].Memory = small.Pools[i].Memory.DeepCopy()
		small.Pools[i].Memory.Set(512 << 20)
	}
	if _, err := Schedule(small, out); err == nil || !strings.Contains(err.Error(), "memory 1Gi requested") {
		t.Fatalf("1Gi request on 512Mi nodes: %v", err)
	}
}
