package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/cli"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// Report is what a run measured; Failures empty means it passed.
type Report struct {
	Profile  string
	Versions []string
	// ClusterUp is the time to a running control plane with the nodes.
	ClusterUp time.Duration
	// Ready is the time from the start of the apply to every object ready.
	Ready time.Duration
	// Drain is the time to evict every pod of the drained zone.
	Drain time.Duration
	// Recovery is the time from uncordon to every object ready again.
	Recovery time.Duration
	// Total is the whole run, cluster included.
	Total time.Duration
	// Placement is one line per workload: its pods per zone.
	Placement []string
	// Checks are the assertions that passed, Failures those that did not.
	Checks, Failures []string
}

func (r *Report) check(ok bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ok {
		r.Checks = append(r.Checks, msg)
	} else {
		r.Failures = append(r.Failures, msg)
	}
}

// String is the short report mage sim prints.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sim %s on %s\n", r.Profile, strings.Join(r.Versions, "; "))
	fmt.Fprintf(&b, "  cluster up %s, all ready %s after apply, zone drained in %s, recovered in %s; total %s\n",
		r.ClusterUp.Round(10*time.Millisecond), r.Ready.Round(10*time.Millisecond), r.Drain.Round(10*time.Millisecond), r.Recovery.Round(10*time.Millisecond), r.Total.Round(10*time.Millisecond))
	b.WriteString("  placement (pods per zone):\n")
	for _, p := range r.Placement {
		fmt.Fprintf(&b, "    %s\n", p)
	}
	fmt.Fprintf(&b, "  %d checks passed:\n", len(r.Checks))
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "    ok: %s\n", c)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "  FAILED: %s\n", f)
	}
	return b.String()
}

// Options configure a run.
type Options struct {
	// Root is the repository root (for test/tools).
	Root string
	// Log receives progress; nil discards it.
	Log io.Writer
	// Timeout bounds each wait for readiness; 0 means 5 minutes.
	Timeout time.Duration
	// Drop names the component whose removal the prune check applies; ""
	// picks the profile's last stateless component.
	Drop string
	// Values and Sets are the values documents and --set overrides the
	// profile is built from (none: its defaults). The simulated nodes
	// follow the values' topology.
	Values []values.Doc
	Sets   []string
	// Monitoring turns monitoring.enabled on and applies the monitoring
	// part after the stack: placement, readiness and the zone drill cover
	// Prometheus and Alertmanager, and promtool check service-discovery
	// against the simulated API server lists every expected scrape target
	// (sim/monitoring.go; no Prometheus server is run: pod IPs are fake).
	Monitoring bool
}

