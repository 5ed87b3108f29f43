package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/cli"
	"github.com/iotstack/iotstack/plan"
	"github.com/iotstack/iotstack/preflight"
	"github.com/iotstack/iotstack/profiles"
)

// gapTaint is the taint the gap run puts on a node of a pool without
// labels (small's): its workloads do not tolerate it, so the node leaves
// the pool.
var gapTaint = corev1.Taint{Key: "iotstack.io/preflight-gap", Value: "sim", Effect: corev1.TaintEffectNoSchedule}

// lbcSim is the stand-in for the AWS Load Balancer Controller's Deployment
// (the evidence preflight looks for); it is removed after the checks.
const lbcSim = "aws-load-balancer-controller"

// simPreflight runs preflight against the simulated cluster once its
// nodes exist, twice: first with gaps (one node without its pool label,
// or tainted away from an unlabelled pool; none of the CSIDriver, the
// IngressClasses, the StorageClasses the stack does not render, the AWS
// Load Balancer Controller's CRD and Deployment): each gap must be
// reported, and nothing else; then with the gaps closed, through the CLI
// on the directory rendered from the same values: exit code 0 and no
// failed check. What it creates for that stays (the Deployment goes).
func simPreflight(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, p profiles.Profile, v profiles.Values, b *profiles.Built, kubeconfig string, r *Report, log io.Writer) error {
	e, err := preflight.Expectations(p.Name, b, v)
	if err != nil {
		return err
	}
	if err := waitConditionTaints(ctx, cs); err != nil {
		return err
	}
	topo := e.Topology
	if len(topo.Hosts()) == 0 {
		return fmt.Errorf("preflight: no node in the topology")
	}
	host := topo.Hosts()[0]
	pool := host.Pool
	gaps := map[string]bool{}
	subject := "pool " + pool.Name
	if topo.MultiZone() {
		subject += ", zone " + host.Zone
	}
	gaps["nodes|"+subject] = true
	for _, n := range e.Plan.Nodes {
		if n.Pool == pool.Name && n.Zone == host.Zone && len(n.Pods) > 0 {
			gaps["capacity|"+subject] = true // no node left there for the plan's pods
		}
	}
	var undo string
	if len(pool.Labels) > 0 {
		key := sortedLabelKeys(pool.Labels)[0]
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null}}}`, key)
		undo = fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, key, pool.Labels[key])
		if _, err := cs.CoreV1().Nodes().Patch(ctx, host.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return err
		}
	} else {
		n, err := cs.CoreV1().Nodes().Get(ctx, host.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = append(n.Spec.Taints, gapTaint)
		if _, err := cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	rendered := map[string]storagev1.StorageClass{}
	for _, sc := range e.StorageClasses {
		rendered[sc.Name] = sc
		if sc.Provisioner == preflight.EBSCSIDriver {
			gaps["storage|StorageClass "+sc.Name] = true
		}
	}
	for _, c := range e.ClaimClasses {
		if _, ok := rendered[c]; !ok {
			gaps["storage|"+classSubject("StorageClass", c)] = true
		}
	}
	for _, c := range e.IngressClasses {
		gaps["ingress|"+classSubject("IngressClass", c)] = true
	}
	if len(e.AWSLoadBalancer) > 0 {
		gaps["aws-load-balancer-controller|CRD ingressclassparams.elbv2.k8s.aws"] = true
		gaps["aws-load-balancer-controller|Deployment app.kubernetes.io/name="+lbcSim] = true
	}
	res, err := preflight.Run(ctx, cfg, e)
	if err != nil {
		return err
	}
	fmt.Fprintln(log, "preflight on the cluster with gaps:")
	if err := res.Write(log, "table"); err != nil {
		return err
	}
	var missed, extra []string
	failed := map[string]bool{}
	for _, c := range res.Failed() {
		key := c.Name + "|" + c.Subject
		if c.Name == "nodes" && strings.HasPrefix(c.Subject, "node ") {
			continue // the tainted node itself, when it stays in its labelled pool
		}
		failed[key] = true
		if !gaps[key] {
			extra = append(extra, key+": "+c.Detail)
		}
		if c.Fix == "" {
			extra = append(extra, key+": no fix given")
		}
	}
	for _, k := range sortedBoolKeys(gaps) {
		if !failed[k] {
			missed = append(missed, k)
		}
	}
	r.check(len(missed) == 0 && len(extra) == 0, "preflight on a cluster with %d gaps reports each with a fix and nothing else (missed: %s; unexpected: %s)",
		len(gaps), strings.Join(missed, ", "), strings.Join(extra, "; "))

	// Close the gaps.
	if undo != "" {
		if _, err := cs.CoreV1().Nodes().Patch(ctx, host.Name, types.StrategicMergePatchType, []byte(undo), metav1.PatchOptions{}); err != nil {
			return err
		}
	} else {
		n, err := cs.CoreV1().Nodes().Get(ctx, host.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == gapTaint.Key })
		if _, err := cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	if err := provideClusterParts(ctx, cfg, cs, e); err != nil {
		return err
	}
	return cliPreflight(p, v, kubeconfig, r, log)
}

// preflightApplied runs preflight once every planned part is applied:
// it still passes (the stack's own pods do not count against the free
// capacity), and the Pod Security check now refuses a dry-run privileged
// pod in each existing namespace. Then the stand-in Deployment of the
// AWS Load Balancer Controller goes.
func preflightApplied(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, p profiles.Profile, v profiles.Values, b *profiles.Built, r *Report) error {
	e, err := preflight.Expectations(p.Name, b, v)
	if err != nil {
		return err
	}
	res, err := preflight.Run(ctx, cfg, e)
	if err != nil {
		return err
	}
	var failed, enforced []string
	probed := 0
	for _, c := range res.Checks {
		if c.Name == "pod-security" && strings.HasPrefix(c.Subject, "namespace ") {
			probed++
		}
		if c.Status == preflight.Fail {
			failed = append(failed, c.Name+" "+c.Subject+": "+c.Detail)
		}
		if c.Name == "pod-security" && c.Status == preflight.Pass && strings.Contains(c.Detail, "privileged pod is refused") {
			enforced = append(enforced, c.Subject)
		}
	}
	r.check(len(failed) == 0 && probed > 0 && len(enforced) == probed, "preflight after the apply: %s; dry-run privileged pods refused in %s (failed: %s)", res.Summary(), strings.Join(enforced, ", "), strings.Join(failed, "; "))
	if len(e.AWSLoadBalancer) > 0 {
		if err := cs.AppsV1().Deployments("kube-system").Delete(ctx, lbcSim, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// provideClusterParts creates what the gap run left out: the CSIDriver of
// the rendered EBS class, the StorageClasses and IngressClasses the stack
// uses but does not render, and the AWS Load Balancer Controller's CRD and
// a Deployment labelled as its (nothing runs in the simulated pods), which
// it waits to be available.
func provideClusterParts(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, e *preflight.Expect) error {
	create := func(err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	rendered := map[string]bool{}
	for _, sc := range e.StorageClasses {
		rendered[sc.Name] = true
		if sc.Provisioner == preflight.EBSCSIDriver {
			d := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: preflight.EBSCSIDriver}, Spec: storagev1.CSIDriverSpec{AttachRequired: ptr.To(true)}}
			if _, err := cs.StorageV1().CSIDrivers().Create(ctx, d, metav1.CreateOptions{}); create(err) != nil {
				return err
			}
		}
	}
	for _, c := range e.ClaimClasses {
		if rendered[c] {
			continue
		}
		sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: c}, Provisioner: "kubernetes.io/no-provisioner",
			VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
		if c == "" {
			sc.Name, sc.Annotations = "sim-default", map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
		}
		if _, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
	}
	for _, c := range e.IngressClasses {
		ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: c}, Spec: networkingv1.IngressClassSpec{Controller: "iotstack.io/sim"}}
		if c == "alb" {
			ic.Spec.Controller = preflight.ALBController
		}
		if c == "" {
			ic.Name, ic.Annotations = "sim-default", map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}
		}
		if _, err := cs.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{}); create(err) != nil {
			return err
		}
	}
	if len(e.AWSLoadBalancer) == 0 {
		return nil
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "ingressclassparams.elbv2.k8s.aws"},
		"spec": map[string]any{
			"group": "elbv2.k8s.aws", "scope": "Cluster",
			"names": map[string]any{"kind": "IngressClassParams", "plural": "ingressclassparams", "singular": "ingressclassparams", "listKind": "IngressClassParamsList"},
			"versions": []any{map[string]any{"name": "v1beta1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(gvr).Create(ctx, crd, metav1.CreateOptions{}); create(err) != nil {
		return err
	}
	labels := map[string]string{"app.kubernetes.io/name": lbcSim, "app.kubernetes.io/instance": lbcSim}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: lbcSim, Namespace: "kube-system", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "controller", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("kube-system").Create(ctx, dep, metav1.CreateOptions{}); create(err) != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := cs.AppsV1().Deployments("kube-system").Get(ctx, lbcSim, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("preflight: the stand-in Deployment %s is not available after 2m", lbcSim)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The API serves the new CRD's group a moment after it is created.
	for {
		if _, err := cs.Discovery().ServerResourcesForGroupVersion("elbv2.k8s.aws/v1beta1"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("preflight: elbv2.k8s.aws/v1beta1 not served after 2m")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// cliPreflight renders the values into a directory and runs `iotstack
