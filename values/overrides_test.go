package values_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/iotstack/iotstack/values"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestRenderOverrides(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{name: "nothing", edit: func(*Config) {}, want: "{}\n"},
		{name: "a scalar", edit: func(c *Config) { c.Namespace = "prod" }, want: `# Namespace is the Kubernetes namespace of every object.
namespace: prod
`},
		{name: "a semantically equal quantity is no change", edit: func(c *Config) { c.Topology.Pools[0].Memory = resource.MustParse("32768Mi") }, want: "{}\n"},
		{name: "a list is written whole", edit: func(c *Config) { c.Topology.Zones = c.Topology.Zones[:1] }, want: `# Topology is the shape of the cluster.
topology:
  # Zones are the values of topology.kubernetes.io/zone, in order.
  # At least 1 item.
  zones: [eu-west-1a]
`},
		{name: "maps by entry, dropped entries as null", edit: func(c *Config) {
			c.Kafka.Topics = map[string]Topic{"audit": {Partitions: 1}}
			c.Kafka.Storage = nil
		}, want: `# Kafka configures the message broker.
kafka:
  # Storage is the brokers' volume; null keeps data in the pod.
  storage: null
  # Topics are created at install, by name.
  topics:
    audit:
      # Partitions is the topic's partition count.
      # At least 1.
      partitions: 1
      # Compact turns log compaction on.
      compact: false
    events: null
`},
		{name: "a changed map entry key by key", edit: func(c *Config) { c.Kafka.Topics = map[string]Topic{"events": {Partitions: 3, Compact: true}} }, want: `# Kafka configures the message broker.
kafka:
  # Topics are created at install, by name.
  topics:
    events:
      # Compact turns log compaction on.
      compact: true
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			tc.edit(&cfg)
			out, err := values.RenderOverrides(Defaults(), &cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(out)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			back := Defaults()
			if err := values.Load(&back, values.Doc{Name: "overrides.yaml", Data: out}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cfg, back, cmpOpts...); diff != "" {
				t.Errorf("loaded onto the defaults (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := values.RenderOverrides(Defaults(), &Topology{}); err == nil {
		t.Error("two types: no error")
	}
}