// Run builds the tools if needed, starts a simulated cluster with the
// profile's topology, applies the profile and runs the checks and the
// zone-loss drill. An error means the run could not be carried out; a
// failed check is in Report.Failures.
func Run(ctx context.Context, profile string, opts Options) (*Report, error) {
	start := time.Now()
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	p, err := profiles.Get(profile)
	if err != nil {
		return nil, err
	}
	sets := opts.Sets
	if opts.Monitoring {
		sets = append(append([]string(nil), sets...), monitoringSet)
	}
	v, err := p.Load(opts.Values, sets)
	if err != nil {
		return nil, fmt.Errorf("profile %s: values:\n%w", profile, err)
	}
	// Values that turn monitoring on get it checked too.
	monitoring := opts.Monitoring || v.Base().Monitoring.Enabled
	b, err := p.BuildValues(v)
	if err != nil {
		return nil, err
	}
	out, err := b.Stack.Synth()
	if err != nil {
		return nil, err
	}
	tools, err := EnsureTools(opts.Root, log)
	if err != nil {
		return nil, err
	}
	r := &Report{Profile: profile, Versions: tools.Versions}
	clusterStart := time.Now()
	cl, err := StartCluster(ctx, tools, "iotstack-"+profile, log)
	if err != nil {
		return nil, err
	}
	defer cl.Stop()
	cfg, err := cl.RESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	nodeCount, err := addTopology(ctx, cs, out, opts.Timeout)
	if err != nil {
		return nil, err
	}
	r.ClusterUp = time.Since(clusterStart)
	fmt.Fprintf(log, "cluster %s up with %d nodes in %s\n", cl.Name, nodeCount, r.ClusterUp.Round(time.Millisecond))

	// Preflight, before anything is applied: a cluster with gaps, each
	// reported; then with everything the profile needs, passing.
	if err := simPreflight(ctx, cfg, cs, p, v, b, cl.Kubeconfig, r, log); err != nil {
		return nil, err
	}

	eng, err := apply.New(cfg, apply.Options{Timeout: opts.Timeout, Interval: time.Second, Out: log})
	if err != nil {
		return nil, err
	}
	if made, err := provideUserSecrets(ctx, cs, out); err != nil {
		return nil, err
	} else if len(made) > 0 {
		fmt.Fprintf(log, "user-provided Secrets created with placeholders: %s\n", strings.Join(made, ", "))
	}
	applyStart := time.Now()
	res, err := eng.Apply(ctx, out)
	if err != nil {
		r.check(false, "apply: %v", err)
		r.Total = time.Since(start)
		return r, nil
	}
	r.Ready = time.Since(applyStart)
	r.check(true, "every object accepted (server-side apply, strict field validation) and ready: %d objects", len(out.Objects))

	if err := placement(ctx, cs, out, r); err != nil {
		return nil, err
	}
	var extra []*stack.Output
	if monitoring {
		monStack, mon, err := monitoringOutput(b)
		if err != nil {
			return nil, err
		}
		if mon == nil {
			return nil, fmt.Errorf("profile %s: monitoring on, but no %s part", profile, profiles.MonitoringDir)
		}
		if _, err := provideUserSecrets(ctx, cs, mon); err != nil {
			return nil, err
		}
		if err := applyMonitoring(ctx, cs, eng, mon, r); err != nil {
			return nil, err
		}
		var idle []*stack.Stack
		for _, part := range b.Parts {
			if part.Dir == profiles.LoadTestDir {
				idle = append(idle, part.Stack)
			}
		}
		if err := checkServiceDiscovery(ctx, opts.Root, cfg, cs, []*stack.Stack{b.Stack, monStack}, mon, r, log, idle...); err != nil {
			return nil, err
		}
		extra = append(extra, mon)
	}
	// Every planned part is applied: the cluster measures the plan.
	if err := planCheck(ctx, cs, profile, b, v, r); err != nil {
		return nil, err
	}
	if err := preflightApplied(ctx, cfg, cs, p, v, b, r); err != nil {
		return nil, err
	}
	if err := runCronJobs(ctx, cs, opts.Timeout, r, append([]*stack.Output{out}, extra...)...); err != nil {
		return nil, err
	}
	// The load test part (dist/<profile>/loadtest/), applied separately:
	// it must schedule on its own pool, and nothing else there.
	lt, err := loadTestOutput(b)
	if err != nil {
		return nil, err
	}
	if lt != nil {
		if err := checkLoadTest(ctx, cs, eng, lt, r); err != nil {
			return nil, err
		}
	}
	if err := drill(ctx, cs, eng, out, r, opts.Timeout, log, extra...); err != nil {
		return nil, err
	}

	// Apply again: nothing changes, no Secret rotates.
	before, err := secretVersions(ctx, cs, out)
	if err != nil {
		return nil, err
	}
	res, err = eng.Apply(ctx, out)
	if err != nil {
		r.check(false, "second apply: %v", err)
	} else {
		var changed []string
		for _, c := range res.Changes {
			if c.Action != ssa.UnchangedAction && c.Action != ssa.SkippedAction {
				changed = append(changed, c.Subject+" "+string(c.Action))
			}
		}
		r.check(len(changed) == 0, "a second apply changes nothing (changed: %s)", strings.Join(changed, ", "))
	}
	after, err := secretVersions(ctx, cs, out)
	if err != nil {
		return nil, err
	}
	rotated := []string{}
	for name, v := range before {
		if after[name] != v {
			rotated = append(rotated, name)
		}
	}
	r.check(len(before) == len(out.Secrets) && len(rotated) == 0, "the %d declared Secrets exist and none rotated on re-apply (rotated: %s)", len(out.Secrets), strings.Join(rotated, ", "))

	// mage diff against the applied stack: nothing would change.
	if changes, err := eng.Diff(ctx, out); err != nil {
		r.check(false, "diff: %v", err)
	} else {
		var names []string
		for _, c := range changes {
			names = append(names, c.Subject+" "+string(c.Action))
		}
		r.check(len(changes) == 0, "diff after apply reports no change (%s)", strings.Join(names, ", "))
	}
	// The CLI on the directory rendered from the same values: diff finds
	// the applied stack unchanged.
	if err := cliDiff(p, v, cl.Kubeconfig, r); err != nil {
		return nil, err
	}
	// Writes are strictly validated: an unknown field is refused.
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "iotstack-strict-probe", "namespace": out.Namespace},
		"data":     map[string]any{"a": "b"}, "dataa": map[string]any{"a": "b"},
	}}
	err = eng.Client().Patch(ctx, bad, client.Apply, client.FieldOwner(apply.FieldManager))
	r.check(err != nil && strings.Contains(err.Error(), "dataa"), "an unknown field is refused by the API server (strict field validation): %v", err)

	if err := pruneCheck(ctx, eng, out, opts.Drop, r); err != nil {
		return nil, err
	}
	if err := pruneAfterReady(ctx, cfg, eng, out, r, log); err != nil {
		return nil, err
	}
	if err := lifecycle(ctx, cfg, cs, eng, profile, opts, out, r, log); err != nil {
		return nil, err
	}
	r.Total = time.Since(start)
	return r, nil
}