// preflight DIR -o json` against the simulated cluster: exit code 0 and
// no failed check.
func cliPreflight(p profiles.Profile, v profiles.Values, kubeconfig string, r *Report, log io.Writer) error {
	target, cleanup, err := renderDir(p, v)
	if err != nil {
		return err
	}
	defer cleanup()
	var out, errb bytes.Buffer
	cmd := cli.Command(&out, &errb)
	cmd.SetArgs([]string{"preflight", target, "--kubeconfig", kubeconfig, "-o", "json"})
	err = cmd.Execute()
	if errors.Is(err, context.Canceled) {
		return err
	}
	var res preflight.Result
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
		r.check(false, "iotstack preflight -o json prints JSON: %v (%s%s)", jerr, out.String(), errb.String())
		return nil
	}
	var failed []string
	for _, c := range res.Failed() {
		failed = append(failed, c.Name+" "+c.Subject+": "+c.Detail)
	}
	fmt.Fprintf(log, "preflight on the complete cluster: %s\n", res.Summary())
	r.check(err == nil && len(failed) == 0 && res.Count(preflight.Pass) > 0, "iotstack preflight on the cluster with every gap closed exits 0: %s (err: %v; failed: %s)", res.Summary(), err, strings.Join(failed, "; "))
	return nil
}

