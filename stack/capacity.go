package stack

import (
	"fmt"
	"math"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// capacityHost is a node of the topology as the capacity check sees it:
// its labels (pool labels, zone, hostname, arch) and taints.
type capacityHost struct {
	Host
	labels map[string]string
}

func capacityHosts(t Topology) []capacityHost {
	var out []capacityHost
	for _, h := range t.Hosts() {
		out = append(out, capacityHost{Host: h, labels: h.NodeLabels()})
	}
	return out
}

// PodRequests returns a pod's effective CPU and memory requests as the
// scheduler counts them (kubernetes.io/docs/concepts/workloads/pods/init-containers/#resource-sharing-within-containers
// and sidecar-containers/#resource-sharing-within-containers): the larger
// of the app containers plus the sidecars (init containers with restart
// policy Always) and, for each other init container, its request plus the
// sidecars started before it; then the pod overhead.
func PodRequests(spec *corev1.PodSpec) (cpu, memory resource.Quantity) {
	var sideCPU, sideMem, initCPU, initMem resource.Quantity
	for _, c := range spec.InitContainers {
		reqCPU, reqMem := c.Resources.Requests[corev1.ResourceCPU], c.Resources.Requests[corev1.ResourceMemory]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sideCPU.Add(reqCPU)
			sideMem.Add(reqMem)
			continue
		}
		reqCPU.Add(sideCPU)
		reqMem.Add(sideMem)
		if reqCPU.Cmp(initCPU) > 0 {
			initCPU = reqCPU.DeepCopy()
		}
		if reqMem.Cmp(initMem) > 0 {
			initMem = reqMem.DeepCopy()
		}
	}
	cpu, memory = sideCPU.DeepCopy(), sideMem.DeepCopy()
	for _, c := range spec.Containers {
		cpu.Add(c.Resources.Requests[corev1.ResourceCPU])
		memory.Add(c.Resources.Requests[corev1.ResourceMemory])
	}
	if initCPU.Cmp(cpu) > 0 {
		cpu = initCPU
	}
	if initMem.Cmp(memory) > 0 {
		memory = initMem
	}
	cpu.Add(spec.Overhead[corev1.ResourceCPU])
	memory.Add(spec.Overhead[corev1.ResourceMemory])
	return cpu, memory
}

// eligible reports whether the scheduler may place the pod on the host:
// its nodeSelector and required node affinity match the host's labels and
// it tolerates the host's NoSchedule and NoExecute taints.
func eligible(spec *corev1.PodSpec, h capacityHost) bool {
	for k, v := range spec.NodeSelector {
		if h.labels[k] != v {
			return false
		}
	}
	for i := range h.Pool.Taints {
		taint := h.Pool.Taints[i]
		if taint.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for _, tol := range spec.Tolerations {
			ok = ok || tol.ToleratesTaint(&taint)
		}
		if !ok {
			return false
		}
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for _, term := range spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(term, h.labels) {
			return true // terms are ORed
		}
	}
	return false
}

func termMatches(term corev1.NodeSelectorTerm, l map[string]string) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false // an empty term matches no node (NodeSelectorTerm's API doc)
	}
	for _, e := range term.MatchExpressions {
		v, has := l[e.Key]
		in := false
		for _, x := range e.Values {
			in = in || x == v
		}
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			if !has || !in {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if has && in {
				return false
			}
		case corev1.NodeSelectorOpExists:
			if !has {
				return false
			}
		case corev1.NodeSelectorOpDoesNotExist:
			if has {
				return false
			}
		default:
			// Gt and Lt compare integers; no pool label the topology
			// declares is one, so be permissive rather than wrong.
		}
	}
	return true
}

// replicasOf returns the pod count of a workload: replicas for
// Deployments, StatefulSets and ReplicaSets (nil means 1), one per
// eligible host for a DaemonSet (returned as -1), 1 for anything else.
func replicasOf(obj Object) int64 {
	var r *int32
	switch o := obj.(type) {
	case *appsv1.Deployment:
		r = o.Spec.Replicas
	case *appsv1.StatefulSet:
		r = o.Spec.Replicas
	case *appsv1.ReplicaSet:
		r = o.Spec.Replicas
	case *appsv1.DaemonSet:
		return -1
	}
	if r == nil {
		return 1
	}
	return int64(*r)
}

