package stack

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ZoneLabel is the well-known node label that names a node's zone.
const ZoneLabel = "topology.kubernetes.io/zone"

// HostnameLabel is the well-known node label that names a node.
const HostnameLabel = "kubernetes.io/hostname"

// Topology is the shape of the cluster a profile targets: its zones and
// node pools. A profile declares it once; components ask it for placement
// instead of hard-coding node labels.
type Topology struct {
	// Zones are the values of ZoneLabel on the cluster's nodes, in order.
	// One zone is allowed (a single-node or single-zone cluster); two or
	// more unique zones enable zone spreading.
	Zones []string
	// Pools are the node pools; every pool has nodes in every zone.
	Pools []NodePool
}

// NodePool is a group of identical nodes, present in every zone of the
// Topology.
type NodePool struct {
	// Name identifies the pool (e.g. "thingsboard"); DNS-1123 label.
	Name string
	// InstanceType is the cloud instance type (e.g. "r7g.xlarge"); free text.
	InstanceType string
	// Arch is the CPU architecture as in kubernetes.io/arch ("amd64", "arm64").
	Arch string
	// CPU is the vCPU count of one node, as a quantity ("4").
	CPU resource.Quantity
	// Memory is the memory of one node ("32Gi").
	Memory resource.Quantity
	// NodesPerZone is the number of nodes of this pool in each zone (≥ 1).
	NodesPerZone int
	// Labels are the node labels that identify the pool; workloads placed
	// on the pool get a required node affinity on all of them. At least one
	// label is required when the topology has more than one pool.
	Labels map[string]string
	// Taints are the pool's node taints; workloads placed on the pool
	// tolerate exactly these.
	Taints []corev1.Taint
}

// Validate checks the topology and returns an error naming the field, the
// value and what is allowed.
func (t Topology) Validate() error {
	if len(t.Zones) == 0 {
		return fmt.Errorf("topology: zones: at least one zone is required")
	}
	seen := map[string]bool{}
	for i, z := range t.Zones {
		if errs := validation.IsValidLabelValue(z); len(errs) > 0 || z == "" {
			return fmt.Errorf("topology: zones[%d]: %q is not a valid label value (%s)", i, z, joinOr(errs, "must not be empty"))
		}
		if seen[z] {
			return fmt.Errorf("topology: zones[%d]: %q is listed twice; zones must be unique", i, z)
		}
		seen[z] = true
	}
	if len(t.Pools) == 0 {
		return fmt.Errorf("topology: pools: at least one node pool is required")
	}
	pools := map[string]bool{}
	for i, p := range t.Pools {
		f := fmt.Sprintf("topology: pools[%d]", i)
		if errs := validation.IsDNS1123Label(p.Name); len(errs) > 0 {
			return fmt.Errorf("%s.name: %q is not a DNS-1123 label (%s)", f, p.Name, joinOr(errs, ""))
		}
		if pools[p.Name] {
			return fmt.Errorf("%s.name: %q is used by two pools; pool names must be unique", f, p.Name)
		}
		pools[p.Name] = true
		if p.CPU.Sign() <= 0 {
			return fmt.Errorf("%s (%s).cpu: %s; must be a positive quantity such as \"4\"", f, p.Name, p.CPU.String())
		}
		if p.Memory.Sign() <= 0 {
			return fmt.Errorf("%s (%s).memory: %s; must be a positive quantity such as \"32Gi\"", f, p.Name, p.Memory.String())
		}
		if p.NodesPerZone < 1 {
			return fmt.Errorf("%s (%s).nodesPerZone: %d; must be at least 1", f, p.Name, p.NodesPerZone)
		}
		if p.Arch != "" && p.Arch != "amd64" && p.Arch != "arm64" {
			return fmt.Errorf("%s (%s).arch: %q; allowed: amd64, arm64 or empty", f, p.Name, p.Arch)
		}
		if len(t.Pools) > 1 && len(p.Labels) == 0 {
			return fmt.Errorf("%s (%s).labels: empty; with %d pools every pool needs a label that selects its nodes", f, p.Name, len(t.Pools))
		}
		for _, k := range sortedKeys(p.Labels) {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				return fmt.Errorf("%s (%s).labels: key %q is not a qualified name (%s)", f, p.Name, k, joinOr(errs, ""))
			}
			if errs := validation.IsValidLabelValue(p.Labels[k]); len(errs) > 0 {
				return fmt.Errorf("%s (%s).labels[%s]: %q is not a valid label value (%s)", f, p.Name, k, p.Labels[k], joinOr(errs, ""))
			}
		}
		for j, taint := range p.Taints {
			switch taint.Effect {
			case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
			default:
				return fmt.Errorf("%s (%s).taints[%d].effect: %q; allowed: NoSchedule, PreferNoSchedule, NoExecute", f, p.Name, j, taint.Effect)
			}
			if errs := validation.IsQualifiedName(taint.Key); len(errs) > 0 {
				return fmt.Errorf("%s (%s).taints[%d].key: %q is not a qualified name (%s)", f, p.Name, j, taint.Key, joinOr(errs, ""))
			}
		}
	}
	// Two pools with identical labels could not be told apart by affinity.
	for i := range t.Pools {
		for j := i + 1; j < len(t.Pools); j++ {
			if labelsEqual(t.Pools[i].Labels, t.Pools[j].Labels) {
				return fmt.Errorf("topology: pools %q and %q have the same labels %v; affinity could not tell them apart", t.Pools[i].Name, t.Pools[j].Name, t.Pools[i].Labels)
			}
		}
	}
	return nil
}