// waitConditionTaints waits until the node controller has lifted the
// node.kubernetes.io/not-ready taint it puts on new nodes: preflight does
// not count a node that still carries it.
func waitConditionTaints(ctx context.Context, cs kubernetes.Interface) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		tainted := 0
		for _, n := range nodes.Items {
			for _, t := range n.Spec.Taints {
				if strings.HasPrefix(t.Key, "node.kubernetes.io/") {
					tainted++
				}
			}
		}
		if tainted == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("preflight: %d node condition taints still set after 2m", tainted)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func classSubject(kind, name string) string {
	if name == "" {
		return "the default " + kind
	}
	return kind + " " + name
}

func sortedLabelKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedBoolKeys(m map[string]bool) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// planCheck compares the cluster with the plan of the same values
// (planMismatches) once every planned part is applied.
func planCheck(ctx context.Context, cs kubernetes.Interface, profile string, b *profiles.Built, v profiles.Values, r *Report) error {
	pl, err := plan.Compute(profile, b, v)
	if err != nil {
		return err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	mm := planMismatches(pl, nodes.Items, pods.Items)
	how := "per pool, and per node for the forced workloads"
	if pl.Forced() {
		how = "per node"
	}
	r.check(len(mm) == 0, "the plan's totals (iotstack plan) are what the cluster measures, %s (%d nodes; differences: %s)", how, len(pl.Nodes), strings.Join(mm, "; "))
	return nil
}
