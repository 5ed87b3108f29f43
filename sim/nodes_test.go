package sim

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// TestNodesAndVolumes: the fake nodes are the topology's, with its
// capacity and labels; every claim template gets a volume per replica in
// every zone, tied to its zone.
func TestNodesAndVolumes(t *testing.T) {
	outs, err := profiles.Synth(profiles.Options{}, "minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	out := outs[0]
	nodes := Nodes(out.Topology)
	want := 0
	for _, p := range out.Topology.Pools {
		want += p.Nodes(out.Topology)
	}
	if len(nodes) != want || want == 0 {
		t.Fatalf("%d nodes, want %d", len(nodes), want)
	}
	zones := map[string]int{}
	for _, n := range nodes {
		zones[n.Labels[stack.ZoneLabel]]++
		if n.Labels[stack.HostnameLabel] != n.Name || n.Annotations["kwok.x-k8s.io/node"] != "fake" {
			t.Errorf("node %s: labels %v annotations %v", n.Name, n.Labels, n.Annotations)
		}
		if n.Status.Allocatable.Cpu().IsZero() || n.Status.Allocatable.Memory().IsZero() {
			t.Errorf("node %s has no capacity", n.Name)
		}
	}
	if len(zones) != 3 {
		t.Errorf("zones %v", zones)
	}
	first := out.Topology.Pools[0]
	if n := nodes[0]; !n.Status.Capacity.Cpu().Equal(first.CPU) || !n.Status.Capacity.Memory().Equal(first.Memory) {
		t.Errorf("node %s capacity %v, want the pool's %s/%s", n.Name, n.Status.Capacity, first.CPU.String(), first.Memory.String())
	}
	for k, v := range first.Labels {
		if nodes[0].Labels[k] != v {
			t.Errorf("node %s lacks pool label %s=%s", nodes[0].Name, k, v)
		}
	}
	pvs := Volumes(out.Topology, out)
	if len(pvs) == 0 {
		t.Fatal("no volumes")
	}
	for _, pv := range pvs {
		terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
		if len(terms) != 1 || terms[0].MatchExpressions[0].Key != stack.ZoneLabel || pv.Spec.StorageClassName == "" {
			t.Errorf("volume %s: %+v", pv.Name, pv.Spec)
		}
		if q := pv.Spec.Capacity[corev1.ResourceStorage]; q.IsZero() {
			t.Errorf("volume %s has no size", pv.Name)
		}
	}
}
