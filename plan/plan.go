// Package plan computes a profile's capacity and cost plan without a
// cluster: the ThingsBoard article's pod table ("ThingsBoard k8s cluster -
// minimal design", "Pod distribution across the cluster") from the
// synthesized stacks, with every replica placed on the topology's nodes,
// the totals per node against allocatable, a zone-loss check and the
// article's cost figures ("Total ownership cost").
//
// What is planned: every part that runs in the cluster, that is the
// profile's main stack, its monitoring (on by default) and any other part
// (the node exporter), but not the opt-in load test (minimal-3az's
// loadtest/, applied separately for the article's performance test). Jobs
// and CronJobs run to completion and free their requests; they are listed
// as transient, not counted on the nodes (as the simulated cluster counts
// neither a finished pod).
//
// Placement follows the kube-scheduler's default profile as far as it is
// deterministic: a pod may land on a node that admits it (node selector,
// required node affinity, taints: stack.Host.Admits, the synthesis
// capacity check's rule), has room for its effective requests
// (stack.PodRequests), holds no pod its required anti-affinity forbids
// and keeps its DoNotSchedule topology spread within maxSkew; among those,
// the node with the fewest pods of the same workload (the default
// spreading), then the most free resources after placement
// (NodeResourcesFit's LeastAllocated with NodeResourcesBalancedAllocation),
// then the first in topology order (the scheduler breaks ties at random).
//
// What the simulated cluster measures: mage sim sums, per node, the
// effective requests of the pods bound there (stack.NodeRequests, which
// BoundPods feeds in sim/plan_test.go, giving UsageLines byte for byte).
// A workload whose placement is Forced (a DaemonSet, one eligible node,
// one pod per host on every eligible node, a hard zone spread over one
// node per zone) lands on the plan's nodes under any scheduler. The others
// (minimal-3az's kafka-exporter, kube-state-metrics, two poolers and two
// Prometheus servers; 100k's bridges and its kube-state-metrics, which has
// no pool) land on the node the real scheduler scores best at the moment
// their pod is created, which depends on the order the controllers create
// pods in: the per-pool totals (PoolTotals) agree with the simulated
// cluster's when every such workload may run on one pool only (100k's
// kube-state-metrics may run on any), the per-node totals when the
// scheduler picks as the plan does.
package plan

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// MainPart names the profile's main stack among the planned parts.
const MainPart = "stack"

// Amount is CPU in millicores and memory in bytes.
type Amount struct {
	// CPUMilli is CPU in thousandths of a core.
	CPUMilli int64 `json:"cpuMilli"`
	// MemoryBytes is memory in bytes.
	MemoryBytes int64 `json:"memoryBytes"`
}

func (a Amount) add(b Amount) Amount {
	return Amount{a.CPUMilli + b.CPUMilli, a.MemoryBytes + b.MemoryBytes}
}

func (a Amount) sub(b Amount) Amount {
	return Amount{a.CPUMilli - b.CPUMilli, a.MemoryBytes - b.MemoryBytes}
}

// fits reports whether a is at most b in both resources.
func (a Amount) fits(b Amount) bool {
	return a.CPUMilli <= b.CPUMilli && a.MemoryBytes <= b.MemoryBytes
}

// CPU is the CPU as a canonical quantity ("2600m", "4").
func (a Amount) CPU() string {
	return resource.NewMilliQuantity(a.CPUMilli, resource.DecimalSI).String()
}

// Memory is the memory as a canonical binary quantity ("24Gi").
func (a Amount) Memory() string {
	return resource.NewQuantity(a.MemoryBytes, resource.BinarySI).String()
}

// Plan is a profile's capacity and cost plan. Its JSON form (the field
// tags) is stable: fields are added, never renamed or removed.
type Plan struct {
	// Profile is the profile's name.
	Profile string `json:"profile"`
	// Parts are the planned parts: "stack" and the parts' directories
	// (monitoring, node-exporter).
	Parts []string `json:"parts"`
	// Excluded are the parts left out, with the reason.
	Excluded []string `json:"excluded"`
	// Zones are the topology's zones, in order.
	Zones []string `json:"zones"`
	// Nodes are the topology's nodes with what the plan puts on them, in
	// topology order (pool by pool, zone by zone).
	Nodes []Node `json:"nodes"`
	// Workloads are the long-running workloads, in apply order, each with
	// its pods' placement.
	Workloads []Workload `json:"workloads"`
	// Transient are the Jobs and CronJobs: they run to completion and are
	// not counted on the nodes.
	Transient []string `json:"transient"`
	// Unplaced are the pods no node can take, with the reason; empty when
	// the stack fits.
	Unplaced []Unplaced `json:"unplaced"`
	// Zone is the zone-loss check; nil for a single-zone topology.
	Zone *ZoneCheck `json:"zoneLoss"`
	// Cost is the cost estimate.
	Cost Cost `json:"cost"`

	bound []corev1.Pod
}

