package stack

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestNewRejectsBadOptions(t *testing.T) {
	good := Options{Name: "demo", Topology: testTopology()}
	cases := []struct {
		name string
		mod  func(o *Options)
		want string
	}{
		{"empty name", func(o *Options) { o.Name = "" }, `stack: name: "" is not a DNS-1123 label`},
		{"upper-case name", func(o *Options) { o.Name = "Demo" }, `stack: name: "Demo" is not a DNS-1123 label`},
		{"bad namespace", func(o *Options) { o.Namespace = "my_ns" }, `stack demo: namespace: "my_ns" is not a DNS-1123 label`},
		{"kube-system", func(o *Options) { o.Namespace = "kube-system" }, `stack demo: namespace: "kube-system" is reserved by Kubernetes`},
		{"kube-public", func(o *Options) { o.Namespace = "kube-public" }, `stack demo: namespace: "kube-public" is reserved by Kubernetes`},
		{"kube-node-lease", func(o *Options) { o.Namespace = "kube-node-lease" }, `stack demo: namespace: "kube-node-lease" is reserved by Kubernetes`},
		{"default", func(o *Options) { o.Namespace = "default" }, `stack demo: namespace: "default" is reserved by Kubernetes`},
		{"name default as namespace", func(o *Options) { o.Name = "default" }, `stack default: namespace: "default" is reserved by Kubernetes`},
		{"kube- prefix", func(o *Options) { o.Namespace = "kube-flannel" }, `stack demo: namespace: "kube-flannel": the prefix kube- is reserved`},
		{"bad partOf", func(o *Options) { o.PartOf = "thingsboard cluster" }, `stack demo: partOf: "thingsboard cluster" is not a valid label value`},
		{"bad pod security", func(o *Options) { o.PodSecurity = "strict" }, `stack demo: podSecurity: "strict"; allowed: restricted, baseline, privileged`},
		{"bad cluster domain", func(o *Options) { o.ClusterDomain = "Cluster_Local" }, `clusterDomain: "Cluster_Local" is not a DNS name`},
		{"no zones", func(o *Options) { o.Topology.Zones = nil }, "topology: zones: at least one zone is required"},
		{"duplicate zone", func(o *Options) { o.Topology.Zones = []string{"a", "a"} }, `topology: zones[1]: "a" is listed twice`},
		{"bad zone", func(o *Options) { o.Topology.Zones = []string{"eu west"} }, `topology: zones[0]: "eu west" is not a valid label value`},
		{"no pools", func(o *Options) { o.Topology.Pools = nil }, "topology: pools: at least one node pool is required"},
		{"pool without cpu", func(o *Options) { o.Topology.Pools[0].CPU = resource.Quantity{} }, `topology: pools[0] (main).cpu: 0; must be a positive quantity`},
		{"pool without memory", func(o *Options) { o.Topology.Pools[0].Memory = resource.MustParse("-1Gi") }, `topology: pools[0] (main).memory: -1Gi; must be a positive quantity`},
		{"pool without nodes", func(o *Options) { o.Topology.Pools[0].NodesPerZone = 0 }, `topology: pools[0] (main).nodesPerZone: 0; must be at least 1`},
		{"pool bad arch", func(o *Options) { o.Topology.Pools[0].Arch = "arm" }, `topology: pools[0] (main).arch: "arm"; allowed: amd64, arm64 or empty`},
		{"pool bad name", func(o *Options) { o.Topology.Pools[0].Name = "Main" }, `topology: pools[0].name: "Main" is not a DNS-1123 label`},
		{"pool bad label", func(o *Options) { o.Topology.Pools[0].Labels = map[string]string{"role": "main pool"} }, `topology: pools[0] (main).labels[role]: "main pool" is not a valid label value`},
		{"pool bad taint", func(o *Options) {
			o.Topology.Pools[0].Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: "Never"}}
		}, `topology: pools[0] (main).taints[0].effect: "Never"; allowed: NoSchedule, PreferNoSchedule, NoExecute`},
		{"two pools, one unlabelled", func(o *Options) {
			p := o.Topology.Pools[0]
			p.Name, p.Labels = "client", nil
			o.Topology.Pools = append(o.Topology.Pools, p)
		}, `topology: pools[1] (client).labels: empty; with 2 pools every pool needs a label`},
		{"two pools, same labels", func(o *Options) {
			p := o.Topology.Pools[0]
			p.Name = "client"
			o.Topology.Pools = append(o.Topology.Pools, p)
		}, `topology: pools "main" and "client" have the same labels`},
		{"duplicate pool", func(o *Options) {
			o.Topology.Pools = append(o.Topology.Pools, o.Topology.Pools[0])
		}, `topology: pools[1].name: "main" is used by two pools`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			o.Topology = testTopology()
			tc.mod(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Fatalf("good options rejected: %v", err)
	}
}

