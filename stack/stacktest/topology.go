package stacktest

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
)

// ThreeZones is a topology like minimal-3az: three zones with one
// 4 vCPU / 32 GiB node each, in a pool named "main" labelled role=main.
func ThreeZones() stack.Topology {
	return stack.Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []stack.NodePool{{
			Name: "main", InstanceType: "r7g.xlarge", Arch: "arm64",
			CPU: resource.MustParse("4"), Memory: resource.MustParse("32Gi"), NodesPerZone: 1,
			Labels: map[string]string{"role": "main"},
		}},
	}
}

// NewStack returns an empty stack "test" in namespace "iot" on topo.
func NewStack(t testing.TB, topo stack.Topology) *stack.Stack {
	t.Helper()
	s, err := stack.New(stack.Options{Name: "test", Namespace: "iot", PartOf: "iotstack-test", Topology: topo})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