// Node is one node of the topology and what the plan places on it.
type Node struct {
	// Name is <pool>-<zone>-<index> (stack.Topology.Hosts, as the simulated
	// cluster names its nodes).
	Name string `json:"name"`
	// Zone and Pool are the node's zone and pool.
	Zone string `json:"zone"`
	Pool string `json:"pool"`
	// InstanceType is the pool's instance type ("" when not declared).
	InstanceType string `json:"instanceType"`
	// Allocatable is what the pool declares per node.
	Allocatable Amount `json:"allocatable"`
	// Requests and Limits are the sums over the pods placed on the node
	// (effective requests as the scheduler counts them; limits as the
	// containers declare them).
	Requests Amount `json:"requests"`
	Limits   Amount `json:"limits"`
	// Pods are the names of the pods placed on the node, in placement
	// order.
	Pods []string `json:"pods"`
}

// Workload is a Deployment, StatefulSet, ReplicaSet, DaemonSet or bare Pod
// with its pods' placement.
type Workload struct {
	// Part is the part the workload belongs to ("stack", "monitoring").
	Part string `json:"part"`
	// Kind, Namespace and Name identify the workload.
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Component is the iotstack component that renders it.
	Component string `json:"component"`
	// Replicas is the number of pods (a DaemonSet's: the nodes admitting
	// it).
	Replicas int `json:"replicas"`
	// Requests and Limits are one pod's.
	Requests Amount `json:"requests"`
	Limits   Amount `json:"limits"`
	// Unlimited names the resources ("cpu", "memory") some container of
	// the pod sets no limit for: the pod's limit there is the node's.
	Unlimited []string `json:"unlimited"`
	// OnePerHost: a required anti-affinity keeps two of its pods off one
	// node. ZoneSpread: a DoNotSchedule spread over zones.
	OnePerHost bool `json:"onePerHost"`
	ZoneSpread bool `json:"zoneSpread"`
	// Forced is true when where its pods land does not depend on the
	// scheduler's choices (scoring, the order pods are created in, its
	// random tie-break): a DaemonSet; one eligible node; one pod per host
	// on every eligible node; or a hard zone spread of a multiple of the
	// zones over one eligible node per zone. Any scheduler puts a forced
	// workload's pods on the plan's nodes; the others may land on another
	// node of their pools (see Plan.PoolTotals).
	Forced bool `json:"forced"`

	// labels are the pod template's labels (WorkloadOf).
	labels map[string]string
	// Pods are where each pod lands, in ordinal order.
	Pods []Pod `json:"pods"`
}

// Pod is a placed pod.
type Pod struct {
	// Name is the pod's name: <statefulset>-<ordinal>, <workload>-<n> for
	// the generated names of other workloads, <daemonset>@<node>.
	Name string `json:"name"`
	// Node and Zone are where it lands; empty when it could not be placed.
	Node string `json:"node"`
	Zone string `json:"zone"`
}

// Unplaced is a pod the plan could not place.
type Unplaced struct {
	// Pod is the pod's name; Workload its workload's kind/name.
	Pod      string `json:"pod"`
	Workload string `json:"workload"`
	// Reason says why no node takes it.
	Reason string `json:"reason"`
}

