package values_test

import (
	"testing"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
	corev1 "k8s.io/api/core/v1"
)

// TestStackTopology decodes straight into stack.Topology, which has no
// json tags: its Go names in lowerCamel case are the values documents' fixed keys
// (topology.zones, topology.pools[].name|instanceType|arch|cpu|memory|
// nodesPerZone|labels|taints), corev1.Taint brings its own json tags, and
// its `Validate() error` runs as an ErrorValidator at "topology".
func TestStackTopology(t *testing.T) {
	type cfg struct {
		Topology stack.Topology `json:"topology"`
	}
	good := `
topology:
  zones: [us-east-1a, us-east-1b, us-east-1c]
  pools:
    - name: tb
      instanceType: m7g.xlarge
      arch: arm64
      cpu: 4
      memory: 16Gi
      nodesPerZone: 1
      labels: {role: thingsboard}
      taints: [{key: dedicated, value: tb, effect: NoSchedule}]
`
	var c cfg
	if err := values.Load(&c, values.Doc{Name: "us-east-1.yaml", Data: []byte(good)}); err != nil {
		t.Fatal(err)
	}
	p := c.Topology.Pools[0]
	if c.Topology.Zones[2] != "us-east-1c" || p.InstanceType != "m7g.xlarge" || p.CPU.String() != "4" || p.Memory.String() != "16Gi" ||
		p.NodesPerZone != 1 || p.Labels["role"] != "thingsboard" || p.Taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("got %+v", c.Topology)
	}
	if _, err := values.Render(&c); err != nil {
		t.Errorf("Render: %v", err)
	}
	if _, err := values.Schema(&c, ""); err != nil {
		t.Errorf("Schema: %v", err)
	}

	for _, tc := range []struct {
		name, doc, path string
	}{
		{"unknown pool key", "topology: {pools: [{name: a, instancetype: x}]}\n", "topology.pools[0].instancetype"},
		{"unknown taint key", "topology: {pools: [{name: a, taints: [{effekt: NoSchedule}]}]}\n", "topology.pools[0].taints[0].effekt"},
		{"Validate() error", "topology: {zones: [a], pools: [{name: a, cpu: 1, memory: 1Gi, nodesPerZone: 0}]}\n", "topology"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c cfg
			err := values.Load(&c, values.Doc{Name: "bad.yaml", Data: []byte(tc.doc)})
			if !hasPath(err, tc.path) {
				t.Errorf("got %v, want an error at %q", err, tc.path)
			}
		})
	}
}
