package stack

import (
	"maps"
	"testing"
)

// TestHostLabels: a host's placement labels are its zone and its pool's
// labels, in a map of its own (the kind, kubeadm and simulated nodes take
// them from here).
func TestHostLabels(t *testing.T) {
	topo := Topology{Zones: []string{"a", "b"}, Pools: []NodePool{{Name: "p", NodesPerZone: 1, Labels: map[string]string{"role": "x"}}}}
	hosts := topo.Hosts()
	got := hosts[1].Labels()
	if want := map[string]string{ZoneLabel: "b", "role": "x"}; !maps.Equal(got, want) {
		t.Errorf("labels %v; want %v", got, want)
	}
	got["role"] = "changed"
	if topo.Pools[0].Labels["role"] != "x" {
		t.Error("Labels shares the pool's map")
	}
}