func waitNodesReady(ctx context.Context, cs kubernetes.Interface, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes ready after %s", ready, want, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func secretVersions(ctx context.Context, cs kubernetes.Interface, out *stack.Output) (map[string]string, error) {
	v := map[string]string{}
	for _, s := range out.Secrets {
		sec, err := cs.CoreV1().Secrets(out.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		v[s.Name] = sec.ResourceVersion
	}
	return v, nil
}

// workload is a Deployment or StatefulSet of the output with its pods.
type workload struct {
	kind, name, group string
	replicas          int32
	selector          *metav1.LabelSelector
	spread            bool // has a zone spread constraint
}

func workloads(out *stack.Output) []workload {
	var ws []workload
	for _, o := range out.Objects {
		switch w := o.Object.(type) {
		case *appsv1.Deployment:
			ws = append(ws, workload{"Deployment", w.Name, o.Component, ptrOr(w.Spec.Replicas), w.Spec.Selector, hasZoneSpread(w.Spec.Template.Spec)})
		case *appsv1.StatefulSet:
			ws = append(ws, workload{"StatefulSet", w.Name, o.Component, ptrOr(w.Spec.Replicas), w.Spec.Selector, hasZoneSpread(w.Spec.Template.Spec)})
		}
	}
	return ws
}

func ptrOr(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func hasZoneSpread(spec corev1.PodSpec) bool {
	for _, t := range spec.TopologySpreadConstraints {
		if t.TopologyKey == stack.ZoneLabel && t.WhenUnsatisfiable == corev1.DoNotSchedule {
			return true
		}
	}
	return false
}

func podsOf(ctx context.Context, cs kubernetes.Interface, ns string, sel *metav1.LabelSelector) ([]corev1.Pod, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// placement checks where the scheduler put every pod: every zone-spread
// workload with at least as many replicas as zones has a pod in every zone
// and a skew of at most one; every node's requests fit its allocatable.
func placement(ctx context.Context, cs kubernetes.Interface, out *stack.Output, r *Report) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	zoneOf := map[string]string{}
	for _, n := range nodes.Items {
		zoneOf[n.Name] = n.Labels[stack.ZoneLabel]
	}
	zones := out.Topology.Zones
	for _, w := range workloads(out) {
		pods, err := podsOf(ctx, cs, out.Namespace, w.selector)
		if err != nil {
			return err
		}
		per := map[string]int{}
		for _, p := range pods {
			per[zoneOf[p.Spec.NodeName]]++
		}
		var parts []string
		lo, hi := 1<<30, 0
		for _, z := range zones {
			parts = append(parts, fmt.Sprintf("%s=%d", z, per[z]))
			lo, hi = min(lo, per[z]), max(hi, per[z])
		}
		r.Placement = append(r.Placement, fmt.Sprintf("%-28s %s", w.name, strings.Join(parts, " ")))
		if w.spread && len(zones) > 1 {
			if int(w.replicas) >= len(zones) {
				r.check(lo >= 1 && hi-lo <= 1, "%s %s: a pod in every zone, skew ≤ 1 (%s)", w.kind, w.name, strings.Join(parts, " "))
			} else {
				r.check(hi <= 1, "%s %s: at most one pod per zone (%s)", w.kind, w.name, strings.Join(parts, " "))
			}
		}
	}
	// Requests fit the nodes.
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	detail, fits, pending := nodeUsage(nodes.Items, pods.Items)
	r.check(pending == 0, "every pod scheduled (%d pending)", pending)
	r.Placement = append(r.Placement, detail...)
	r.check(fits, "requests fit every node's allocatable")
	return nil
}

// nodeUsage is what mage sim measures on the nodes: one line per node,
// sorted, with the effective requests of the pods bound to it against its
// allocatable (stack.NodeRequests, stack.UsageLine: the totals package
// plan computes for the pods it places), whether every node's requests
// fit its allocatable, and how many pods are pending.
func nodeUsage(nodes []corev1.Node, pods []corev1.Pod) (lines []string, fits bool, pending int) {
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			pending++
		}
	}
	used := stack.NodeRequests(pods)
	fits = true
	for _, n := range nodes {
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			u := used[n.Name][res]
			alloc := n.Status.Allocatable[res]
			if u.Cmp(alloc) > 0 {
				fits = false
			}
		}
		lines = append(lines, stack.UsageLine(n.Name, used[n.Name], n.Status.Allocatable))
	}
	sort.Strings(lines)
	return lines, fits, pending
}