func TestAddComponentRejects(t *testing.T) {
	s := newTestStack(t)
	if _, err := s.AddComponent("Kafka", Meta{}); err == nil || !strings.Contains(err.Error(), `component name "Kafka" is not a DNS-1123 label`) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := s.AddComponent("namespace", Meta{}); err == nil || !strings.Contains(err.Error(), `component "namespace" is added twice`) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := s.AddComponent("kafka", Meta{Version: "4.1.0 final"}); err == nil || !strings.Contains(err.Error(), `meta.version: "4.1.0 final" is not a valid label value`) {
		t.Errorf("bad version: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	s := newTestStack(t)
	o := s.Options()
	if o.Namespace != "demo" || o.ClusterDomain != "cluster.local" || o.PodSecurity != PodSecurityRestricted {
		t.Fatalf("defaults not filled: %+v", o)
	}
	if got := s.PodHost("kafka-0", "kafka-headless"); got != "kafka-0.kafka-headless.demo.svc.cluster.local" {
		t.Errorf("PodHost = %s", got)
	}
	c, _ := s.AddComponent("kafka", Meta{Role: "broker", Version: "4.1.0"})
	if got := c.SelectorLabels(); len(got) != 3 || got[LabelComponent] != "broker" || got[LabelName] != "kafka" || got[LabelInstance] != "demo" {
		t.Errorf("SelectorLabels = %v", got)
	}
	if got := c.Labels(); got[LabelVersion] != "4.1.0" || got[LabelManagedBy] != ManagedBy || got[LabelPartOf] != "iotstack-test" {
		t.Errorf("Labels = %v", got)
	}
}

func TestPlace(t *testing.T) {
	topo := testTopology()
	topo.Pools = append(topo.Pools, NodePool{Name: "db", CPU: resource.MustParse("8"), Memory: resource.MustParse("64Gi"), NodesPerZone: 1,
		Labels: map[string]string{"role": "db"}, Taints: []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}, {Key: "spot", Effect: corev1.TaintEffectNoExecute}}})
	sel := map[string]string{LabelName: "x"}
	var spec corev1.PodSpec
	if err := topo.Place(&spec, sel, Placement{Pool: "db", SpreadZones: true, OnePerHost: true}); err != nil {
		t.Fatal(err)
	}
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || terms[0].MatchExpressions[0].Key != "role" || terms[0].MatchExpressions[0].Values[0] != "db" {
		t.Errorf("node affinity %+v", terms)
	}
	if len(spec.Tolerations) != 2 || spec.Tolerations[0].Operator != corev1.TolerationOpEqual || spec.Tolerations[1].Operator != corev1.TolerationOpExists {
		t.Errorf("tolerations %+v", spec.Tolerations)
	}
	tsc := spec.TopologySpreadConstraints
	if len(tsc) != 1 || tsc[0].MaxSkew != 1 || tsc[0].WhenUnsatisfiable != corev1.DoNotSchedule || tsc[0].TopologyKey != ZoneLabel || *tsc[0].MinDomains != 3 {
		t.Errorf("spread %+v", tsc)
	}
	anti := spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if len(anti) != 1 || anti[0].TopologyKey != HostnameLabel || anti[0].LabelSelector.MatchLabels[LabelName] != "x" {
		t.Errorf("anti-affinity %+v", anti)
	}
	sel[LabelName] = "changed"
	if anti[0].LabelSelector.MatchLabels[LabelName] != "x" {
		t.Errorf("placement aliases the caller's selector map")
	}
	if err := topo.Place(&spec, sel, Placement{Pool: "gpu"}); err == nil || !strings.Contains(err.Error(), `no node pool "gpu" (pools: [main db])`) {
		t.Errorf("unknown pool: %v", err)
	}
	one := Topology{Zones: []string{"local"}, Pools: []NodePool{{Name: "all", CPU: resource.MustParse("4"), Memory: resource.MustParse("6Gi"), NodesPerZone: 1}}}
	var single corev1.PodSpec
	if err := one.Place(&single, sel, Placement{Pool: "all", SpreadZones: true}); err != nil {
		t.Fatal(err)
	}
	if single.Affinity != nil || len(single.TopologySpreadConstraints) != 0 {
		t.Errorf("single-zone, unlabelled pool got placement %+v %+v", single.Affinity, single.TopologySpreadConstraints)
	}
}