// hostAntiAffinity returns the selector of a required pod anti-affinity on
// the hostname label, or nil.
func hostAntiAffinity(spec *corev1.PodSpec) labels.Selector {
	if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
		return nil
	}
	for _, term := range spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if term.TopologyKey != HostnameLabel || term.LabelSelector == nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector); err == nil {
			return sel
		}
	}
	return nil
}

// capacity refuses what can never schedule on the stack's Topology, whose
// pools declare each node's allocatable CPU and memory:
//   - a pod whose requests exceed every node it may run on (by its node
//     affinity, node selector and tolerations), or that may run on no node;
//   - more pods under one required host anti-affinity than the nodes they
//     may run on (one per host: the rest stay Pending);
//   - more requests, summed over the pods that may run on one pool only,
//     than that pool's nodes hold together.
func (v *validator) capacity() {
	hosts := capacityHosts(v.stack.opts.Topology)
	type pooled struct {
		cpu, memory resource.Quantity
		by          []string
	}
	perPool := map[string]*pooled{}
	type spread struct {
		t   podTemplate
		sel labels.Selector
	}
	var spreads []spread
	hostsOf := map[int]map[string]bool{} // template index -> eligible host names
	for ti, t := range v.templates {
		fld := t.path.Child("spec")
		if t.path.String() == "" {
			fld = field.NewPath("spec")
		}
		cpu, mem := PodRequests(t.spec)
		var ok []capacityHost
		for _, h := range hosts {
			if eligible(t.spec, h) {
				ok = append(ok, h)
			}
		}
		hostsOf[ti] = map[string]bool{}
		for _, h := range ok {
			hostsOf[ti][h.Name] = true
		}
		if len(ok) == 0 {
			v.addf(t.r, fld.Child("affinity"), "the pod may run on no node of the topology (pools: %v): its node affinity, node selector or tolerations match none", v.stack.opts.Topology.PoolNames())
			continue
		}
		fits := false
		var pools []string
		seen := map[string]bool{}
		for _, h := range ok {
			if !seen[h.Pool.Name] {
				seen[h.Pool.Name] = true
				pools = append(pools, fmt.Sprintf("%s (cpu %s, memory %s)", h.Pool.Name, h.Pool.CPU.String(), h.Pool.Memory.String()))
			}
			fits = fits || (h.Pool.CPU.Cmp(cpu) >= 0 && h.Pool.Memory.Cmp(mem) >= 0)
		}
		if !fits {
			v.addf(t.r, fld.Child("containers"), "the pod requests cpu %s and memory %s, more than any node it may run on allocates: %s; lower the requests or use a larger pool", cpu.String(), mem.String(), joinComma(pools))
			continue
		}
		n := replicasOf(t.r.Object)
		if n < 0 {
			n = int64(len(ok))
		}
		if len(seen) == 1 && !isJob(t.r.Object) {
			pool := ok[0].Pool.Name
			p := perPool[pool]
			if p == nil {
				p = &pooled{}
				perPool[pool] = p
			}
			p.cpu.Add(*resource.NewMilliQuantity(mulSat(cpu.MilliValue(), n), resource.DecimalSI))
			p.memory.Add(*resource.NewQuantity(mulSat(mem.Value(), n), resource.BinarySI))
			p.by = append(p.by, fmt.Sprintf("%s x%d", t.r.Ref, n))
		}
		if sel := hostAntiAffinity(t.spec); sel != nil && sel.Matches(labels.Set(t.labels)) {
			if n > int64(len(ok)) {
				v.addf(t.r, fld.Child("affinity", "podAntiAffinity"), "%d replicas must each run on a node of their own, but only %d nodes are eligible; the rest could never be scheduled", n, len(ok))
				continue
			}
			spreads = append(spreads, spread{t: t, sel: sel})
		}
	}
	// One per host: the pods the anti-affinity selects need as many
	// distinct nodes among those any of them may use (a component with one
	// StatefulSet per zone pins each to its zone's nodes).
	for _, s := range spreads {
		var pods int64
		var members []string
		allowed := map[string]bool{}
		for ti, t := range v.templates {
			if t.r.Ref.Namespace == s.t.r.Ref.Namespace && s.sel.Matches(labels.Set(t.labels)) {
				for h := range hostsOf[ti] {
					allowed[h] = true
				}
				n := replicasOf(t.r.Object)
				if n < 0 {
					n = 1
				}
				pods += n
				members = append(members, fmt.Sprintf("%s x%d", t.r.Ref, n))
			}
		}
		if pods > int64(len(allowed)) {
			v.addf(s.t.r, s.t.path.Child("spec", "affinity", "podAntiAffinity"), "%d pods (%s) must each run on a node of their own, but only %d nodes are eligible; the rest could never be scheduled", pods, joinComma(members), len(allowed))
		}
	}
	topo := v.stack.opts.Topology
	for _, p := range topo.Pools {
		use := perPool[p.Name]
		if use == nil {
			continue
		}
		nodes := int64(p.Nodes(topo))
		totalCPU := resource.NewMilliQuantity(mulSat(p.CPU.MilliValue(), nodes), resource.DecimalSI)
		totalMem := resource.NewQuantity(mulSat(p.Memory.Value(), nodes), resource.BinarySI)
		if use.cpu.Cmp(*totalCPU) > 0 || use.memory.Cmp(*totalMem) > 0 {
			sort.Strings(use.by)
			v.add("topology", "", "pools["+p.Name+"]", "the pods that may only run on pool %s request cpu %s and memory %s in all, more than its %d nodes allocate (cpu %s, memory %s): %s",
				p.Name, use.cpu.String(), use.memory.String(), nodes, totalCPU.String(), totalMem.String(), joinComma(use.by))
		}
	}
}

