package sim

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/plan"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/values"
)

// TestPlanTotalsAreTheSimsMeasure: the per-node lines mage sim prints
// (nodeUsage on the fake nodes and the bound pods) equal the plan's totals
// (plan.UsageLines) when the pods are bound where the plan puts them: the
// same computation on the same objects, without a cluster. Every profile
// with its defaults, and minimal-3az with envs/us-east-1.yaml (two nodes
// per zone).
func TestPlanTotalsAreTheSimsMeasure(t *testing.T) {
	env, err := values.ReadFile(filepath.Join("..", "envs", "us-east-1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type run struct {
		profile string
		docs    []values.Doc
	}
	runs := []run{{profile: "minimal-3az", docs: []values.Doc{env}}}
	for _, n := range profiles.Names() {
		runs = append(runs, run{profile: n})
	}
	for _, r := range runs {
		p, err := profiles.Get(r.profile)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Load(r.docs, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := plan.Compute(r.profile, b, v)
		if err != nil {
			t.Fatal(err)
		}
		out, err := b.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		var nodes []corev1.Node
		for _, n := range Nodes(out.Topology) {
			nodes = append(nodes, *n)
		}
		lines, fits, pending := nodeUsage(nodes, pl.BoundPods())
		if !reflect.DeepEqual(lines, pl.UsageLines()) {
			t.Errorf("%s %v: sim measures\n%s\nplan says\n%s", r.profile, len(r.docs), strings.Join(lines, "\n"), strings.Join(pl.UsageLines(), "\n"))
		}
		if !fits || pending != 0 {
			t.Errorf("%s: fits %v, %d pending; want every planned pod bound and fitting", r.profile, fits, pending)
		}
	}
}

// TestNodeUsageCountsInitContainers: the sim counts a pod's effective
// requests as the scheduler does (stack.PodRequests): an init container
// that requests more than the app containers sets the pod's requests;
// finished pods count nothing; an unbound pod is pending.
func TestNodeUsageCountsInitContainers(t *testing.T) {
	req := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	node := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}
	pods := []corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "migrate"}, Spec: corev1.PodSpec{NodeName: "n1",
			InitContainers: []corev1.Container{{Name: "init", Resources: req("800m", "768Mi")}},
			Containers:     []corev1.Container{{Name: "app", Resources: req("100m", "128Mi")}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "sidecar"}, Spec: corev1.PodSpec{NodeName: "n1",
			InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Resources: req("100m", "128Mi")}},
			Containers:     []corev1.Container{{Name: "app", Resources: req("100m", "128Mi")}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "done"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "job", Resources: req("1", "1Gi")}}},
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
		{ObjectMeta: metav1.ObjectMeta{Name: "waiting"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: req("1", "1Gi")}}}},
	}
	lines, fits, pending := nodeUsage([]corev1.Node{node}, pods)
	// 800m + 200m and 768Mi + 256Mi: the init container's requests, then
	// the sidecar's with its app; summing the app containers alone (the
	// sim before) says 200m and 256Mi.
	if want := []string{"n1 cpu 1/1 mem 1Gi/1Gi"}; !reflect.DeepEqual(lines, want) || !fits || pending != 1 {
		t.Errorf("nodeUsage: %v fits %v pending %d; want %v, fits, 1 pending", lines, fits, pending, want)
	}
	pods[0].Spec.InitContainers[0].Resources = req("900m", "768Mi")
	if _, fits, _ := nodeUsage([]corev1.Node{node}, pods); fits {
		t.Errorf("nodeUsage: 1100m on a 1-CPU node fits")
	}
}

// TestPlanMismatches: the plan's own pods match it; moving a pod of a
// forced workload to another node is reported, moving one of a workload
// the scheduler may place anywhere in its pool is not, and a pod bound to
// another pool is.
func TestPlanMismatches(t *testing.T) {
	p, err := profiles.Get("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	v := p.Defaults()
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Compute("minimal-3az", b, v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.Stack.Synth()
	if err != nil {
		t.Fatal(err)
	}
	var nodes []corev1.Node
	for _, n := range Nodes(out.Topology) {
		nodes = append(nodes, *n)
	}
	pods := pl.BoundPods()
	// A pod of another stack is not the plan's business.
	pods = append(pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "elsewhere", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{NodeName: "thingsboard-eu-west-1a-0", Containers: []corev1.Container{{Name: "x"}}}})
	if m := planMismatches(pl, nodes, pods); len(m) != 0 {
		t.Fatalf("the plan's own pods: %v", m)
	}
	find := func(workload string) int {
		for i, pod := range pods {
			if w, ok := pl.WorkloadOf(pod.Namespace, pod.Labels); ok && w.Name == workload {
				return i
			}
		}
		t.Fatalf("no pod of %s", workload)
		return -1
	}
	other := func(node string) string {
		if node == "thingsboard-eu-west-1a-0" {
			return "thingsboard-eu-west-1b-0"
		}
		return "thingsboard-eu-west-1a-0"
	}
	moved := append([]corev1.Pod(nil), pods...)
	i := find("kafka-exporter")
	moved[i].Spec.NodeName = other(moved[i].Spec.NodeName)
	if m := planMismatches(pl, nodes, moved); len(m) != 0 {
		t.Errorf("kafka-exporter on another node of its pool (the scheduler's choice): %v", m)
	}
	i = find("tb-core")
	moved[i].Spec.NodeName = other(moved[i].Spec.NodeName)
	if m := planMismatches(pl, nodes, moved); len(m) != 2 || !strings.HasPrefix(m[0], "node thingsboard-eu-west-1") {
		t.Errorf("tb-core moved: %v; want the two nodes' forced totals reported", m)
	}
	moved = append([]corev1.Pod(nil), pods...)
	i = find("kube-state-metrics")
	moved[i].Spec.NodeName = "client-eu-west-1a-0"
	if m := planMismatches(pl, nodes, moved); len(m) != 2 || !strings.HasPrefix(m[0], "pool client:") {
		t.Errorf("kube-state-metrics on the client pool: %v; want both pools' totals reported", m)
	}
}