// drill is the ThingsBoard article's fault test: cordon and drain the first
// zone's nodes through the eviction API (which enforces the PDBs), check that
// every quorum service keeps a majority and every stateless one at least two
// ready pods, that evicting from a second zone is refused by the PDBs, then
// uncordon and wait for everything to be ready again.
// drill drains the first zone and checks what stays ready, that the PDBs
// block a second zone and that everything recovers; the extra outputs
// (the monitoring part) are checked alongside the stack.
func drill(ctx context.Context, cs kubernetes.Interface, eng *apply.Engine, out *stack.Output, r *Report, timeout time.Duration, log io.Writer, extra ...*stack.Output) error {
	outs := append([]*stack.Output{out}, extra...)
	topo := out.Topology
	if len(topo.Zones) < 2 {
		r.check(true, "single-zone topology: no zone-loss drill")
		return nil
	}
	zone, other := topo.Zones[0], topo.Zones[1]
	drainStart := time.Now()
	if _, err := DrainZone(ctx, cs, zone, min(timeout, 90*time.Second)); err != nil {
		r.check(false, "%v", err)
		return nil
	}
	r.Drain = time.Since(drainStart)
	fmt.Fprintf(log, "zone %s drained in %s\n", zone, r.Drain.Round(time.Millisecond))
	// Let the controllers recreate the evicted pods (they stay Pending)
	// and the ready counts settle.
	time.Sleep(3 * time.Second)

	groups := map[string][2]int32{} // component → ready, replicas (StatefulSets)
	for _, o := range outs {
		for _, w := range workloads(o) {
			var ready, replicas int32
			switch w.kind {
			case "Deployment":
				d, err := cs.AppsV1().Deployments(o.Namespace).Get(ctx, w.name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				ready, replicas = d.Status.ReadyReplicas, ptrOr(d.Spec.Replicas)
				switch {
				case replicas >= 3:
					r.check(ready >= 2, "zone %s down: Deployment %s keeps at least 2 ready (%d/%d)", zone, w.name, ready, replicas)
				case replicas == 2:
					r.check(ready >= 1, "zone %s down: Deployment %s keeps 1 ready (%d/%d)", zone, w.name, ready, replicas)
				}
			case "StatefulSet":
				s, err := cs.AppsV1().StatefulSets(o.Namespace).Get(ctx, w.name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				g := groups[w.group]
				groups[w.group] = [2]int32{g[0] + s.Status.ReadyReplicas, g[1] + ptrOr(s.Spec.Replicas)}
			}
		}
	}
	for _, name := range sortedGroupNames(groups) {
		g := groups[name]
		switch {
		case g[1] >= 3:
			r.check(g[0] >= g[1]/2+1, "zone %s down: %s keeps a majority (%d/%d ready)", zone, name, g[0], g[1])
		case g[1] == 2:
			r.check(g[0] >= 1, "zone %s down: %s keeps a replica ready (%d/%d)", zone, name, g[0], g[1])
		}
	}

	// A second zone: every pod whose PDB allows no more disruption must be
	// refused (dry-run evictions, nothing is removed).
	second, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: stack.ZoneLabel + "=" + other})
	if err != nil {
		return err
	}
	var pdbs policyv1.PodDisruptionBudgetList
	for _, o := range outs {
		l, err := cs.PolicyV1().PodDisruptionBudgets(o.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		pdbs.Items = append(pdbs.Items, l.Items...)
	}
	refused, allowedWrongly := 0, []string{}
	for _, n := range second.Items {
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.Name})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			exhausted := false
			for _, pdb := range pdbs.Items {
				if pdb.Namespace == p.Namespace && selects(pdb, p) && pdb.Status.DisruptionsAllowed == 0 {
					exhausted = true
				}
			}
			if !exhausted {
				continue
			}
			err := evict(ctx, cs, p, true)
			switch {
			case apierrors.IsTooManyRequests(err):
				refused++
			default:
				allowedWrongly = append(allowedWrongly, p.Name)
			}
		}
	}
	r.check(refused > 0 && len(allowedWrongly) == 0, "draining zone %s as well is blocked by the PDBs (%d evictions refused; allowed: %s)", other, refused, strings.Join(allowedWrongly, ", "))

	recoverStart := time.Now()
	if err := RestoreZone(ctx, cs, eng, zone, outs...); err != nil {
		r.check(false, "recovery after uncordon: %v", err)
		return nil
	}
	r.Recovery = time.Since(recoverStart)
	r.check(true, "after uncordon every object is ready again")
	return nil
}