// Pool returns the node pool with the given name.
func (t Topology) Pool(name string) (NodePool, error) {
	for _, p := range t.Pools {
		if p.Name == name {
			return p, nil
		}
	}
	return NodePool{}, fmt.Errorf("topology: no node pool %q (pools: %v)", name, t.PoolNames())
}

// PoolNames lists the pools in declaration order.
func (t Topology) PoolNames() []string {
	names := make([]string, len(t.Pools))
	for i, p := range t.Pools {
		names[i] = p.Name
	}
	return names
}

// Nodes returns the number of nodes of the pool in the whole cluster.
func (p NodePool) Nodes(t Topology) int { return p.NodesPerZone * len(t.Zones) }

// MultiZone reports whether the topology has more than one zone, the
// condition for zone spreading.
func (t Topology) MultiZone() bool { return len(t.Zones) > 1 }

func labelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinOr(errs []string, fallback string) string {
	if len(errs) == 0 {
		return fallback
	}
	s := errs[0]
	for _, e := range errs[1:] {
		s += "; " + e
	}
	return s
}

// Host is one node of a topology.
type Host struct {
	// Name is <pool>-<zone>-<index>.
	Name  string
	Zone  string
	Index int
	Pool  NodePool
}

// Labels are the labels that place workloads on the host: its zone
// (ZoneLabel) and its pool's labels. The kind configuration, the kubeadm
// join configurations and the simulated cluster's nodes carry them; cloud
// node groups get the pool's labels (the cloud sets the zone). A new map.
func (h Host) Labels() map[string]string {
	labels := map[string]string{ZoneLabel: h.Zone}
	for k, v := range h.Pool.Labels {
		labels[k] = v
	}
	return labels
}

// Hosts expands the topology into its nodes, pool by pool, zone by zone:
// the names the placement check, the simulated cluster and kind use.
func (t Topology) Hosts() []Host {
	var hosts []Host
	for _, p := range t.Pools {
		for _, z := range t.Zones {
			for i := 0; i < p.NodesPerZone; i++ {
				hosts = append(hosts, Host{Name: fmt.Sprintf("%s-%s-%d", p.Name, z, i), Zone: z, Index: i, Pool: p})
			}
		}
	}
	return hosts
}
