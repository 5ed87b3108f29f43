package plan

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/stack"
)

// A pod's requests are what the scheduler counts (stack.PodRequests): an
// init container larger than the app containers, a sidecar on top of
// them; limits the same way, and a container without a limit is named.
// The node totals are stack.NodeRequests of the bound pods.
func TestEffectiveRequestsAndLimits(t *testing.T) {
	res := func(cpu, mem string, limits bool) corev1.ResourceRequirements {
		l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
		r := corev1.ResourceRequirements{Requests: l}
		if limits {
			r.Limits = l
		}
		return r
	}
	labels := map[string]string{"app.kubernetes.io/name": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(2)),
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{
				{Name: "migrate", Resources: res("1", "1Gi", true)},
				{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Resources: res("100m", "64Mi", true)},
			},
			Containers: []corev1.Container{{Name: "app", Resources: res("200m", "256Mi", false)}},
		}},
	}}
	topo := stack.Topology{Zones: []string{"z"}, Pools: []stack.NodePool{{Name: "p", CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"), NodesPerZone: 2}}}
	out := &stack.Output{Namespace: "ns", Topology: topo, Objects: []stack.Rendered{{Component: "web", GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Ref: stack.ObjectRef{Group: "apps", Kind: "Deployment", Namespace: "ns", Name: "web"}, Object: d}}}
	ws, pods, _ := expand(MainPart, out, topo)
	if len(ws) != 1 || len(pods) != 2 {
		t.Fatalf("%d workloads, %d pods; want 1 and 2", len(ws), len(pods))
	}
	// Requests: max(1 CPU init, 100m sidecar + 200m app) = 1; memory
	// max(1Gi, 64Mi + 256Mi) = 1Gi. Limits: the app has none.
	w := ws[0]
	if w.Requests != (Amount{1000, 1 << 30}) {
		t.Errorf("requests %s/%s; want 1/1Gi", w.Requests.CPU(), w.Requests.Memory())
	}
	if w.Limits != (Amount{1000, 1 << 30}) || len(w.Unlimited) != 2 {
		t.Errorf("limits %s/%s, unlimited %v; want 1/1Gi, cpu and memory unlimited", w.Limits.CPU(), w.Limits.Memory(), w.Unlimited)
	}
	s := newScheduler(topo)
	for _, p := range pods {
		if h, why := s.place(p); h == nil {
			t.Fatalf("%s not placed: %s", p.name, why)
		}
	}
	// Two replicas, two nodes: the spreading puts one on each.
	nodes := s.report()
	used := stack.NodeRequests(boundPods(s))
	for _, n := range nodes {
		u := used[n.Name]
		if len(n.Pods) != 1 || n.Requests != (Amount{u.Cpu().MilliValue(), u.Memory().Value()}) || n.Requests != w.Requests {
			t.Errorf("node %s: pods %v, requests %+v, NodeRequests %v; want one pod of 1 CPU, 1Gi", n.Name, n.Pods, n.Requests, u)
		}
	}
}
