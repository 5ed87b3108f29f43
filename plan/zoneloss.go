package plan

import (
	"fmt"
	"math"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/iotstack/iotstack/stack"
)

// AddCPUsAt is the ThingsBoard article's rule for growing a three-zone
// cluster ("Considerations"): "When your nodes have an average load of
// 50%, it is time to add more CPUs."
const AddCPUsAt = 0.5

// ZoneCheck is the zone-loss check: for each zone, what happens to the
// stack when all its nodes are lost.
type ZoneCheck struct {
	// OK is true when every zone's loss keeps every workload running and
	// every PodDisruptionBudget's minimum (Losses[].OK).
	OK bool `json:"ok"`
	// MaxAverageCPU is the highest average CPU load (a fraction of the
	// cluster's allocatable) whose work the surviving nodes can still
	// carry after the worst zone loss: their share of the allocatable CPU,
	// (zones-1)/zones with equal zones (the ThingsBoard article's 2/3 on
	// three zones).
	MaxAverageCPU float64 `json:"maxAverageCpu"`
	// AddCPUsAt is the article's signal to add CPUs, 0.5 (AddCPUsAt).
	AddCPUsAt float64 `json:"addCpusAt"`
	// Losses are one entry per zone, in zone order.
	Losses []ZoneLoss `json:"losses"`
}

// ZoneLoss is the loss of one zone.
type ZoneLoss struct {
	// Zone is the lost zone.
	Zone string `json:"zone"`
	// OK is true when no pod is left without room, no workload is left
	// without a running pod and every PodDisruptionBudget's minimum holds.
	OK bool `json:"ok"`
	// MaxAverageCPU is the surviving nodes' share of the allocatable CPU.
	MaxAverageCPU float64 `json:"maxAverageCpu"`
	// Rescheduled are the lost zone's pods that find a surviving node
	// ("pod -> node").
	Rescheduled []string `json:"rescheduled"`
	// Blocked are the pods their own placement rules keep pending (one
	// per host, zone spread: by design, the workload runs with fewer
	// replicas until the zone is back), with the reason.
	Blocked []string `json:"blocked"`
	// NoRoom are the pods that could run but for which the survivors lack
	// CPU or memory: a failure.
	NoRoom []string `json:"noRoom"`
	// Down are the components left without a running pod: a failure.
	Down []string `json:"down"`
	// Budgets are the PodDisruptionBudgets whose minimum is not kept
	// ("name: 1 of 3 pods, needs 2"): a failure.
	Budgets []string `json:"budgets"`
	// Headroom is the surviving nodes' allocatable minus their requests
	// after the rescheduling.
	Headroom Amount `json:"headroom"`
	// Survivors is the surviving nodes' allocatable.
	Survivors Amount `json:"survivors"`
}

// zoneLoss loses each zone in turn on a copy of the placement.
func zoneLoss(topo stack.Topology, s *scheduler, pods []*podSpec, budgets []budget) *ZoneCheck {
	zc := &ZoneCheck{OK: true, MaxAverageCPU: 1, AddCPUsAt: AddCPUsAt}
	var total int64
	for _, h := range s.hosts {
		total += s.alloc[h.Name].CPUMilli
	}
	for _, z := range topo.Zones {
		c := s.clone()
		gone := c.evict(z)
		l := ZoneLoss{Zone: z, Rescheduled: []string{}, Blocked: []string{}, NoRoom: []string{}, Down: []string{}, Budgets: []string{}}
		for _, p := range gone {
			if p.only != "" {
				continue // a DaemonSet pod goes with its node
			}
			if h, why := c.place(p); h != nil {
				l.Rescheduled = append(l.Rescheduled, p.name+" -> "+h.Name)
			} else if roomOnly(why) {
				l.NoRoom = append(l.NoRoom, p.name+": "+why)
			} else {
				l.Blocked = append(l.Blocked, p.name+": "+blockedReason(why))
			}
		}
		// A component is down when none of its pods runs (a component
		// with one StatefulSet pinned to each zone loses only the lost
		// zone's).
		running := map[string]int{}
		for _, p := range c.placed {
			running[p.w.Part+"/"+p.w.Component]++
		}
		seen := map[string]bool{}
		for _, p := range pods {
			key := p.w.Part + "/" + p.w.Component
			if seen[key] || p.w.Kind == "DaemonSet" {
				continue
			}
			seen[key] = true
			if running[key] == 0 {
				l.Down = append(l.Down, "component "+p.w.Component+" ("+p.w.Part+")")
			}
		}
		for _, b := range budgets {
			want, have := 0, 0
			for _, p := range pods {
				if p.w.Namespace == b.namespace && matches(b.selector, p.labels) {
					want++
				}
			}
			for _, p := range c.placed {
				if p.w.Namespace == b.namespace && matches(b.selector, p.labels) {
					have++
				}
			}
			if need := minAvailable(b, want); have < need {
				l.Budgets = append(l.Budgets, fmt.Sprintf("%s: %d of %d pods, needs %d", b.name, have, want, need))
			}
		}
		var surv, used Amount
		for _, h := range c.hosts {
			if !c.down[h.Name] {
				surv = surv.add(c.alloc[h.Name])
				used = used.add(c.used[h.Name])
			}
		}
		l.Survivors, l.Headroom = surv, surv.sub(used)
		if total > 0 {
			l.MaxAverageCPU = float64(surv.CPUMilli) / float64(total)
		}
		l.OK = len(l.NoRoom) == 0 && len(l.Down) == 0 && len(l.Budgets) == 0
		zc.OK = zc.OK && l.OK
		zc.MaxAverageCPU = math.Min(zc.MaxAverageCPU, l.MaxAverageCPU)
		zc.Losses = append(zc.Losses, l)
	}
	return zc
}

// blockedReason keeps the rules that block a pod: the lost and excluded
// nodes say nothing more than that the pod is pinned to the lost zone.
func blockedReason(why string) string {
	var keep []string
	for _, part := range strings.Split(why, "; ") {
		if !strings.HasSuffix(part, whyDown) && !strings.HasSuffix(part, whyAdmit) && !strings.HasSuffix(part, whyDaemon) {
			keep = append(keep, part)
		}
	}
	if len(keep) == 0 {
		return "pinned to the lost zone (its node affinity admits no surviving node)"
	}
	return strings.Join(keep, "; ")
}

// roomOnly reports whether a placement failure is for lack of room: some
// surviving node admits the pod under all its rules but is full.
func roomOnly(why string) bool {
	// feasible checks room last: a node reported for room passed every
	// rule of the pod.
	return strings.Contains(why, whyRoom)
}

// minAvailable is the number of pods b keeps available out of want:
// minAvailable, or want minus maxUnavailable (percentages rounded up, as
// the disruption controller rounds them).
func minAvailable(b budget, want int) int {
	spec := b.pdb.Spec
	if spec.MinAvailable != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, want, true)
		if err == nil {
			return n
		}
	}
	if spec.MaxUnavailable != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, want, true)
		if err == nil {
			return max(want-n, 0)
		}
	}
	return 0
}
