package preflight

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/plan"
	"github.com/iotstack/iotstack/stack"
)

// archLabel is the well-known node label of the CPU architecture.
const archLabel = "kubernetes.io/arch"

// slot is a pool's nodes in one zone.
type slot struct{ pool, zone string }

// free is what a node offers the stack: its allocatable less what the
// pods already bound to it (other than the stack's) request.
type free struct {
	plan.Amount
	Pods int64
}

// poolMatch reports whether a node carries every label of the pool.
func poolMatch(p stack.NodePool, n *corev1.Node) bool {
	for k, v := range p.Labels {
		if got, ok := n.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// untolerated returns the node's NoSchedule and NoExecute taints the
// pool's workloads do not tolerate (they tolerate exactly the pool's
// taints, stack.Topology).
func untolerated(p stack.NodePool, n *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectPreferNoSchedule || conditionTaint(t) {
			continue
		}
		ok := false
		for _, pt := range p.Taints {
			tol := corev1.Toleration{Key: pt.Key, Operator: corev1.TolerationOpEqual, Value: pt.Value, Effect: pt.Effect}
			ok = ok || tol.ToleratesTaint(&t)
		}
		if !ok {
			out = append(out, t)
		}
	}
	return out
}

// missingTaints returns the pool's taints the node does not carry.
func missingTaints(p stack.NodePool, n *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, pt := range p.Taints {
		found := false
		for _, t := range n.Spec.Taints {
			found = found || (t.Key == pt.Key && t.Value == pt.Value && t.Effect == pt.Effect)
		}
		if !found {
			out = append(out, pt)
		}
	}
	return out
}

// conditionTaint reports whether the node controller set the taint for a
// node condition (node.kubernetes.io/not-ready, unreachable,
// memory-pressure, ...: the well-known taints of k8s.io/api/core/v1):
// the node is unhealthy, not of another pool.
func conditionTaint(t corev1.Taint) bool {
	return strings.HasPrefix(t.Key, "node.kubernetes.io/")
}

// ready reports whether the node is Ready and carries no condition taint
// that keeps pods off it.
func ready(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if conditionTaint(t) && t.Effect != corev1.TaintEffectPreferNoSchedule {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func taintString(t corev1.Taint) string {
	if t.Value == "" {
		return fmt.Sprintf("%s:%s", t.Key, t.Effect)
	}
	return fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect)
}

func labelArgs(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

// CheckNodes matches the cluster's nodes to the topology's pools and
// zones (a node belongs to a pool when it carries all the pool's labels;
// with several zones, its zone is its topology.kubernetes.io/zone label)
// and checks, per node, the zone label, the taints (the pool's, and none
// its workloads do not tolerate), the architecture, readiness; per pool
// and zone, the node count and the free capacity against the plan: the
// requests of the pods the plan puts there, the largest of them on one
// node, the pod count. Free capacity is allocatable less the requests of
// pods already bound to the node outside the stack's namespaces (kube-
// system's DaemonSets, other stacks). pods are every pod of the cluster.
func CheckNodes(e *Expect, nodes []corev1.Node, pods []corev1.Pod) []Check {
	topo := e.Topology
	var checks []Check
	own := e.stackNamespaces()
	var others []corev1.Pod
	otherPods := map[string]int64{}
	for _, p := range pods {
		if own[p.Namespace] || p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		others = append(others, p)
		otherPods[p.Spec.NodeName]++
	}
	used := stack.NodeRequests(others)
	sorted := append([]corev1.Node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	usable := map[slot][]string{}
	offers := map[string]free{}
	inZone := map[string]bool{}
	for _, z := range topo.Zones {
		inZone[z] = true
	}
	for i, p := range topo.Pools {
		where := fmt.Sprintf("topology.pools[%d] (%s)", i, p.Name)
		for j := range sorted {
			n := &sorted[j]
			if !poolMatch(p, n) {
				continue
			}
			bad := untolerated(p, n)
			if len(p.Labels) == 0 && len(bad) > 0 {
				continue // not a node of the unlabelled pool (a control-plane node, another team's)
			}
			subject := fmt.Sprintf("node %s (pool %s)", n.Name, p.Name)
			fail := func(detail, fix string) {
				checks = append(checks, Check{Name: "nodes", Subject: subject, Status: Fail, Detail: detail, Fix: fix})
			}
			ok := true
			zone := topo.Zones[0]
			if topo.MultiZone() {
				z, has := n.Labels[stack.ZoneLabel]
				switch {
				case !has:
					fail("no "+stack.ZoneLabel+" label: the zone spreading cannot see it",
						fmt.Sprintf("kubectl label node %s %s=ZONE (one of %s; cloud nodes get it from the cloud provider)", n.Name, stack.ZoneLabel, strings.Join(topo.Zones, ", ")))
					ok = false
				case !inZone[z]:
					fail(fmt.Sprintf("zone %q is not one of topology.zones (%s)", z, strings.Join(topo.Zones, ", ")),
						fmt.Sprintf("set topology.zones to the cluster's zones, or label the node: kubectl label node %s %s=ZONE --overwrite", n.Name, stack.ZoneLabel))
					ok = false
				}
				zone = z
			}
			for _, t := range bad {
				fail(fmt.Sprintf("taint %s, which the pool's workloads do not tolerate", taintString(t)),
					fmt.Sprintf("kubectl taint node %s %s- (or add it to %s.taints)", n.Name, taintString(t), where))
				ok = false
			}
			for _, t := range missingTaints(p, n) {
				fail(fmt.Sprintf("lacks the pool's taint %s: other workloads may take its capacity", taintString(t)),
					fmt.Sprintf("kubectl taint node %s %s", n.Name, taintString(t)))
				ok = false
			}
			if arch := n.Labels[archLabel]; p.Arch != "" && arch != p.Arch {
				fail(fmt.Sprintf("architecture %q; the pool is %s (%s.arch)", arch, p.Arch, where),
					fmt.Sprintf("use %s instances for the pool, or set %s.arch=%s if the images run there", p.Arch, where, arch))
				ok = false
			}
			if !ok {
				continue
			}
			if !ready(n) || n.Spec.Unschedulable {
				checks = append(checks, Check{Name: "nodes", Subject: subject, Status: Warn,
					Detail: "not Ready, cordoned or tainted by a node condition: not counted", Fix: fmt.Sprintf("kubectl describe node %s; kubectl uncordon %s once it is healthy", n.Name, n.Name)})
				continue
			}
			s := slot{p.Name, zone}
			usable[s] = append(usable[s], n.Name)
			alloc := n.Status.Allocatable
			u := used[n.Name]
			offers[n.Name] = free{
				Amount: plan.Amount{CPUMilli: alloc.Cpu().MilliValue() - u.Cpu().MilliValue(), MemoryBytes: alloc.Memory().Value() - u.Memory().Value()},
				Pods:   alloc.Pods().Value() - otherPods[n.Name],
			}
		}
	}
	// Nodes in no pool, by zone: candidates for a missing pool label.
	spare := map[string][]string{}
	for j := range sorted {
		n := &sorted[j]
		in := false
		for _, p := range topo.Pools {
			in = in || (len(p.Labels) > 0 && poolMatch(p, n))
		}
		if !in {
			z := topo.Zones[0]
			if topo.MultiZone() {
				z = n.Labels[stack.ZoneLabel]
			}
			spare[z] = append(spare[z], n.Name)
		}
	}
	checks = append(checks, capacity(e, usable, offers, spare)...)
	return checks
}

// capacity compares, per pool and zone, the plan's requests with the free
// capacity of the usable nodes.
func capacity(e *Expect, usable map[slot][]string, offers map[string]free, spare map[string][]string) (checks []Check) {
	topo := e.Topology
	type need struct {
		sum     plan.Amount
		pods    int64
		largest plan.Amount
		biggest string
	}
	needs := map[slot]*need{}
	planSlot := map[string]slot{}
	for _, n := range e.Plan.Nodes {
		planSlot[n.Name] = slot{n.Pool, n.Zone}
		s := slot{n.Pool, n.Zone}
		if needs[s] == nil {
			needs[s] = &need{}
		}
		needs[s].sum = addAmount(needs[s].sum, n.Requests)
		needs[s].pods += int64(len(n.Pods))
	}
	for _, w := range e.Plan.Workloads {
		for _, p := range w.Pods {
			s, ok := planSlot[p.Node]
			if !ok {
				continue
			}
			nd := needs[s]
			if w.Requests.CPUMilli > nd.largest.CPUMilli || w.Requests.MemoryBytes > nd.largest.MemoryBytes {
				nd.largest = plan.Amount{CPUMilli: max(nd.largest.CPUMilli, w.Requests.CPUMilli), MemoryBytes: max(nd.largest.MemoryBytes, w.Requests.MemoryBytes)}
				nd.biggest = w.Kind + "/" + w.Name
			}
		}
	}
	left := map[slot]plan.Amount{} // free after the plan's pods, per pool and zone
	defer func() {
		checks = append(checks, transientRoom(e, left)...)
	}()
	for _, u := range e.Plan.Unplaced {
		checks = append(checks, Check{Name: "capacity", Subject: "pod " + u.Pod, Status: Fail,
			Detail: "the plan itself places it on no node of the topology: " + u.Reason, Fix: "run iotstack plan " + e.Profile + " and grow topology.pools or lower the requests"})
	}
	for i, p := range topo.Pools {
		for _, z := range topo.Zones {
			s := slot{p.Name, z}
			subject := "pool " + p.Name
			if topo.MultiZone() {
				subject += ", zone " + z
			}
			names := usable[s]
			where := fmt.Sprintf("topology.pools[%d] (%s)", i, p.Name)
			labels := ""
			if len(p.Labels) > 0 {
				labels = " labelled " + labelArgs(p.Labels)
			}
			if topo.MultiZone() {
				labels += " in zone " + z
			}
			if len(names) < p.NodesPerZone {
				fix := fmt.Sprintf("add %d node(s)%s (dist/%s/cluster/ holds the node group or join configuration)", p.NodesPerZone-len(names), labels, e.Profile)
				if len(names) > 0 {
					fix += fmt.Sprintf(", or set %s.nodesPerZone=%d", where, len(names))
				}
				if len(p.Labels) > 0 && len(spare[z]) > 0 {
					fix += fmt.Sprintf("; nodes of the zone in no pool: %s (kubectl label node NODE %s)", strings.Join(spare[z], ", "), labelArgs(p.Labels))
				}
				checks = append(checks, Check{Name: "nodes", Subject: subject, Status: Fail,
					Detail: fmt.Sprintf("%d usable node(s) (%s); the topology declares %d", len(names), joinOr(names, "none"), p.NodesPerZone), Fix: fix})
			} else {
				checks = append(checks, Check{Name: "nodes", Subject: subject, Status: Pass,
					Detail: fmt.Sprintf("%d node(s): %s", len(names), strings.Join(names, ", "))})
			}
			nd := needs[s]
			if nd == nil || nd.pods == 0 {
				continue
			}
			var have free
			var roomiest plan.Amount
			for _, n := range names {
				o := offers[n]
				have.CPUMilli += o.CPUMilli
				have.MemoryBytes += o.MemoryBytes
				have.Pods += o.Pods
				roomiest = plan.Amount{CPUMilli: max(roomiest.CPUMilli, o.CPUMilli), MemoryBytes: max(roomiest.MemoryBytes, o.MemoryBytes)}
			}
			grow := fmt.Sprintf("add nodes%s, use a larger instance type for %s, or lower the requests (requestScale, the components' resources); iotstack plan %s shows them", labels, where, e.Profile)
			c := Check{Name: "capacity", Subject: subject}
			switch {
			case !fits(nd.sum, have.Amount):
				c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("the plan requests cpu %s mem %s; the nodes have cpu %s mem %s free", nd.sum.CPU(), nd.sum.Memory(), have.CPU(), have.Memory()), grow
			case !fits(nd.largest, roomiest):
				c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("a pod of %s requests cpu %s mem %s; the roomiest node has cpu %s mem %s free", nd.biggest, nd.largest.CPU(), nd.largest.Memory(), roomiest.CPU(), roomiest.Memory()), grow
			case nd.pods > have.Pods:
				c.Status, c.Detail = Fail, fmt.Sprintf("the plan puts %d pods here; the nodes take %d more (allocatable pods)", nd.pods, have.Pods)
				c.Fix = fmt.Sprintf("raise the nodes' pod limit (EKS: values cluster.maxPodsPerNode) or add nodes%s", labels)
			default:
				c.Status, c.Detail = Pass, fmt.Sprintf("the plan requests cpu %s mem %s (%d pods) of cpu %s mem %s (%d pods) free", nd.sum.CPU(), nd.sum.Memory(), nd.pods, have.CPU(), have.Memory(), have.Pods)
				left[s] = plan.Amount{CPUMilli: have.CPUMilli - nd.sum.CPUMilli, MemoryBytes: have.MemoryBytes - nd.sum.MemoryBytes}
			}
			checks = append(checks, c)
		}
	}
	return checks
}

func addAmount(a, b plan.Amount) plan.Amount {
	return plan.Amount{CPUMilli: a.CPUMilli + b.CPUMilli, MemoryBytes: a.MemoryBytes + b.MemoryBytes}
}

func fits(a, b plan.Amount) bool { return a.CPUMilli <= b.CPUMilli && a.MemoryBytes <= b.MemoryBytes }

// transientRoom warns about a Job or CronJob whose pod fits in no pool
// and zone next to the plan's pods (left: what they leave free, where the
// capacity check passed): it runs only while part of the stack is not
// running (the first apply creates it early), so on a re-apply after a
// delete, or when a new Job comes with a running stack, it stays Pending.
func transientRoom(e *Expect, left map[slot]plan.Amount) []Check {
	var checks []Check
	for _, tr := range e.Transient {
		var most plan.Amount
		fitsSomewhere, anyPool := false, false
		for s, l := range left {
			if !slices.Contains(tr.Pools, s.pool) {
				continue
			}
			anyPool = true
			fitsSomewhere = fitsSomewhere || fits(tr.Requests, l)
			most = plan.Amount{CPUMilli: max(most.CPUMilli, l.CPUMilli), MemoryBytes: max(most.MemoryBytes, l.MemoryBytes)}
		}
		if !anyPool || fitsSomewhere {
			continue
		}
		checks = append(checks, Check{Name: "capacity", Subject: tr.Name, Status: Warn,
			Detail: fmt.Sprintf("requests cpu %s mem %s; next to the plan's pods its pools (%s) have at most cpu %s mem %s left: it runs only while part of the stack is down (the first apply), and stays Pending on a re-apply after a delete",
				tr.Requests.CPU(), tr.Requests.Memory(), strings.Join(tr.Pools, ", "), most.CPU(), most.Memory()),
			Fix: "leave room for it: add capacity to its pool, or lower the requests (requestScale, the components' resources)"})
	}
	return checks
}
