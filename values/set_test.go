package values_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iotstack/iotstack/values"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		exprs []string
		edit  func(*Config)
	}{
		{name: "string taken literally", exprs: []string{"namespace=123"}, edit: func(c *Config) { c.Namespace = "123" }},
		{name: "string with =", exprs: []string{"exposure.domain=a=b"}, edit: func(c *Config) { c.Exposure.Domain = "a=b" }},
		{name: "empty string", exprs: []string{"namespace="}, edit: func(c *Config) { c.Namespace = "" }},
		{name: "integer", exprs: []string{"kafka.brokers=5", "kafka.replicationFactor=3"}, edit: func(c *Config) { c.Kafka.Brokers, c.Kafka.ReplicationFactor = 5, 3 }},
		{name: "float and bool", exprs: []string{"exposure.requestScale=0.1", "exposure.tls=true"}, edit: func(c *Config) { c.Exposure.RequestScale, c.Exposure.TLS = 0.1, true }},
		{name: "list item", exprs: []string{"topology.zones[0]=us-east-1a"}, edit: func(c *Config) { c.Topology.Zones[0] = "us-east-1a" }},
		{name: "append one", exprs: []string{"topology.zones[3]=eu-west-1d"}, edit: func(c *Config) { c.Topology.Zones = append(c.Topology.Zones, "eu-west-1d") }},
		{name: "helm list", exprs: []string{"topology.zones={us-east-1a,us-east-1b}"}, edit: func(c *Config) { c.Topology.Zones = []string{"us-east-1a", "us-east-1b"} }},
		{name: "flow list", exprs: []string{`topology.zones=["a", b]`}, edit: func(c *Config) { c.Topology.Zones = []string{"a", "b"} }},
		{name: "list of mappings", exprs: []string{"topology.pools=[{name: x, arch: amd64, nodesPerZone: 2}]"}, edit: func(c *Config) { c.Topology.Pools = []Pool{{Name: "x", Arch: "amd64", NodesPerZone: 2}} }},
		{name: "append an item key by key", exprs: []string{"topology.pools[1].name=b", "topology.pools[1].arch=amd64", "topology.pools[1].nodesPerZone=3"}, edit: func(c *Config) {
			c.Topology.Pools = append(c.Topology.Pools, Pool{Name: "b", Arch: "amd64", NodesPerZone: 3})
		}},
		{name: "nested map entry", exprs: []string{"topology.pools[0].labels.role=tb"}, edit: func(c *Config) { c.Topology.Pools[0].Labels["role"] = "tb" }},
		{name: "map key with dots, quoted", exprs: []string{`topology.pools[0].labels["kubernetes.io/arch"]=arm64`}, edit: func(c *Config) { c.Topology.Pools[0].Labels["kubernetes.io/arch"] = "arm64" }},
		{name: "map key with dots, escaped", exprs: []string{`topology.pools[0].labels.kubernetes\.io/arch=arm64`}, edit: func(c *Config) { c.Topology.Pools[0].Labels["kubernetes.io/arch"] = "arm64" }},
		{name: "new map", exprs: []string{"images.tags.kafka=4.1"}, edit: func(c *Config) { c.Images.Tags = map[string]string{"kafka": "4.1"} }},
		{name: "null deletes map entry", exprs: []string{"topology.pools[0].labels.role=null"}, edit: func(c *Config) { delete(c.Topology.Pools[0].Labels, "role") }},
		{name: "null resets pointer", exprs: []string{"kafka.storage=null"}, edit: func(c *Config) { c.Kafka.Storage = nil }},
		{name: "path through nil pointer", exprs: []string{"kafka.storage=null", "kafka.storage.class=gp3"}, edit: func(c *Config) { c.Kafka.Storage = &Storage{Class: "gp3"} }},
		{name: "mapping merges", exprs: []string{"kafka.storage={class: gp3}"}, edit: func(c *Config) { c.Kafka.Storage.Class = "gp3" }},
		{name: "quantity and duration", exprs: []string{"topology.pools[0].cpu=8", "kafka.retention=90m"}, edit: func(c *Config) {
			c.Topology.Pools[0].CPU = resource.MustParse("8")
			c.Kafka.Retention = 90 * time.Minute
		}},
		{name: "enum", exprs: []string{"topology.pools[0].arch=amd64"}, edit: func(c *Config) { c.Topology.Pools[0].Arch = "amd64" }},
		{name: "in order", exprs: []string{"namespace=a", "namespace=b"}, edit: func(c *Config) { c.Namespace = "b" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			if err := values.Set(&cfg, tc.exprs...); err != nil {
				t.Fatal(err)
			}
			want := Defaults()
			tc.edit(&want)
			if diff := cmp.Diff(want, cfg, cmpOpts...); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		exprs []string
		want  []string
	}{
		{name: "invalid UTF-8", exprs: []string{"namespace=\xee"}, want: []string{`--set: (document): "namespace=\xee"; not valid UTF-8; values are UTF-8 text, as in a YAML document`}},
		{name: "no =", exprs: []string{"namespace"}, want: []string{`--set: (document): "namespace"; expected PATH=VALUE, such as namespace=prod or topology.zones[0]=us-east-1a`}},
		{name: "empty path", exprs: []string{"=x"}, want: []string{`--set: (document): "=x"; expected PATH=VALUE, such as namespace=prod or topology.zones[0]=us-east-1a`}},
		{name: "bad path", exprs: []string{"kafka..brokers=1"}, want: []string{`--set: kafka..brokers: not a values path: empty key at offset 6`}},
		{name: "bad index", exprs: []string{"topology.zones[-1]=x"}, want: []string{`--set: topology.zones[-1]: not a values path: list index "-1" is not a non-negative integer`}},
		{name: "unknown key", exprs: []string{"kafka.broker=1"}, want: []string{`--set: kafka.broker: unknown key "broker"; did you mean "brokers"? known keys: brokers, replicationFactor, retention, storage, topics`}},
		{name: "beyond the end", exprs: []string{"topology.zones[4]=x"}, want: []string{`--set: topology.zones[4]: index 4 is beyond the end of the list (3 items); use [3] to append`}},
		{name: "index on a non-list", exprs: []string{"namespace[0]=x"}, want: []string{`--set: namespace[0]: namespace is a string, not a list; an index [0] does not apply`}},
		{name: "key on a scalar", exprs: []string{"namespace.x=1"}, want: []string{`--set: namespace.x: namespace is a string; it has no key "x"`}},
		{name: "wrong type", exprs: []string{"kafka.brokers=three"}, want: []string{`--set: kafka.brokers: "three"; expected an integer, got a string`}},
		{name: "empty number", exprs: []string{"kafka.brokers="}, want: []string{`--set: kafka.brokers: ""; expected an integer`}},
		{name: "bounds", exprs: []string{"kafka.brokers=256"}, want: []string{`--set: kafka.brokers: 256; above the maximum 255`}},
		{name: "enum", exprs: []string{"images.pullPolicy=Sometimes"}, want: []string{`--set: images.pullPolicy: "Sometimes"; not allowed; allowed values: Always, IfNotPresent, Never`}},
		{name: "quantity", exprs: []string{"kafka.storage.size=lots"}, want: []string{`--set: kafka.storage.size: "lots"; not a quantity (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'); expected a Kubernetes quantity such as 4, 500m or 16Gi`}},
		{name: "null below min", exprs: []string{"topology.zones=null"}, want: []string{`--set: topology.zones: null; resets the field to an empty list, which is not allowed (at least 1 item)`}},
		{name: "appended item incomplete", exprs: []string{"topology.pools[1].name=b"}, want: []string{
			`topology.pools[1].arch: ""; not allowed; allowed values: amd64, arm64`,
			`topology.pools[1].nodesPerZone: 0; out of bounds; from 1 to 100`,
		}},
		{name: "mapping missing required keys", exprs: []string{"topology.pools=[{name: x}]"}, want: []string{
			`--set: topology.pools[0].arch: missing; required, since "" is not allowed (allowed values: amd64, arm64)`,
			`--set: topology.pools[0].nodesPerZone: missing; required, since 0 is not allowed (from 1 to 100)`,
		}},
		{name: "null list item", exprs: []string{"topology.zones[0]=null"}, want: []string{`--set: topology.zones[0]: null; a list item cannot be null; expected a string`}},
		{name: "bad flow list", exprs: []string{"topology.zones=[a"}, want: []string{`--set: topology.zones: "[a"; expected a list of strings (did not find expected ',' or ']')`}},
		{name: "helm list of wrong items", exprs: []string{"topology.pools[0].taints={a,b}"}, want: []string{
			`--set: topology.pools[0].taints[0]: "a"; expected a mapping, got a string`,
			`--set: topology.pools[0].taints[1]: "b"; expected a mapping, got a string`,
		}},
		{name: "every error at once", exprs: []string{"kafka.brokers=x", "nope=1", "kafka.replicationFactor=9"}, want: []string{
			`--set: kafka.brokers: "x"; expected an integer, got a string`,
			`--set: nope: unknown key "nope"; known keys: namespace, topology, kafka, images, exposure`,
		}},
		{name: "validation after overrides", exprs: []string{"kafka.replicationFactor=9"}, want: []string{`kafka.replicationFactor: 9; exceeds brokers 3`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			fes := fieldErrors(t, values.Set(&cfg, tc.exprs...))
			var got []string
			for _, e := range fes {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Defaults(), cfg, cmpOpts...); diff != "" {
				t.Errorf("Set changed the target despite errors:\n%s", diff)
			}
		})
	}
}

func TestLoadAndSetOrder(t *testing.T) {
	// defaults ← files in order ← --set in order, validated once at the
	// end: the file's replication factor 5 is only valid with the brokers
	// the override brings.
	cfg := Defaults()
	err := values.LoadAndSet(&cfg,
		[]values.Doc{doc("a.yaml", "namespace: a\nkafka: {replicationFactor: 5}\n"), doc("b.yaml", "namespace: b\n")},
		[]string{"kafka.brokers=5"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Namespace != "b" || cfg.Kafka.Brokers != 5 || cfg.Kafka.ReplicationFactor != 5 {
		t.Errorf("got %+v", cfg)
	}
	// Errors of files and overrides come together, files first.
	cfg = Defaults()
	err = values.LoadAndSet(&cfg, []values.Doc{doc("a.yaml", "nope: 1\n")}, []string{"kafka.brokers=x"})
	fes := fieldErrors(t, err)
	if len(fes) != 2 || fes[0].File != "a.yaml" || fes[1].File != "--set" {
		t.Errorf("got %v", err)
	}
}