func sortedGroupNames(m map[string][2]int32) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func selects(pdb policyv1.PodDisruptionBudget, p corev1.Pod) bool {
	if pdb.Spec.Selector == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(p.Labels))
}

func isDaemon(p corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}

func setUnschedulable(ctx context.Context, cs kubernetes.Interface, node string, on bool) error {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	_, err := cs.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

func evict(ctx context.Context, cs kubernetes.Interface, p corev1.Pod, dryRun bool) error {
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
	if dryRun {
		ev.DeleteOptions = &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	}
	return cs.CoreV1().Pods(p.Namespace).EvictV1(ctx, ev)
}

// pruneCheck drops one component from the output and applies: the prune
// must delete exactly that component's objects.
func pruneCheck(ctx context.Context, eng *apply.Engine, out *stack.Output, drop string, r *Report) error {
	if drop == "" {
		for _, w := range workloads(out) {
			if w.kind == "Deployment" {
				drop = w.group
			}
		}
	}
	reduced := *out
	reduced.Objects = nil
	want := map[string]bool{}
	for _, o := range out.Objects {
		if o.Component == drop {
			subject := o.Ref.Kind + "/" + o.Ref.Name
			if o.Ref.Namespace != "" {
				subject = o.Ref.Kind + "/" + o.Ref.Namespace + "/" + o.Ref.Name
			}
			want[subject] = true
			continue
		}
		reduced.Objects = append(reduced.Objects, o)
	}
	reduced.Secrets = nil
	for _, s := range out.Secrets {
		if s.Owner != drop {
			reduced.Secrets = append(reduced.Secrets, s)
		}
	}
	res, err := eng.Apply(ctx, &reduced)
	if err != nil {
		r.check(false, "apply without %s: %v", drop, err)
		return nil
	}
	var deleted, unexpected []string
	for _, c := range res.Changes {
		switch {
		case c.Action == ssa.DeletedAction && want[c.Subject]:
			deleted = append(deleted, c.Subject)
		case c.Action != ssa.UnchangedAction:
			unexpected = append(unexpected, c.Subject+" "+string(c.Action))
		}
	}
	sort.Strings(deleted)
	r.check(len(deleted) == len(want) && len(unexpected) == 0,
		"dropping component %s prunes exactly its %d objects (deleted %d: %s; other changes: %s)", drop, len(want), len(deleted), strings.Join(deleted, ", "), strings.Join(unexpected, ", "))
	return nil
}

// renderDir renders the values into a temporary directory as `iotstack
// synth` does (with its record); cleanup removes it.
func renderDir(p profiles.Profile, v profiles.Values) (target string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "iotstack-sim-")
	if err != nil {
		return "", nil, err
	}
	target = filepath.Join(dir, p.Name)
	if _, err := profiles.WriteDirs(profiles.DirJob{Dir: target, Profile: p, Values: v}); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return target, func() { os.RemoveAll(dir) }, nil
}

// cliDiff renders the values into a directory (with its record) and runs
// `iotstack diff DIR` against the simulated cluster: the CLI re-renders
// from the recorded values and must find nothing to change.
func cliDiff(p profiles.Profile, v profiles.Values, kubeconfig string, r *Report) error {
	target, cleanup, err := renderDir(p, v)
	if err != nil {
		return err
	}
	defer cleanup()
	var buf bytes.Buffer
	cmd := cli.Command(&buf, &buf)
	cmd.SetArgs([]string{"diff", target, "--kubeconfig", kubeconfig})
	err = cmd.Execute()
	r.check(err == nil && strings.Contains(buf.String(), "no changes"), "iotstack diff on the directory rendered from the same values finds no change (err: %v; %s)", err, lastLine(buf.String()))
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