// isJob reports whether obj runs to completion (a Job or CronJob): its
// pods free their requests when done, so they do not count against the
// pool's standing capacity.
func isJob(obj Object) bool {
	switch obj.(type) {
	case *batchv1.Job, *batchv1.CronJob:
		return true
	}
	return false
}

// mulSat multiplies non-negative a and b, saturating at MaxInt64 instead
// of overflowing.
func mulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// selectorOverlaps refuses selectors that reach into another component:
// a workload or PodDisruptionBudget selector that matches another
// component's pod template (two controllers would fight over the pods, a
// budget would count the wrong pods), and a Service selector that matches
// the pod templates of more than one component (two copies of a
// component with the same labels: kafka-000's Service would send clients
// to kafka-001's brokers). A Service may select another component's pods
// (an exposure component's Services), as long as they are one component's.
func (v *validator) selectorOverlaps(all []*Rendered) {
	for _, r := range all {
		var sel labels.Selector
		var fld *field.Path
		service := false
		switch o := r.Object.(type) {
		case *corev1.Service:
			if len(o.Spec.Selector) == 0 {
				continue
			}
			static := map[string]string{}
			for k, val := range o.Spec.Selector {
				if _, rt := v.stack.runtime[k]; !rt {
					static[k] = val
				}
			}
			sel, fld, service = labels.SelectorFromSet(static), field.NewPath("spec", "selector"), true
		default:
			var ls *metav1.LabelSelector
			if pdb, ok := r.Object.(*policyv1.PodDisruptionBudget); ok {
				ls = pdb.Spec.Selector
			} else {
				ls = workloadSelector(r)
			}
			if ls == nil {
				continue
			}
			s, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil || s.Empty() {
				continue // reported by the workload and PDB checks
			}
			sel, fld = s, field.NewPath("spec", "selector")
		}
		comps := map[string]string{} // component -> its first selected object
		for _, t := range v.selected(r.Ref.Namespace, sel) {
			if _, seen := comps[t.r.Component]; !seen {
				comps[t.r.Component] = fmt.Sprintf("%s of component %q", t.r.Ref, t.r.Component)
			}
		}
		names := sortedKeys(comps)
		var objs, others []string
		for _, n := range names {
			objs = append(objs, comps[n])
			if n != r.Component {
				others = append(others, comps[n])
			}
		}
		switch {
		case service && len(names) > 1:
			v.addf(r, fld, "%s selects the pods of %d components (%s); a Service selects one component's pods: give each copy of a component its own name label", sel, len(names), joinComma(objs))
		case !service && (len(names) > 1 || (len(names) == 1 && names[0] != r.Component)):
			v.addf(r, fld, "%s also selects %s; a selector of component %q must match its own pods only: give each copy of a component its own name label", sel, joinComma(others), r.Component)
		}
	}
}