// Compute plans a built profile with its values: the main stack and
// every part except the load test are synthesized, their pods placed on
// the main stack's topology, the zone loss checked and the cost estimated
// from v's plan section. An
// error is returned for a stack that does not synthesize or, with
// plan.requireCost, for a pool without a price.
func Compute(profile string, b *profiles.Built, v profiles.Values) (*Plan, error) {
	if b == nil || b.Stack == nil || v == nil {
		return nil, fmt.Errorf("plan %s: nothing built", profile)
	}
	c := v.Base()
	type part struct {
		name string
		out  *stack.Output
	}
	main, err := b.Stack.Synth()
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", profile, err)
	}
	// The topology the stack was built on (the values' topology for a
	// profile).
	topo := main.Topology
	parts := []part{{MainPart, main}}
	p := &Plan{Profile: profile, Zones: append([]string(nil), topo.Zones...), Parts: []string{MainPart}}
	for _, pt := range b.Parts {
		if pt.Dir == profiles.LoadTestDir {
			p.Excluded = append(p.Excluded, pt.Dir+": the opt-in performance test, applied separately")
			continue
		}
		out, err := pt.Stack.Synth()
		if err != nil {
			return nil, fmt.Errorf("plan %s, %s: %w", profile, pt.Dir, err)
		}
		parts = append(parts, part{pt.Dir, out})
		p.Parts = append(p.Parts, pt.Dir)
	}
	var budgets []budget
	var pods []*podSpec
	for _, pt := range parts {
		ws, ps, tr := expand(pt.name, pt.out, topo)
		p.Workloads = append(p.Workloads, ws...)
		pods = append(pods, ps...)
		p.Transient = append(p.Transient, tr...)
		budgets = append(budgets, budgetsOf(pt.out)...)
	}
	s := newScheduler(topo)
	for _, pod := range pods {
		node, reason := s.place(pod)
		if node == nil {
			p.Unplaced = append(p.Unplaced, Unplaced{Pod: pod.name, Workload: pod.w.Kind + "/" + pod.w.Name, Reason: reason})
		}
	}
	for i, w := range p.Workloads {
		for j := range w.Pods {
			pod := s.byName[w.Namespace+"/"+w.Pods[j].Name]
			if pod != nil && pod.node != nil {
				p.Workloads[i].Pods[j].Node, p.Workloads[i].Pods[j].Zone = pod.node.Name, pod.node.Zone
			}
		}
	}
	p.Nodes = s.report()
	p.bound = boundPods(s)
	if len(topo.Zones) > 1 {
		p.Zone = zoneLoss(topo, s, pods, budgets)
	}
	p.normalize()
	cost, err := estimate(topo, p.Nodes, p.Workloads, c.Plan)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", profile, err)
	}
	p.Cost = cost
	return p, nil
}

// BoundPods returns the planned pods as Kubernetes Pods bound to their
// nodes (spec.nodeName), the form in which mage sim reads the cluster:
// stack.NodeRequests on them gives the per-node totals it measures.
func (p *Plan) BoundPods() []corev1.Pod {
	out := make([]corev1.Pod, len(p.bound))
	for i := range p.bound {
		p.bound[i].DeepCopyInto(&out[i])
	}
	return out
}

// UsageLines are the lines mage sim prints for the nodes
// (stack.UsageLine, sorted), computed from the plan's totals: what the
// simulated cluster must measure.
func (p *Plan) UsageLines() []string {
	var lines []string
	for _, n := range p.Nodes {
		var used corev1.ResourceList
		if len(n.Pods) > 0 {
			used = corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(n.Requests.CPUMilli, resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(n.Requests.MemoryBytes, resource.BinarySI),
			}
		}
		alloc := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(n.Allocatable.CPUMilli, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(n.Allocatable.MemoryBytes, resource.BinarySI),
		}
		lines = append(lines, stack.UsageLine(n.Name, used, alloc))
	}
	sort.Strings(lines)
	return lines
}

func boundPods(s *scheduler) []corev1.Pod {
	var out []corev1.Pod
	for _, pod := range s.placed {
		bp := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: pod.name, Namespace: pod.w.Namespace, Labels: pod.labels},
			Spec:       *pod.spec.DeepCopy(),
		}
		bp.Spec.NodeName = pod.node.Name
		out = append(out, bp)
	}
	return out
}

// podSpec is one pod to place.
type podSpec struct {
	name   string
	w      *Workload
	labels map[string]string
	spec   *corev1.PodSpec
	req    Amount
	lim    Amount
	// only is the node a DaemonSet pod is bound to.
	only string
	node *stack.Host
}

// budget is a PodDisruptionBudget: the pods it selects and how many may
// be unavailable at most.
type budget struct {
	name      string
	namespace string
	selector  *metav1.LabelSelector
	pdb       *policyv1.PodDisruptionBudget
}

func budgetsOf(out *stack.Output) []budget {
	var bs []budget
	for _, o := range out.Objects {
		if pdb, ok := o.Object.(*policyv1.PodDisruptionBudget); ok && pdb.Spec.Selector != nil {
			ns := pdb.Namespace
			if ns == "" {
				ns = out.Namespace
			}
			bs = append(bs, budget{name: pdb.Name, namespace: ns, selector: pdb.Spec.Selector, pdb: pdb})
		}
	}
	return bs
}

