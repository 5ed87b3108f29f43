package plan

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/stack"
)

// scheduler places pods on the topology's hosts (see the package doc for
// the rules it follows).
type scheduler struct {
	hosts  []stack.Host
	labels map[string]map[string]string // host name -> node labels
	alloc  map[string]Amount
	used   map[string]Amount
	limits map[string]Amount
	down   map[string]bool // hosts of a lost zone
	placed []*podSpec      // in placement order
	byName map[string]*podSpec
}

func newScheduler(topo stack.Topology) *scheduler {
	s := &scheduler{labels: map[string]map[string]string{}, alloc: map[string]Amount{}, used: map[string]Amount{},
		limits: map[string]Amount{}, down: map[string]bool{}, byName: map[string]*podSpec{}}
	for _, h := range topo.Hosts() {
		s.hosts = append(s.hosts, h)
		s.labels[h.Name] = h.NodeLabels()
		s.alloc[h.Name] = Amount{h.Pool.CPU.MilliValue(), h.Pool.Memory.Value()}
	}
	return s
}

// clone copies the scheduler's state (for the zone-loss check).
func (s *scheduler) clone() *scheduler {
	c := &scheduler{hosts: s.hosts, labels: s.labels, alloc: s.alloc, used: map[string]Amount{}, limits: map[string]Amount{},
		down: map[string]bool{}, byName: map[string]*podSpec{}}
	for k, v := range s.used {
		c.used[k] = v
	}
	for k, v := range s.limits {
		c.limits[k] = v
	}
	for k, v := range s.down {
		c.down[k] = v
	}
	for _, p := range s.placed {
		cp := *p
		c.placed = append(c.placed, &cp)
		c.byName[p.w.Namespace+"/"+p.name] = &cp
	}
	return c
}

// place binds pod to the best feasible host, or returns the reason none
// is.
func (s *scheduler) place(pod *podSpec) (*stack.Host, string) {
	var best *stack.Host
	var bestScore [3]int64
	reasons := map[string]int{}
	for i := range s.hosts {
		h := &s.hosts[i]
		if why := s.feasible(pod, h); why != "" {
			reasons[why]++
			continue
		}
		sc := s.score(pod, h)
		if best == nil || better(sc, bestScore) {
			best, bestScore = h, sc
		}
	}
	if best == nil {
		return nil, summarize(reasons)
	}
	s.bind(pod, best)
	return best, ""
}

func (s *scheduler) bind(pod *podSpec, h *stack.Host) {
	pod.node = h
	s.used[h.Name] = s.used[h.Name].add(pod.req)
	s.limits[h.Name] = s.limits[h.Name].add(pod.lim)
	s.placed = append(s.placed, pod)
	s.byName[pod.w.Namespace+"/"+pod.name] = pod
}

// evict removes every pod of the hosts in zone and marks them down; it
// returns the evicted pods in placement order.
func (s *scheduler) evict(zone string) []*podSpec {
	var gone []*podSpec
	var kept []*podSpec
	for _, h := range s.hosts {
		if h.Zone == zone {
			s.down[h.Name] = true
		}
	}
	for _, p := range s.placed {
		if s.down[p.node.Name] {
			s.used[p.node.Name] = s.used[p.node.Name].sub(p.req)
			s.limits[p.node.Name] = s.limits[p.node.Name].sub(p.lim)
			p.node = nil
			gone = append(gone, p)
			continue
		}
		kept = append(kept, p)
	}
	s.placed = kept
	return gone
}

