package values_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/iotstack/iotstack/values"
	"k8s.io/apimachinery/pkg/api/resource"
)

// cmpOpts compare configs: nil and empty are equal (an empty list decodes
// to nil), netip.Addr by ==.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{})}

func doc(name, text string) values.Doc {
	return values.Doc{Name: name, Data: []byte(text)}
}

// fieldErrors returns the FieldErrors of err, failing when it holds none.
func fieldErrors(t *testing.T, err error) values.Errors {
	t.Helper()
	var fes values.Errors
	if !errors.As(err, &fes) {
		t.Fatalf("got %v (%T), want values.Errors", err, err)
	}
	return fes
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		docs []values.Doc
		// want are the expected errors, rendered, in order.
		want []string
		// line of the first error, when checked.
		line int
	}{
		{
			name: "unknown key with suggestion",
			docs: []values.Doc{doc("a.yaml", "kafka:\n  replicationFactr: 3\n")},
			want: []string{`a.yaml:2: kafka.replicationFactr: unknown key "replicationFactr"; did you mean "replicationFactor"? known keys: brokers, replicationFactor, retention, storage, topics`},
			line: 2,
		},
		{
			name: "unknown key case",
			docs: []values.Doc{doc("a.yaml", "Namespace: x\n")},
			want: []string{`a.yaml:1: Namespace: unknown key "Namespace"; did you mean "namespace"? known keys: namespace, topology, kafka, images, exposure`},
		},
		{
			name: "no suggestion when far",
			docs: []values.Doc{doc("a.yaml", "kafka: {zookeeper: x}\n")},
			want: []string{`a.yaml:1: kafka.zookeeper: unknown key "zookeeper"; known keys: brokers, replicationFactor, retention, storage, topics`},
		},
		{
			name: "nested list item",
			docs: []values.Doc{doc("p.yaml", "topology:\n  pools:\n    - {name: a, arch: arm64, nodesPerZone: 1}\n    - name: b\n      arch: arm64\n      nodesPerZone: 1\n      cpu: 4 cores\n")},
			want: []string{`p.yaml:7: topology.pools[1].cpu: "4 cores"; not a quantity (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'); expected a Kubernetes quantity such as 4, 500m or 16Gi`},
			line: 7,
		},
		{
			name: "all errors of all files at once",
			docs: []values.Doc{
				doc("one.yaml", "namespace: 1\nkafka: {brokers: 0}\n"),
				doc("two.yaml", "exposure: {tls: maybe, requestScale: 2}\nimages: {pullPolicy: Sometimes}\n"),
			},
			want: []string{
				`one.yaml:1: namespace: 1; expected a string, got an integer (quote it, "1", to make it a string)`,
				`one.yaml:2: kafka.brokers: 0; below the minimum 1`,
				`two.yaml:1: exposure.tls: "maybe"; expected a boolean (true or false), got a string`,
				`two.yaml:1: exposure.requestScale: 2; above the maximum 1`,
				`two.yaml:2: images.pullPolicy: "Sometimes"; not allowed; allowed values: Always, IfNotPresent, Never`,
			},
		},
		{
			name: "enum suggestion",
			docs: []values.Doc{doc("a.yaml", "images: {pullPolicy: always}\n")},
			want: []string{`a.yaml:1: images.pullPolicy: "always"; not allowed; did you mean "Always"? allowed values: Always, IfNotPresent, Never`},
		},
		{
			name: "type enum",
			docs: []values.Doc{doc("a.yaml", "topology: {pools: [{name: a, arch: x86, nodesPerZone: 1}]}\n")},
			want: []string{`a.yaml:1: topology.pools[0].arch: "x86"; not allowed; allowed values: amd64, arm64`},
		},
		{
			name: "duplicate key",
			docs: []values.Doc{doc("a.yaml", "namespace: a\nkafka: {}\nnamespace: b\n")},
			want: []string{`a.yaml:3: namespace: key "namespace" given twice (first on line 1); give each key once`},
		},
		{
			name: "syntax error",
			docs: []values.Doc{doc("a.yaml", "namespace: a\n  b: c\n")},
			want: []string{`a.yaml:2: (document): not valid YAML or JSON: mapping values are not allowed in this context`},
		},
		{
			name: "two documents",
			docs: []values.Doc{doc("a.yaml", "namespace: a\n---\nnamespace: b\n")},
			want: []string{`a.yaml:2: (document): a second YAML document (after ---); put one document in each file`},
		},
		{
			name: "document not a mapping",
			docs: []values.Doc{doc("a.yaml", "just text\n")},
			want: []string{`a.yaml:1: (document): "just text"; expected a mapping, got a string`},
		},
		{
			name: "integer range of the Go type",
			docs: []values.Doc{doc("a.yaml", "kafka: {replicationFactor: 1e30}\n")},
			want: []string{`a.yaml:1: kafka.replicationFactor: 1e30; out of range for int; allowed -9223372036854775808 to 9223372036854775807`},
		},
		{
			name: "fraction",
			docs: []values.Doc{doc("a.yaml", "kafka: {brokers: 2.5}\n")},
			want: []string{`a.yaml:1: kafka.brokers: 2.5; expected an integer, got a number with a fraction`},
		},
		{
			name: "list count",
			docs: []values.Doc{doc("a.yaml", "topology: {zones: []}\n")},
			want: []string{`a.yaml:1: topology.zones: 0 items; at least 1 required`},
		},
		{
			name: "null forbidden by tags",
			docs: []values.Doc{doc("a.yaml", "kafka: {brokers: null}\n")},
			want: []string{`a.yaml:1: kafka.brokers: null; resets the field to 0, which is not allowed (from 1 to 255)`},
		},
		{
			name: "missing keys in a new list item",
			docs: []values.Doc{doc("a.yaml", "topology:\n  pools:\n    - name: a\n")},
			want: []string{
				`a.yaml:3: topology.pools[0].arch: missing; required, since "" is not allowed (allowed values: amd64, arm64)`,
				`a.yaml:3: topology.pools[0].nodesPerZone: missing; required, since 0 is not allowed (from 1 to 100)`,
			},
		},
		{
			name: "null list item",
			docs: []values.Doc{doc("a.yaml", "topology: {zones: [a, null]}\n")},
			want: []string{`a.yaml:1: topology.zones[1]: null; a list item cannot be null; expected a string`},
		},
		{
			name: "duration",
			docs: []values.Doc{doc("a.yaml", "kafka: {retention: 3 days}\n")},
			want: []string{`a.yaml:1: kafka.retention: "3 days"; not a duration; expected a Go duration such as 30s, 5m or 1h30m (units ns, us, ms, s, m, h)`},
		},
		{
			name: "text type",
			docs: []values.Doc{doc("a.yaml", "exposure: {address: 10.0.0.300}\n")},
			want: []string{`a.yaml:1: exposure.address: "10.0.0.300"; not a valid netip.Addr: ParseAddr("10.0.0.300"): IPv4 field has value >255`},
		},
		{
			name: "merge key must be a mapping",
			docs: []values.Doc{doc("a.yaml", "kafka: {<<: [1]}\n")},
			want: []string{`a.yaml:1: kafka: a merge key (<<) must refer to a mapping or a list of mappings`},
		},
		{
			name: "validation after decoding",
			docs: []values.Doc{doc("a.yaml", "kafka: {replicationFactor: 4}\n")},
			want: []string{`kafka.replicationFactor: 4; exceeds brokers 3`},
		},
		{
			name: "no validation when decoding failed",
			docs: []values.Doc{doc("a.yaml", "kafka: {replicationFactor: 4, brokers: x}\n")},
			want: []string{`a.yaml:1: kafka.brokers: "x"; expected an integer, got a string`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			fes := fieldErrors(t, values.Load(&cfg, tc.docs...))
			var got []string
			for _, e := range fes {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if tc.line != 0 && fes[0].Line != tc.line {
				t.Errorf("line: got %d, want %d", fes[0].Line, tc.line)
			}
			if diff := cmp.Diff(Defaults(), cfg, cmpOpts...); diff != "" {
				t.Errorf("Load changed the target despite errors:\n%s", diff)
			}
		})
	}
}

func TestLoadMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		docs []values.Doc
		edit func(*Config)
	}{
		{name: "no documents", edit: func(*Config) {}},
		{name: "empty document", docs: []values.Doc{doc("a.yaml", ""), doc("b.yaml", "# only a comment\n"), doc("c.yaml", "null\n")}, edit: func(*Config) {}},
		{
			name: "structs merge key by key",
			docs: []values.Doc{doc("a.yaml", "kafka: {brokers: 5}\n"), doc("b.yaml", "kafka: {replicationFactor: 3}\n")},
			edit: func(c *Config) { c.Kafka.Brokers, c.Kafka.ReplicationFactor = 5, 3 },
		},
		{
			name: "later documents win",
			docs: []values.Doc{doc("a.yaml", "namespace: a\n"), doc("b.yaml", "namespace: b\n")},
			edit: func(c *Config) { c.Namespace = "b" },
		},
		{
			name: "maps merge",
			docs: []values.Doc{doc("a.yaml", "images: {tags: {kafka: '4.1'}}\n"), doc("b.yaml", "images: {tags: {redis: '7.4'}}\n")},
			edit: func(c *Config) { c.Images.Tags = map[string]string{"kafka": "4.1", "redis": "7.4"} },
		},
		{
			name: "null deletes a map entry",
			docs: []values.Doc{doc("a.yaml", "images: {tags: {kafka: '4.1', redis: '7.4'}}\n"), doc("b.yaml", "images: {tags: {kafka: null}}\n")},
			edit: func(c *Config) { c.Images.Tags = map[string]string{"redis": "7.4"} },
		},
		{
			name: "lists replace",
			docs: []values.Doc{doc("a.yaml", "topology: {zones: [x]}\n")},
			edit: func(c *Config) { c.Topology.Zones = []string{"x"} },
		},
		{
			name: "list items start from zero",
			docs: []values.Doc{doc("a.yaml", "topology: {pools: [{name: other, arch: amd64, nodesPerZone: 2}]}\n")},
			edit: func(c *Config) { c.Topology.Pools = []Pool{{Name: "other", Arch: "amd64", NodesPerZone: 2}} },
		},
		{
			name: "null resets a pointer",
			docs: []values.Doc{doc("a.yaml", "kafka: {storage: null}\n")},
			edit: func(c *Config) { c.Kafka.Storage = nil },
		},
		{
			name: "a mapping allocates a nil pointer",
			docs: []values.Doc{doc("a.yaml", "kafka: {storage: null}\n"), doc("b.yaml", "kafka: {storage: {class: gp3}}\n")},
			edit: func(c *Config) { c.Kafka.Storage = &Storage{Class: "gp3"} },
		},
		{
			name: "a mapping merges into a set pointer",
			docs: []values.Doc{doc("a.yaml", "kafka: {storage: {class: gp3}}\n")},
			edit: func(c *Config) { c.Kafka.Storage.Class = "gp3" },
		},
		{
			name: "null resets scalars",
			docs: []values.Doc{doc("a.yaml", "namespace: null\nexposure: {requestScale: null}\n")},
			edit: func(c *Config) { c.Namespace, c.Exposure.RequestScale = "", 0 },
		},
		{
			name: "json",
			docs: []values.Doc{doc("a.json", "{\n\t\"kafka\": {\"retention\": \"2h\"},\n\t\"topology\": {\"zones\": [\"a\", \"b\"]}\n}\n")},
			edit: func(c *Config) { c.Kafka.Retention = 2 * time.Hour; c.Topology.Zones = []string{"a", "b"} },
		},
		{
			name: "anchors and merge keys",
			docs: []values.Doc{doc("a.yaml", `
base: &base {name: a, instanceType: m7g.xlarge, nodesPerZone: 1}
`), doc("b.yaml", `
topology:
  pools:
    - &p {name: a, instanceType: m7g.xlarge, cpu: 2, arch: arm64, nodesPerZone: 1}
    - {<<: *p, name: b}
`)},
		},
		{
			name: "quantities from numbers and strings",
			docs: []values.Doc{doc("a.yaml", "topology: {pools: [{name: a, arch: arm64, nodesPerZone: 1, cpu: 0.5, memory: 1e9}, {name: b, arch: arm64, nodesPerZone: 1, cpu: 500m, memory: 512Mi}]}\n")},
			edit: func(c *Config) {
				c.Topology.Pools = []Pool{
					{Name: "a", Arch: "arm64", NodesPerZone: 1, CPU: resource.MustParse("500m"), Memory: resource.MustParse("1G")},
					{Name: "b", Arch: "arm64", NodesPerZone: 1, CPU: resource.MustParse("500m"), Memory: resource.MustParse("512Mi")},
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			err := values.Load(&cfg, tc.docs...)
			if tc.edit == nil {
				// The anchors case: base is an unknown key, so check that
				// the error is the only one and the merge key worked in a
				// document without it.
				if err == nil || !strings.Contains(err.Error(), `unknown key "base"`) {
					t.Fatalf("got %v, want the unknown key base", err)
				}
				cfg = Defaults()
				if err := values.Load(&cfg, tc.docs[1]); err != nil {
					t.Fatal(err)
				}
				want := Defaults()
				two := resource.MustParse("2")
				want.Topology.Pools = []Pool{
					{Name: "a", InstanceType: "m7g.xlarge", CPU: two, Arch: "arm64", NodesPerZone: 1},
					{Name: "b", InstanceType: "m7g.xlarge", CPU: two, Arch: "arm64", NodesPerZone: 1},
				}
				if diff := cmp.Diff(want, cfg, cmpOpts...); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
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

func TestLoadDoesNotShareDefaults(t *testing.T) {
	// Decoding works on a copy: the defaults' maps and pointers are not
	// changed through a failed or a successful Load of another value.
	base := Defaults()
	cfg := base
	if err := values.Load(&cfg, doc("a.yaml", "topology: {zones: [x]}\nkafka: {storage: {class: gp3}}\n")); err != nil {
		t.Fatal(err)
	}
	if base.Kafka.Storage.Class != "" || base.Topology.Zones[0] != "eu-west-1a" {
		t.Errorf("Load changed values shared with the defaults: %+v", base)
	}
}

func TestLoadBudget(t *testing.T) {
	// A billion-laughs document: each level lists the previous one ten
	// times, so 8 levels of a nested list type expand to 10^8 strings.
	type deep struct {
		L [][][][][][][][]string `json:"l"`
	}
	var b strings.Builder
	b.WriteString("x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("l: *a7\n")
	var d deep
	err := values.Load(&d, doc("laughs.yaml", b.String()))
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("got %v, want the budget error", err)
	}
	cfg := Defaults()
	// A merge key that refers to itself.
	err = values.Load(&cfg, doc("loop.yaml", "kafka: &k {<<: *k}\n"))
	if err == nil {
		t.Errorf("a self-referring merge key: got no error")
	}
}

func TestLoadTarget(t *testing.T) {
	var cfg Config
	for _, into := range []any{nil, cfg, &[]int{}, (*Config)(nil)} {
		if err := values.Load(into); err == nil || !strings.Contains(err.Error(), "pointer to a struct") {
			t.Errorf("Load(%T): got %v, want an error about the target", into, err)
		}
	}
}

func TestModelErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"chan", &struct{ C chan int }{}, "type chan int is not supported"},
		{"int keys", &struct{ M map[int]string }{}, "keys must be strings"},
		{"interface", &struct{ A any }{}, "not supported"},
		{"enum on int", &struct {
			N int `enum:"1,2"`
		}{}, "only string fields"},
		{"min on string", &struct {
			S string `min:"1"`
		}{}, "only numbers, lists and maps"},
		{"bad min", &struct {
			N int `min:"one"`
		}{}, "not a number"},
		{"fractional min on int", &struct {
			N int `min:"0.5"`
		}{}, "must be an integer"},
		{"min above max", &struct {
			N int `min:"3" max:"2"`
		}{}, "min 3 exceeds max 2"},
		{"duplicate key", &struct {
			A string
			B string `json:"a"`
		}{}, `key "a" is used by both A and B`},
		{"list of pointers", &struct{ L []*Storage }{}, "list of pointers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for fn, f := range map[string]func() error{
				"Load":   func() error { return values.Load(tc.v) },
				"Render": func() error { _, err := values.Render(tc.v); return err },
				"Schema": func() error { _, err := values.Schema(tc.v, ""); return err },
			} {
				if err := f(); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: got %v, want an error containing %q", fn, err, tc.want)
				}
			}
		})
	}
}

func TestUntaggedAndEmbedded(t *testing.T) {
	type Inner struct {
		CPU      resource.Quantity
		URLPath  string
		Replicas int32
	}
	type Outer struct {
		Inner
		Name    string
		Skipped string `json:"-"`
		hidden  string
	}
	var o Outer
	err := values.Load(&o, doc("a.yaml", "cpu: 2\nurlPath: /x\nreplicas: 3\nname: n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o.CPU.String() != "2" || o.URLPath != "/x" || o.Replicas != 3 || o.Name != "n" || o.hidden != "" {
		t.Errorf("got %+v", o)
	}
	err = values.Load(&o, doc("a.yaml", "skipped: x\n"))
	if err == nil || !strings.Contains(err.Error(), "known keys: cpu, urlPath, replicas, name") {
		t.Errorf("got %v", err)
	}
}