// expand turns an output's workloads into planned pods, in apply order.
func expand(part string, out *stack.Output, topo stack.Topology) ([]Workload, []*podSpec, []string) {
	var ws []Workload
	var specs [][]*podSpec
	var transient []string
	hosts := topo.Hosts()
	for _, o := range out.Objects {
		var tmpl *corev1.PodTemplateSpec
		var replicas *int32
		daemon := false
		kind := o.GVK.Kind
		switch x := o.Object.(type) {
		case *appsv1.Deployment:
			tmpl, replicas = &x.Spec.Template, x.Spec.Replicas
		case *appsv1.StatefulSet:
			tmpl, replicas = &x.Spec.Template, x.Spec.Replicas
		case *appsv1.ReplicaSet:
			tmpl, replicas = &x.Spec.Template, x.Spec.Replicas
		case *appsv1.DaemonSet:
			tmpl, daemon = &x.Spec.Template, true
		case *corev1.Pod:
			tmpl = &corev1.PodTemplateSpec{ObjectMeta: x.ObjectMeta, Spec: x.Spec}
		case *batchv1.Job, *batchv1.CronJob:
			transient = append(transient, fmt.Sprintf("%s: %s/%s", part, kind, o.Ref.Name))
			continue
		default:
			continue
		}
		ns := o.Ref.Namespace
		if ns == "" {
			ns = out.Namespace
		}
		cpu, mem := stack.PodRequests(&tmpl.Spec)
		lim, unlimited := podLimits(&tmpl.Spec)
		w := Workload{Part: part, Kind: kind, Namespace: ns, Name: o.Ref.Name, Component: o.Component,
			Requests: Amount{cpu.MilliValue(), mem.Value()}, Limits: lim, Unlimited: unlimited,
			OnePerHost: requiredAnti(&tmpl.Spec, stack.HostnameLabel, tmpl.Labels), ZoneSpread: hardSpread(&tmpl.Spec, stack.ZoneLabel)}
		var ps []*podSpec
		mk := func(name, only string) {
			ps = append(ps, &podSpec{name: name, labels: tmpl.Labels, spec: &tmpl.Spec, req: w.Requests, lim: w.Limits, only: only})
			w.Pods = append(w.Pods, Pod{Name: name})
		}
		switch {
		case daemon:
			for _, h := range hosts {
				if h.Admits(&tmpl.Spec) {
					mk(o.Ref.Name+"@"+h.Name, h.Name)
				}
			}
		default:
			n := 1
			if replicas != nil {
				n = int(*replicas)
			}
			for i := 0; i < n; i++ {
				name := fmt.Sprintf("%s-%d", o.Ref.Name, i)
				if _, bare := o.Object.(*corev1.Pod); bare {
					name = o.Ref.Name
				}
				mk(name, "")
			}
		}
		w.Replicas = len(w.Pods)
		w.Forced = forced(&w, &tmpl.Spec, hosts, len(topo.Zones), daemon)
		w.labels = tmpl.Labels
		ws = append(ws, w)
		specs = append(specs, ps)
	}
	var pods []*podSpec
	for i := range ws {
		for _, ps := range specs[i] {
			ps.w = &ws[i]
			pods = append(pods, ps)
		}
	}
	return ws, pods, transient
}

// podLimits sums the limits the way PodRequests sums requests: the app
// containers and sidecars, or the largest init container if more; a
// resource some container leaves unlimited is named in unlimited.
func podLimits(spec *corev1.PodSpec) (Amount, []string) {
	var sum, side, initMax Amount
	noCPU, noMem := false, false
	get := func(c corev1.Container) Amount {
		l := c.Resources.Limits
		if _, ok := l[corev1.ResourceCPU]; !ok {
			noCPU = true
		}
		if _, ok := l[corev1.ResourceMemory]; !ok {
			noMem = true
		}
		return Amount{l.Cpu().MilliValue(), l.Memory().Value()}
	}
	for _, c := range spec.InitContainers {
		a := get(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			side = side.add(a)
			continue
		}
		a = a.add(side)
		initMax = Amount{max(initMax.CPUMilli, a.CPUMilli), max(initMax.MemoryBytes, a.MemoryBytes)}
	}
	sum = side
	for _, c := range spec.Containers {
		sum = sum.add(get(c))
	}
	sum = Amount{max(sum.CPUMilli, initMax.CPUMilli), max(sum.MemoryBytes, initMax.MemoryBytes)}
	var unlimited []string
	if noCPU {
		unlimited = append(unlimited, "cpu")
	}
	if noMem {
		unlimited = append(unlimited, "memory")
	}
	return sum, unlimited
}