// Fits is the constructor-time share of the synthesis capacity check, so
// that a component refuses what can never schedule before it adds
// anything: pods pods with the requests of r must each fit a node of the
// pool (any pool when pool is empty) and, together, the pool's nodes. The
// error starts with component and names the pool and both sizes.
// Sidecars and other components' pods are counted at synthesis.
func (t Topology) Fits(component, pool string, pods int, r Resources) error {
	var pools []NodePool
	if pool == "" {
		pools = t.Pools
	} else {
		p, err := t.Pool(pool)
		if err != nil {
			return fmt.Errorf("%s: pool: %w", component, err)
		}
		pools = []NodePool{p}
	}
	var last error
	for _, p := range pools {
		if p.CPU.Cmp(r.CPURequest) < 0 || p.Memory.Cmp(r.MemoryRequest) < 0 {
			last = fmt.Errorf("%s: resources: a pod requests cpu %s and memory %s, more than a node of pool %s allocates (cpu %s, memory %s)",
				component, r.CPURequest.String(), r.MemoryRequest.String(), p.Name, p.CPU.String(), p.Memory.String())
			continue
		}
		nodes := int64(p.Nodes(t))
		n := int64(max(pods, 0))
		needCPU := resource.NewMilliQuantity(mulSat(r.CPURequest.MilliValue(), n), resource.DecimalSI)
		needMem := resource.NewQuantity(mulSat(r.MemoryRequest.Value(), n), resource.BinarySI)
		haveCPU := resource.NewMilliQuantity(mulSat(p.CPU.MilliValue(), nodes), resource.DecimalSI)
		haveMem := resource.NewQuantity(mulSat(p.Memory.Value(), nodes), resource.BinarySI)
		if needCPU.Cmp(*haveCPU) > 0 || needMem.Cmp(*haveMem) > 0 {
			last = fmt.Errorf("%s: %d pods request cpu %s and memory %s in all, more than the %d nodes of pool %s allocate (cpu %s, memory %s)",
				component, pods, needCPU.String(), needMem.String(), nodes, p.Name, haveCPU.String(), haveMem.String())
			continue
		}
		return nil
	}
	return last
}

// NodeLabels returns the labels the capacity check gives the host: its
// pool's labels, the zone and hostname labels and the architecture. The
// simulated cluster's nodes carry these and a few more (sim.Nodes).
func (h Host) NodeLabels() map[string]string {
	l := map[string]string{ZoneLabel: h.Zone, HostnameLabel: h.Name}
	if h.Pool.Arch != "" {
		l["kubernetes.io/arch"] = h.Pool.Arch
	}
	for k, v := range h.Pool.Labels {
		l[k] = v
	}
	return l
}

// Admits reports whether the scheduler may place a pod with spec on the
// host, as the synthesis capacity check decides it: the pod's node
// selector and required node affinity match the host's labels and it
// tolerates the host's NoSchedule and NoExecute taints. Requests and
// inter-pod rules are the caller's.
func (h Host) Admits(spec *corev1.PodSpec) bool {
	return eligible(spec, capacityHost{Host: h, labels: h.NodeLabels()})
}

// NodeRequests sums, per node name, the effective CPU and memory requests
// (PodRequests: what the scheduler counts) of the pods bound to a node,
// skipping unbound pods and pods that have finished (Succeeded, Failed):
// their requests are free again. mage sim prints these totals against
// each node's allocatable, and package plan computes the same for the
// pods it places.
func NodeRequests(pods []corev1.Pod) map[string]corev1.ResourceList {
	used := map[string]corev1.ResourceList{}
	for i := range pods {
		p := &pods[i]
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		cpu, mem := PodRequests(&p.Spec)
		u := used[p.Spec.NodeName]
		if u == nil {
			u = corev1.ResourceList{corev1.ResourceCPU: resource.Quantity{Format: resource.DecimalSI}, corev1.ResourceMemory: resource.Quantity{Format: resource.BinarySI}}
			used[p.Spec.NodeName] = u
		}
		c, m := u[corev1.ResourceCPU], u[corev1.ResourceMemory]
		c.Add(cpu)
		m.Add(mem)
		u[corev1.ResourceCPU], u[corev1.ResourceMemory] = c, m
	}
	return used
}

// UsageLine is the line mage sim prints for a node: its name, then the
// CPU and memory requests used against its allocatable
// ("thingsboard-eu-west-1a-0 cpu 2600m/4 mem 24Gi/32Gi"). A node without
// pods shows 0.
func UsageLine(node string, used, allocatable corev1.ResourceList) string {
	q := func(l corev1.ResourceList, r corev1.ResourceName) string {
		v, ok := l[r]
		if !ok {
			return "0"
		}
		return v.String()
	}
	return fmt.Sprintf("%s cpu %s/%s mem %s/%s", node, q(used, corev1.ResourceCPU), q(allocatable, corev1.ResourceCPU), q(used, corev1.ResourceMemory), q(allocatable, corev1.ResourceMemory))
}
