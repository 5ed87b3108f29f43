package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func TestNames(t *testing.T) {
	if d := cmp.Diff([]string{"100k", "minimal-3az", "small"}, Names()); d != "" {
		t.Fatalf("Names (-want +got):\n%s", d)
	}
	for _, n := range Names() {
		p, err := Get(n)
		if err != nil || p.Name != n || p.Description == "" || p.Source == "" {
			t.Errorf("Get(%q) = %+v, %v; every profile needs a description and a source", n, p, err)
		}
	}
}

func TestResolve(t *testing.T) {
	cases := []struct {
		arg  string
		want []string
		err  string
	}{
		{"profile=100k", []string{"100k"}, ""},
		{"100k", []string{"100k"}, ""},
		{" minimal-3az ", []string{"minimal-3az"}, ""},
		{"all", []string{"100k", "minimal-3az", "small"}, ""},
		{"profile=all", []string{"100k", "minimal-3az", "small"}, ""},
		{"profile=large", nil, `unknown profile "large"; known profiles: 100k, minimal-3az, small (or all)`},
		{"large", nil, `unknown profile "large"; known profiles: 100k, minimal-3az, small (or all)`},
		{"", nil, "no profile given; use profile=NAME with one of: 100k, minimal-3az, small (or all)"},
		{"profile=", nil, "no profile given"},
		{"profil=100k", nil, `unknown argument "profil": the only key is profile (profile=NAME)`},
	}
	for _, tc := range cases {
		got, err := Resolve(tc.arg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Resolve(%q) error = %v; want %q", tc.arg, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.arg, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tc.arg, d)
		}
	}
}

func TestOptions(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	s, err := p.Build(Options{Namespace: "tb-prod"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Namespace() != "tb-prod" {
		t.Errorf("namespace = %s", s.Namespace())
	}
	if _, err := p.Build(Options{Namespace: "TB_Prod"}); err == nil || !strings.Contains(err.Error(), `profile minimal-3az: options: Namespace: "TB_Prod" is not a DNS-1123 label`) {
		t.Errorf("bad namespace: %v", err)
	}
}

func TestTopologies(t *testing.T) {
	topo := Minimal3AZTopology()
	if len(topo.Zones) != 3 || topo.Pools[0].CPU.String() != "4" || topo.Pools[0].Memory.String() != "32Gi" || topo.Pools[0].InstanceType != "r7g.xlarge" {
		t.Errorf("minimal-3az topology %+v differs from the ThingsBoard article: 3 zones x r7g.xlarge (4 vCPU, 32 GiB)", topo)
	}
	h := HundredTopology()
	if len(h.Pools) != 5 || h.Pools[0].Name != "vernemq" || h.Pools[0].Nodes(h) != 3 {
		t.Errorf("100k topology %+v differs from the guide: vernemq x3, dojot, kafka, x509, and the load test's client pool", h)
	}
	// The published load test's generators: five 9-CPU / 14 GB machines,
	// tainted for the load test alone.
	if c := h.Pools[4]; c.Name != LoadTestClientPool || c.Nodes(h) != 5 || c.CPU.String() != "9" || c.Memory.String() != "14Gi" ||
		len(c.Taints) != 1 || c.Taints[0].Effect != "NoSchedule" {
		t.Errorf("100k client pool %+v; want 5 x 9 CPU / 14Gi, tainted NoSchedule", c)
	}
	for _, p := range h.Pools {
		if p.Labels[DojotGroupLabel] != p.Name {
			t.Errorf("100k pool %s: label %s=%q; want the group name", p.Name, DojotGroupLabel, p.Labels[DojotGroupLabel])
		}
	}
}

// TestWriteDistAllOrNothing: an unknown profile among good ones writes
// nothing at all.
func TestWriteDistAllOrNothing(t *testing.T) {
	root := t.TempDir()
	if _, err := WriteDist(root, "small", "nope"); err == nil {
		t.Fatal("unknown profile accepted")
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("something was written: %v", entries)
	}
	if _, err := WriteDist(root, Names()...); err != nil {
		t.Fatal(err)
	}
	for _, n := range Names() {
		if _, err := os.Stat(filepath.Join(root, n, "kustomization.yaml")); err != nil {
			t.Error(err)
		}
	}
}

// TestSchedulable places every replica of every profile on the profile's
// own topology with the rules the scheduler enforces (affinity, spreading,
// anti-affinity, requests): nothing stays Pending on the documented nodes,
// and no two replicas of a workload with host anti-affinity share a node.
func TestSchedulable(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p, _ := Get(name)
			b, err := p.BuildAll(Options{})
			if err != nil {
				t.Fatal(err)
			}
			stacks := []*stack.Stack{b.Stack}
			for _, part := range b.Parts {
				stacks = append(stacks, part.Stack)
			}
			for _, s := range stacks {
				out, err := s.Synth()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := stacktest.Schedule(s.Topology(), out); err != nil {
					t.Fatalf("%s: %v", s.Name(), err)
				}
			}
		})
	}
}

// TestMinimal3AZQuorumsOnePerZone: each quorum member of the data tier in
// its own zone, and the Redis nodes two per zone.
func TestMinimal3AZQuorumsOnePerZone(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	s, _ := p.Build(Options{})
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	pods, err := stacktest.Schedule(s.Topology(), out)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"zookeeper", "kafka", "postgres"} {
		zones := map[string]bool{}
		for _, p := range pods[w] {
			zones[p.Zone] = true
		}
		if len(pods[w]) != 3 || len(zones) != 3 {
			t.Errorf("%s: %d pods in %d zones; want 3 in 3", w, len(pods[w]), len(zones))
		}
	}
	cassandraZones := map[string]bool{}
	for _, w := range []string{"cassandra-a", "cassandra-b", "cassandra-c"} {
		for _, p := range pods[w] {
			cassandraZones[p.Zone] = true
		}
	}
	if len(cassandraZones) != 3 {
		t.Errorf("Cassandra nodes in %d zones; want 3", len(cassandraZones))
	}
	perZone := map[string]int{}
	for _, w := range []string{"redis-a", "redis-b", "redis-c"} {
		for _, p := range pods[w] {
			perZone[p.Zone]++
		}
	}
	for _, z := range s.Topology().Zones {
		if perZone[z] != 2 {
			t.Errorf("zone %s holds %d Redis nodes; want 2", z, perZone[z])
		}
	}
}