// requiredAnti reports whether the pod's required anti-affinity on key
// selects its own labels (at most one of its pods per domain of key).
func requiredAnti(spec *corev1.PodSpec, key string, own map[string]string) bool {
	for _, t := range antiTerms(spec) {
		if t.TopologyKey == key && matches(t.LabelSelector, own) {
			return true
		}
	}
	return false
}

func antiTerms(spec *corev1.PodSpec) []corev1.PodAffinityTerm {
	if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
		return nil
	}
	return spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

// hardSpread reports whether the pod has a DoNotSchedule spread on key.
func hardSpread(spec *corev1.PodSpec, key string) bool {
	for _, c := range spec.TopologySpreadConstraints {
		if c.TopologyKey == key && c.WhenUnsatisfiable == corev1.DoNotSchedule {
			return true
		}
	}
	return false
}

func matches(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// normalize turns nil lists into empty ones, so that JSON shows [] and a
// decoded plan equals the computed one.
func (p *Plan) normalize() {
	for _, l := range []*[]string{&p.Parts, &p.Excluded, &p.Zones, &p.Transient} {
		if *l == nil {
			*l = []string{}
		}
	}
	if p.Unplaced == nil {
		p.Unplaced = []Unplaced{}
	}
	if p.Workloads == nil {
		p.Workloads = []Workload{}
	}
	for i := range p.Workloads {
		if p.Workloads[i].Unlimited == nil {
			p.Workloads[i].Unlimited = []string{}
		}
		if p.Workloads[i].Pods == nil {
			p.Workloads[i].Pods = []Pod{}
		}
	}
	if p.Nodes == nil {
		p.Nodes = []Node{}
	}
}

// forced reports whether a workload's placement is the same under any
// scheduler (Workload.Forced).
func forced(w *Workload, spec *corev1.PodSpec, hosts []stack.Host, zones int, daemon bool) bool {
	perZone := map[string]int{}
	eligible := 0
	for _, h := range hosts {
		if h.Admits(spec) {
			eligible++
			perZone[h.Zone]++
		}
	}
	onePerZone := len(perZone) == zones
	for _, n := range perZone {
		onePerZone = onePerZone && n == 1
	}
	spreadOne := false
	for _, c := range spec.TopologySpreadConstraints {
		spreadOne = spreadOne || (c.TopologyKey == stack.ZoneLabel && c.WhenUnsatisfiable == corev1.DoNotSchedule && c.MaxSkew == 1)
	}
	switch {
	case daemon, eligible == 1:
		return true
	case w.OnePerHost && w.Replicas == eligible:
		return true
	case spreadOne && onePerZone && zones > 0 && w.Replicas%zones == 0:
		return true
	}
	return false
}

// PoolTotals returns the requests of the planned pods summed per pool:
// the same under any scheduler as long as each workload that is not
// Forced may run on one pool only (every pod lands on a node of a pool it
// may run on).
func (p *Plan) PoolTotals() map[string]Amount {
	out := map[string]Amount{}
	for _, n := range p.Nodes {
		out[n.Pool] = out[n.Pool].add(n.Requests)
	}
	return out
}

// Forced reports whether every workload's placement is Forced: then the
// per-node totals (UsageLines) are what any scheduler produces.
func (p *Plan) Forced() bool {
	for _, w := range p.Workloads {
		if !w.Forced {
			return false
		}
	}
	return true
}

// WorkloadOf returns the planned workload a pod of the cluster belongs to:
// the one in its namespace whose pod template's labels the pod carries
// (controllers copy them and add their own, such as pod-template-hash;
// synthesis refuses selectors that reach into another component).
func (p *Plan) WorkloadOf(namespace string, podLabels map[string]string) (Workload, bool) {
	for _, w := range p.Workloads {
		if w.Namespace != namespace || len(w.labels) == 0 {
			continue
		}
		all := true
		for k, v := range w.labels {
			if got, ok := podLabels[k]; !ok || got != v {
				all = false
				break
			}
		}
		if all {
			return w, true
		}
	}
	return Workload{}, false
}
