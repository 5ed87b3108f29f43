package sim

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/plan"
	"github.com/iotstack/iotstack/stack"
)

// planMismatches compares what the cluster runs with the plan of the same
// values (package plan), measured as nodeUsage measures it
// (stack.NodeRequests): per node, the requests of the pods of the plan's
// Forced workloads (any scheduler puts those where the plan does); per
// pool, the requests of every planned pod; and, when every workload is
// forced, the per-node lines nodeUsage prints. Pods of no planned workload
// (another stack's, the load test's) are left out. It returns one line per
// difference; none means the cluster matches the plan.
//
// Run it once every planned part is applied (the main stack and the
// monitoring: plan.Compute plans both), with the cluster's nodes and pods.
func planMismatches(pl *plan.Plan, nodes []corev1.Node, pods []corev1.Pod) []string {
	poolOf := map[string]string{}
	for _, n := range pl.Nodes {
		poolOf[n.Name] = n.Pool
	}
	split := func(pods []corev1.Pod) (forced, all []corev1.Pod) {
		for _, p := range pods {
			w, ok := pl.WorkloadOf(p.Namespace, p.Labels)
			if !ok {
				continue
			}
			all = append(all, p)
			if w.Forced {
				forced = append(forced, p)
			}
		}
		return forced, all
	}
	gotForced, gotAll := split(pods)
	wantForced, wantAll := split(pl.BoundPods())
	var out []string
	gf, wf := stack.NodeRequests(gotForced), stack.NodeRequests(wantForced)
	for _, n := range pl.Nodes {
		if g, w := amount(gf[n.Name]), amount(wf[n.Name]); g != w {
			out = append(out, fmt.Sprintf("node %s: the forced workloads' pods request %s, the plan %s", n.Name, g, w))
		}
	}
	perPool := func(used map[string]corev1.ResourceList) map[string]string {
		sum := map[string]corev1.ResourceList{}
		for node, l := range used {
			pool := poolOf[node]
			if sum[pool] == nil {
				sum[pool] = corev1.ResourceList{}
			}
			for r, q := range l {
				v := sum[pool][r]
				v.Add(q)
				sum[pool][r] = v
			}
		}
		s := map[string]string{}
		for pool, l := range sum {
			s[pool] = amount(l)
		}
		return s
	}
	gp, wp := perPool(stack.NodeRequests(gotAll)), perPool(stack.NodeRequests(wantAll))
	pools := map[string]bool{}
	for p := range gp {
		pools[p] = true
	}
	for p := range wp {
		pools[p] = true
	}
	var names []string
	for p := range pools {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if gp[p] != wp[p] {
			out = append(out, fmt.Sprintf("pool %s: the pods request %s, the plan %s", p, orZero(gp[p]), orZero(wp[p])))
		}
	}
	if pl.Forced() {
		got, _, _ := nodeUsage(nodes, gotAll)
		want := pl.UsageLines()
		for i := range max(len(got), len(want)) {
			g, w := "", ""
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				out = append(out, fmt.Sprintf("measured %q, planned %q", g, w))
			}
		}
	}
	return out
}

func amount(l corev1.ResourceList) string {
	cpu, mem := l[corev1.ResourceCPU], l[corev1.ResourceMemory]
	return fmt.Sprintf("cpu %s mem %s", resource.NewMilliQuantity(cpu.MilliValue(), resource.DecimalSI), resource.NewQuantity(mem.Value(), resource.BinarySI))
}

func orZero(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