func TestResources(t *testing.T) {
	r := MustLimits("3", "2Gi")
	if r.CPURequest.String() != "300m" || r.MemoryRequest.String() != "2Gi" {
		t.Errorf("FromLimits(3, 2Gi) = %s / %s; want 300m / 2Gi", r.CPURequest.String(), r.MemoryRequest.String())
	}
	if q := MustLimits("0.5", "512Mi").CPURequest; q.String() != "50m" {
		got := q.String()
		t.Errorf("cpu request of 0.5 = %s; want 50m", got)
	}
	if got := r.HeapMiB(50); got != 1024 {
		t.Errorf("HeapMiB(50) = %d", got)
	}
	if err := r.Validate("kafka.resources"); err != nil {
		t.Error(err)
	}
	bad := r
	bad.CPURequest = resource.MustParse("4")
	if err := bad.Validate("kafka.resources"); err == nil || err.Error() != "kafka.resources.cpuRequest: 4 exceeds cpuLimit 3; a request must not exceed its limit" {
		t.Errorf("got %v", err)
	}
	bad = r
	bad.MemoryLimit = resource.Quantity{}
	if err := bad.Validate("zk.resources"); err == nil || !strings.Contains(err.Error(), "zk.resources.memoryLimit: 0; must be a positive quantity") {
		t.Errorf("got %v", err)
	}
	if !(Resources{}).IsZero() || r.IsZero() {
		t.Error("IsZero")
	}
	// No overflow: a limit of 1e20 bytes is refused by name, and the heap
	// share of what Validate refuses never wraps around.
	huge := FromLimits(resource.MustParse("3"), resource.MustParse("1e20"))
	if err := huge.Validate("kafka.resources"); err == nil || err.Error() != "kafka.resources.memoryRequest: 100e18; allowed at most 64Ti (larger than any node; the node pool's size bounds it further at synthesis)" {
		t.Errorf("1e20 memory: got %v", err)
	}
	if got := huge.HeapMiB(50); got != 32<<20 {
		t.Errorf("HeapMiB(50) of 1e20 = %d; want the MaxMemory share %d", got, 32<<20)
	}
	huge = FromLimits(resource.MustParse("1e6"), resource.MustParse("1Gi"))
	if err := huge.Validate("tb.resources"); err == nil || !strings.Contains(err.Error(), "tb.resources.cpuRequest: 100k; allowed at most 1024") {
		t.Errorf("1e6 cpu: got %v", err)
	}
	for _, q := range []string{"9e18", "100000Ei"} {
		r := FromLimits(resource.MustParse("1"), resource.MustParse(q))
		if got := r.HeapMiB(75); got <= 0 || got > 64<<20 {
			t.Errorf("HeapMiB(75) of %s = %d", q, got)
		}
	}
	if _, err := MiB("postgres.tuning.workMem", resource.MustParse("1e20")); err == nil || !strings.Contains(err.Error(), "postgres.tuning.workMem: 100e18; allowed 0 to 64Ti") {
		t.Errorf("MiB: %v", err)
	}
}