// better compares scores: fewer pods of the same workload on the node,
// then in its zone, then more free resources.
func better(a, b [3]int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

func summarize(reasons map[string]int) string {
	if len(reasons) == 0 {
		return "the topology has no node"
	}
	var parts []string
	for _, r := range sortedStrings(keys(reasons)) {
		parts = append(parts, fmt.Sprintf("%d node(s): %s", reasons[r], r))
	}
	return strings.Join(parts, "; ")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Reasons a node does not take a pod.
const (
	whyDown     = "lost"
	whyAdmit    = "node selector, affinity or taints exclude it"
	whyRoom     = "not enough free cpu or memory"
	whyOnePer   = "a pod its required anti-affinity excludes already runs there"
	whySpread   = "its zone spread (DoNotSchedule) would exceed maxSkew"
	whyDaemon   = "a DaemonSet pod of another node"
	whySpreadOn = "its topology spread (DoNotSchedule) would exceed maxSkew"
)

func (s *scheduler) feasible(pod *podSpec, h *stack.Host) string {
	switch {
	case s.down[h.Name]:
		return whyDown
	case pod.only != "" && pod.only != h.Name:
		return whyDaemon
	case !h.Admits(pod.spec):
		return whyAdmit
	}
	for _, t := range antiTerms(pod.spec) {
		dom, ok := s.labels[h.Name][t.TopologyKey]
		if !ok {
			continue
		}
		for _, q := range s.placed {
			if q.w.Namespace == pod.w.Namespace && s.labels[q.node.Name][t.TopologyKey] == dom && matches(t.LabelSelector, q.labels) {
				return whyOnePer
			}
		}
	}
	for _, c := range pod.spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			continue
		}
		dom, ok := s.labels[h.Name][c.TopologyKey]
		if !ok {
			return whySpreadOn
		}
		// Domains: the values of the key on every node that admits the pod
		// (nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore are the
		// defaults; a lost zone's nodes stay in the cluster, NotReady,
		// and keep counting as a domain).
		count := map[string]int{}
		for i := range s.hosts {
			if d, ok := s.labels[s.hosts[i].Name][c.TopologyKey]; ok && admitsIgnoringTaints(&s.hosts[i], pod.spec) {
				count[d] += 0
			}
		}
		for _, q := range s.placed {
			if q.w.Namespace == pod.w.Namespace && matches(c.LabelSelector, q.labels) {
				if d, ok := s.labels[q.node.Name][c.TopologyKey]; ok {
					if _, known := count[d]; known {
						count[d]++
					}
				}
			}
		}
		lo := -1
		for _, n := range count {
			if lo < 0 || n < lo {
				lo = n
			}
		}
		if lo < 0 {
			lo = 0
		}
		if count[dom]+1-lo > int(c.MaxSkew) {
			if c.TopologyKey == stack.ZoneLabel {
				return whySpread
			}
			return whySpreadOn
		}
	}
	// Room last: a node reported for room passed every rule of the pod.
	if !s.used[h.Name].add(pod.req).fits(s.alloc[h.Name]) {
		return whyRoom
	}
	return ""
}

// admitsIgnoringTaints is Admits without the taints (the spread's
// default nodeTaintsPolicy: Ignore).
func admitsIgnoringTaints(h *stack.Host, spec *corev1.PodSpec) bool {
	if len(h.Pool.Taints) == 0 {
		return h.Admits(spec)
	}
	hh := *h
	hh.Pool.Taints = nil
	return hh.Admits(spec)
}

// score ranks a feasible host: fewer pods of the same workload on the
// node (negated), fewer in its zone (negated), then LeastAllocated plus
// BalancedAllocation after placement, in thousandths.
func (s *scheduler) score(pod *podSpec, h *stack.Host) [3]int64 {
	var onNode, inZone int64
	for _, q := range s.placed {
		if q.w == pod.w {
			if q.node.Name == h.Name {
				onNode++
			}
			if q.node.Zone == h.Zone {
				inZone++
			}
		}
	}
	a := s.alloc[h.Name]
	u := s.used[h.Name].add(pod.req)
	frac := func(used, alloc int64) float64 {
		if alloc <= 0 {
			return 1
		}
		return float64(used) / float64(alloc)
	}
	fc, fm := frac(u.CPUMilli, a.CPUMilli), frac(u.MemoryBytes, a.MemoryBytes)
	least := ((1 - fc) + (1 - fm)) / 2
	diff := fc - fm
	if diff < 0 {
		diff = -diff
	}
	balanced := 1 - diff/2
	return [3]int64{-onNode, -inZone, int64((least + balanced) * 1e6)}
}

// report returns the nodes with their totals, in topology order.
func (s *scheduler) report() []Node {
	var nodes []Node
	for _, h := range s.hosts {
		n := Node{Name: h.Name, Zone: h.Zone, Pool: h.Pool.Name, InstanceType: h.Pool.InstanceType,
			Allocatable: s.alloc[h.Name], Requests: s.used[h.Name], Limits: s.limits[h.Name], Pods: []string{}}
		for _, p := range s.placed {
			if p.node.Name == h.Name {
				n.Pods = append(n.Pods, p.name)
			}
		}
		nodes = append(nodes, n)
	}
	return nodes
}
