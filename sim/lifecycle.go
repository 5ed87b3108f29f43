package sim

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// dataState is what delete must keep of a stack: its claims (by UID), the
// volumes bound to them and its declared Secrets (by resourceVersion).
type dataState struct {
	claims  map[string]string // name → UID
	volumes map[string]string // PV name → claim name
	secrets map[string]string // name → resourceVersion
}

func readData(ctx context.Context, cs kubernetes.Interface, out *stack.Output) (dataState, error) {
	d := dataState{claims: map[string]string{}, volumes: map[string]string{}, secrets: map[string]string{}}
	claims, err := cs.CoreV1().PersistentVolumeClaims(out.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return d, err
	}
	for _, c := range claims.Items {
		if c.DeletionTimestamp != nil {
			continue
		}
		d.claims[c.Name] = string(c.UID)
		if c.Spec.VolumeName != "" {
			d.volumes[c.Spec.VolumeName] = c.Name
		}
	}
	for _, s := range out.Secrets {
		sec, err := cs.CoreV1().Secrets(out.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			return d, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		d.secrets[s.Name] = sec.ResourceVersion
	}
	return d, nil
}

// compare lists what of before is gone or changed in after.
func (before dataState) compare(ctx context.Context, cs kubernetes.Interface, after dataState) []string {
	var lost []string
	for name, uid := range before.claims {
		if after.claims[name] != uid {
			lost = append(lost, "claim "+name)
		}
	}
	for pv, claim := range before.volumes {
		v, err := cs.CoreV1().PersistentVolumes().Get(ctx, pv, metav1.GetOptions{})
		if err != nil || v.DeletionTimestamp != nil || v.Spec.ClaimRef == nil || v.Spec.ClaimRef.Name != claim {
			lost = append(lost, "volume "+pv+" of claim "+claim)
		}
	}
	for name, rv := range before.secrets {
		if after.secrets[name] != rv {
			lost = append(lost, "secret "+name+" (changed or gone)")
		}
	}
	sort.Strings(lost)
	return lost
}

// lifecycle is the safe-operation drill: delete returns promptly and keeps
// the data (claims, their volumes, data Secrets, their namespace); a
// re-apply is ready again on the same claims with no Secret rotated; a
// second stack of the same profile in another namespace shares the
// cluster-scoped objects without touching the first, a stack that would
// change a shared object is refused, and deleting the second stack leaves
// the first as it was.
func lifecycle(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, eng *apply.Engine, profile string, opts Options, out *stack.Output, r *Report, log io.Writer) error {
	before, err := readData(ctx, cs, out)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := eng.Delete(ctx, out)
	took := time.Since(start)
	if err != nil {
		r.check(false, "delete: %v", err)
		return nil
	}
	r.check(true, "delete returned once its objects were gone (%s; %d deleted or released, %d kept)", took.Round(100*time.Millisecond), len(res.Changes), len(res.Kept))
	ns, err := cs.CoreV1().Namespaces().Get(ctx, out.Namespace, metav1.GetOptions{})
	r.check(err == nil && ns.DeletionTimestamp == nil, "delete keeps namespace %s, which holds the data", out.Namespace)
	afterDelete, err := readData(ctx, cs, out)
	if err != nil {
		r.check(false, "after delete: %v", err)
		return nil
	}
	lost := before.compare(ctx, cs, afterDelete)
	r.check(len(lost) == 0 && len(before.claims) > 0, "delete keeps the %d claims, the %d volumes bound to them and the %d data Secrets (lost: %s)",
		len(before.claims), len(before.volumes), len(before.secrets), strings.Join(lost, ", "))
	left, err := workloadsLeft(ctx, cs, out.Namespace)
	if err != nil {
		return err
	}
	r.check(len(left) == 0, "delete removes every workload (left: %s)", strings.Join(left, ", "))

	res, err = eng.Apply(ctx, out)
	if err != nil {
		r.check(false, "re-apply after delete: %v", err)
		return nil
	}
	afterApply, err := readData(ctx, cs, out)
	if err != nil {
		return err
	}
	lost = before.compare(ctx, cs, afterApply)
	r.check(len(lost) == 0, "re-apply after delete is ready in %s on the same claims with no Secret rotated (lost or changed: %s)", res.Ready.Round(100*time.Millisecond), strings.Join(lost, ", "))

	if err := twoStacks(ctx, cfg, cs, eng, profile, opts, out, r, log); err != nil {
		return err
	}
	if err := otherManager(ctx, cs, eng, out, r); err != nil {
		return err
	}
	return newSecretKey(ctx, cs, eng, out, r)
}

// otherManager scales a Deployment the way `kubectl scale` does (the scale
// subresource, field manager "kubectl"): diff must name the conflict on
// spec.replicas and its manager, and apply must take the field back.
func otherManager(ctx context.Context, cs kubernetes.Interface, eng *apply.Engine, out *stack.Output, r *Report) error {
	var name string
	var want int32
	for _, w := range workloads(out) {
		if w.kind == "Deployment" {
			name, want = w.name, w.replicas
			break
		}
	}
	if name == "" {
		return nil
	}
	scale, err := cs.AppsV1().Deployments(out.Namespace).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	scale.Spec.Replicas = want + 1
	if _, err := cs.AppsV1().Deployments(out.Namespace).UpdateScale(ctx, name, scale, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		return err
	}
	changes, err := eng.Diff(ctx, out)
	var found []string
	for _, c := range changes {
		if c.Subject == "Deployment/"+out.Namespace+"/"+name {
			found = append(found, c.Conflicts...)
		}
	}
	named := len(found) == 1 && strings.Contains(found[0], "spec.replicas") && strings.Contains(found[0], "kubectl")
	r.check(err == nil && named, "diff reports the conflict with another field manager after kubectl scale of %s (conflicts: %s; err: %v)", name, strings.Join(found, ", "), err)
	if _, err := eng.Apply(ctx, out); err != nil {
		r.check(false, "apply after kubectl scale: %v", err)
		return nil
	}
	d, err := cs.AppsV1().Deployments(out.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	r.check(d.Spec.Replicas != nil && *d.Spec.Replicas == want, "apply takes spec.replicas of %s back from kubectl (%d)", name, want)
	return nil
}

// newSecretKey declares one more key on the first declared Secret (a
// component that gained a password): diff announces it, apply adds it
// and leaves every existing value as it was.
func newSecretKey(ctx context.Context, cs kubernetes.Interface, eng *apply.Engine, out *stack.Output, r *Report) error {
	if len(out.Secrets) == 0 {
		return nil
	}
	grown := *out
	grown.Secrets = append([]stack.SecretSpec(nil), out.Secrets...)
	spec := grown.Secrets[0]
	spec.Keys = append(append([]stack.SecretKey(nil), spec.Keys...), stack.SecretKey{Key: "sim-added", Kind: stack.RandomPassword})
	grown.Secrets[0] = spec
	before, err := cs.CoreV1().Secrets(out.Namespace).Get(ctx, spec.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	changes, err := eng.Diff(ctx, &grown)
	announced := false
	for _, c := range changes {
		if c.Subject == "Secret/"+out.Namespace+"/"+spec.Name && strings.Contains(c.Detail, "sim-added") {
			announced = true
		}
	}
	r.check(err == nil && announced, "diff announces the key a declared Secret gains (err: %v)", err)
	if _, err := eng.Apply(ctx, &grown); err != nil {
		r.check(false, "apply with a new Secret key: %v", err)
		return nil
	}
	after, err := cs.CoreV1().Secrets(out.Namespace).Get(ctx, spec.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	same := len(after.Data) == len(before.Data)+1 && len(after.Data["sim-added"]) == 32
	for k, v := range before.Data {
		if string(after.Data[k]) != string(v) {
			same = false
		}
	}
	r.check(same, "apply adds the new key to Secret %s and keeps its %d existing values", spec.Name, len(before.Data))
	return nil
}

// workloadsLeft lists the Deployments, StatefulSets and Jobs in ns.
func workloadsLeft(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
	var left []string
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		left = append(left, "Deployment/"+d.Name)
	}
	sets, err := cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range sets.Items {
		left = append(left, "StatefulSet/"+s.Name)
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, j := range jobs.Items {
		left = append(left, "Job/"+j.Name)
	}
	return left, nil
}

// twoStacks applies a second stack of the profile in namespace
// <namespace>-b (without waiting: the simulated nodes are sized for one),
// checks that the first is untouched, that a stack changing a shared
// object is refused naming both stacks, and deletes the second.
func twoStacks(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, eng *apply.Engine, profile string, opts Options, out *stack.Output, r *Report, log io.Writer) error {
	timeout := opts.Timeout
	p, err := profiles.Get(profile)
	if err != nil {
		return err
	}
	v, err := p.Load(opts.Values, append(append([]string(nil), opts.Sets...), "namespace="+out.Namespace+"-b"))
	if err != nil {
		return err
	}
	secondValues(v)
	b, err := p.BuildValues(v)
	if err != nil {
		return err
	}
	second, err := b.Stack.Synth()
	if err != nil {
		return err
	}
	shared := sharedObjects(out, second)
	// The second stack is deleted with PruneData: all of its data goes,
	// none of the first stack's.
	engB, err := apply.New(cfg, apply.Options{Timeout: timeout, Interval: time.Second, NoWait: true, PruneData: true, Out: log})
	if err != nil {
		return err
	}
	versions, err := namespacedVersions(ctx, eng, out)
	if err != nil {
		return err
	}
	if _, err := provideUserSecrets(ctx, cs, second); err != nil {
		return err
	}
	if _, err := engB.Apply(ctx, second); err != nil {
		r.check(false, "second stack %s/%s: apply: %v", second.Namespace, second.Stack, err)
		return nil
	}
	untouched := func(when string) {
		now, err := namespacedVersions(ctx, eng, out)
		var changed []string
		if err != nil {
			changed = append(changed, err.Error())
		}
		for k, v := range versions {
			if now[k] != v {
				changed = append(changed, k)
			}
		}
		sort.Strings(changed)
		changes, err := eng.Diff(ctx, out)
		if err != nil {
			changed = append(changed, "diff: "+err.Error())
		}
		for _, c := range changes {
			changed = append(changed, c.Subject+" "+string(c.Action))
		}
		r.check(len(changed) == 0, "%s: the first stack is untouched and its diff is empty (changed: %s)", when, strings.Join(changed, ", "))
	}
	untouched(fmt.Sprintf("second stack %s applied beside it, sharing %s", second.Namespace, strings.Join(shared, ", ")))

	// A third stack that would change a shared object is refused before it
	// writes anything, naming both stacks.
	if len(shared) > 0 {
		third, changedObj, err := conflicting(out, second.Namespace+"-c")
		if err != nil {
			return err
		}
		engC, err := apply.New(cfg, apply.Options{Timeout: timeout, Interval: time.Second, NoWait: true, Out: log})
		if err != nil {
			return err
		}
		_, err = engC.Apply(ctx, third)
		msg := fmt.Sprint(err)
		refused := err != nil && strings.Contains(msg, "refused") && strings.Contains(msg, out.Namespace+"/"+out.Stack) && strings.Contains(msg, third.Namespace+"/"+third.Stack)
		kind, name, _ := strings.Cut(changedObj, "/")
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersionOf(out, kind, name))
		u.SetKind(kind)
		getErr := eng.Client().Get(ctx, client.ObjectKey{Name: name}, u)
		_, taken := u.GetLabels()[apply.OwnerLabel(third.Namespace, third.Stack)]
		r.check(refused && getErr == nil && !taken && u.GetLabels()[stack.LabelPartOf] != "another-platform", "a stack changing the shared %s is refused naming both stacks, and writes nothing: %s", changedObj, firstLine(msg))
	}

	// A PersistentVolume is never shared, even rendered identically: a
	// stack rendering the first stack's volume is refused.
	for _, o := range out.Objects {
		if o.Ref.Kind != "PersistentVolume" {
			continue
		}
		thief := &stack.Output{Stack: out.Stack, Namespace: second.Namespace + "-d", Objects: []stack.Rendered{o}, Topology: out.Topology}
		engD, err := apply.New(cfg, apply.Options{Timeout: timeout, Interval: time.Second, NoWait: true, Out: log})
		if err != nil {
			return err
		}
		_, err = engD.Apply(ctx, thief)
		msg := fmt.Sprint(err)
		r.check(err != nil && strings.Contains(msg, "never shared") && strings.Contains(msg, out.Namespace+"/"+out.Stack), "a stack rendering the first stack's PersistentVolume %s, even identically, is refused: %s", o.Ref.Name, firstLine(msg))
		break
	}

	// Delete waits for what it deleted, the namespace included.
	engB, err = apply.New(cfg, apply.Options{Timeout: timeout, Interval: time.Second, PruneData: true, Out: log})
	if err != nil {
		return err
	}
	if _, err := engB.Delete(ctx, second); err != nil {
		r.check(false, "second stack: delete with PruneData: %v", err)
		return nil
	}
	var leftB []string
	if _, err := cs.CoreV1().Namespaces().Get(ctx, second.Namespace, metav1.GetOptions{}); err == nil {
		leftB = append(leftB, "Namespace/"+second.Namespace)
	}
	for _, o := range second.Objects {
		if o.Ref.Kind == "PersistentVolume" {
			if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, o.Ref.Name, metav1.GetOptions{}); err == nil {
				leftB = append(leftB, "PersistentVolume/"+o.Ref.Name)
			}
		}
	}
	r.check(len(leftB) == 0, "the second stack's delete with PruneData removes its namespace, claims, Secrets and volumes (left: %s)", strings.Join(leftB, ", "))
	untouched("second stack deleted with its data")
	for _, s := range shared {
		kind, name, _ := strings.Cut(s, "/")
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersionOf(out, kind, name))
		u.SetKind(kind)
		err := eng.Client().Get(ctx, client.ObjectKey{Name: name}, u)
		_, held := u.GetLabels()[apply.OwnerLabel(out.Namespace, out.Stack)]
		_, heldB := u.GetLabels()[apply.OwnerLabel(second.Namespace, second.Stack)]
		r.check(err == nil && u.GetDeletionTimestamp() == nil && held && !heldB, "shared %s stays after the second stack's delete, held by the first stack only", s)
	}
	objs, err := apply.Objects(out)
	if err != nil {
		return err
	}
	if err := eng.Wait(ctx, objs); err != nil {
		r.check(false, "first stack ready after the second stack's delete: %v", err)
	} else {
		r.check(true, "the first stack is ready after the second stack's delete")
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n  ")
	rest := strings.TrimPrefix(s, line)
	if next, _, _ := strings.Cut(strings.TrimPrefix(rest, "\n  "), "\n"); next != "" {
		return line + " " + next
	}
	return line
}

// secondValues adapts the second stack's values (already in its own
// namespace): for the dojot profiles, every NodePort the first stack
// renders moved 100 up (a NodePort is the cluster's, not the namespace's:
// the API server refuses a second Service on the same one). The ports are
// the effective ones, as the build fills them: a port left 0 in the values
// but served (the LwM2M agent's 30006-30010, Kong's HTTPS 30002 with
// mutual TLS, Grafana's 30003 with the monitoring) is rendered on its
// default, so it moves too; a port nothing serves stays 0.
func secondValues(v profiles.Values) {
	d, ok := v.(*profiles.DojotValues)
	if !ok {
		return
	}
	eff := d.EffectiveNodePorts()
	np := dojot.NodePorts{APIGatewayHTTP: eff.APIGatewayHTTP, APIGatewayHTTPS: eff.APIGatewayHTTPS, Metrics: eff.Metrics,
		MQTT: eff.MQTT, MQTTS: eff.MQTTS, CoAP: eff.CoAP, CoAPS: eff.CoAPS,
		FileServer: eff.FileServer, FileServers: eff.FileServers, HTTPAgent: eff.HTTPAgent}
	for _, p := range []*int32{&np.APIGatewayHTTP, &np.APIGatewayHTTPS, &np.Metrics, &np.MQTT, &np.MQTTS, &np.CoAP, &np.CoAPS, &np.FileServer, &np.FileServers, &np.HTTPAgent} {
		if *p != 0 { // 0: not served, not rendered
			*p += 100
		}
	}
	d.NodePorts = np
}

// sharedObjects lists the cluster-scoped objects both outputs render.
func sharedObjects(a, b *stack.Output) []string {
	names := map[string]bool{}
	for _, o := range a.Objects {
		if o.Ref.Namespace == "" && o.Ref.Kind != "Namespace" {
			names[o.Ref.Kind+"/"+o.Ref.Name] = true
		}
	}
	var shared []string
	for _, o := range b.Objects {
		if o.Ref.Namespace == "" && names[o.Ref.Kind+"/"+o.Ref.Name] {
			shared = append(shared, o.Ref.Kind+"/"+o.Ref.Name)
		}
	}
	sort.Strings(shared)
	return shared
}

func apiVersionOf(out *stack.Output, kind, name string) string {
	for _, o := range out.Objects {
		if o.Ref.Kind == kind && o.Ref.Name == name {
			return o.GVK.GroupVersion().String()
		}
	}
	return "v1"
}

// conflicting is a stack in namespace ns holding only the first stack's
// first shared cluster-scoped object, with its part-of label changed.
func conflicting(out *stack.Output, ns string) (*stack.Output, string, error) {
	for _, o := range out.Objects {
		if o.Ref.Namespace != "" || o.Ref.Kind == "Namespace" {
			continue
		}
		obj, ok := o.Object.DeepCopyObject().(client.Object)
		if !ok {
			continue
		}
		l := map[string]string{}
		for k, v := range obj.GetLabels() {
			l[k] = v
		}
		l[stack.LabelPartOf] = "another-platform"
		obj.SetLabels(l)
		changed := o
		changed.Object = obj
		return &stack.Output{Stack: out.Stack, Namespace: ns, Objects: []stack.Rendered{changed}, Topology: out.Topology}, o.Ref.Kind + "/" + o.Ref.Name, nil
	}
	return nil, "", fmt.Errorf("no cluster-scoped object")
}

// namespacedVersions maps every namespaced object of the stack in the
// cluster to its identity and intent: UID, generation (bumped by every
// spec change), labels and annotations; Secrets to their resourceVersion.
// (Status updates by controllers do not count as touching.)
func namespacedVersions(ctx context.Context, eng *apply.Engine, out *stack.Output) (map[string]string, error) {
	objs, err := apply.Objects(out)
	if err != nil {
		return nil, err
	}
	v := map[string]string{}
	for _, u := range objs {
		if u.GetNamespace() == "" {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		if err := eng.Client().Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
			return nil, err
		}
		v[u.GetKind()+"/"+u.GetName()] = fmt.Sprintf("%s %d %v %v", live.GetUID(), live.GetGeneration(), live.GetLabels(), live.GetAnnotations())
	}
	for _, s := range out.Secrets {
		var sec corev1.Secret
		if err := eng.Client().Get(ctx, client.ObjectKey{Namespace: out.Namespace, Name: s.Name}, &sec); err != nil {
			return nil, err
		}
		v["Secret/"+s.Name] = sec.ResourceVersion
	}
	return v, nil
}

// pruneAfterReady applies the stack again (the dropped component back),
// then an update that drops that component and adds a Deployment that can
// never be ready (its nodeSelector matches no node): the apply must fail
// on readiness and prune nothing, so the dropped component's workloads
// are still there. Prune runs only once the new objects are ready.
func pruneAfterReady(ctx context.Context, cfg *rest.Config, eng *apply.Engine, out *stack.Output, r *Report, log io.Writer) error {
	if _, err := eng.Apply(ctx, out); err != nil {
		r.check(false, "apply with every component: %v", err)
		return nil
	}
	var drop string
	var broken *appsv1.Deployment
	for _, o := range out.Objects {
		if d, ok := o.Object.(*appsv1.Deployment); ok {
			drop = o.Component
			broken = d.DeepCopy()
		}
	}
	if broken == nil {
		return nil
	}
	broken.Name = "sim-never-ready"
	broken.Spec.Template.Spec.NodeSelector = map[string]string{"iotstack.io/sim-no-such-node": "true"}
	update := *out
	update.Objects = nil
	var dropped []stack.Rendered
	for _, o := range out.Objects {
		if o.Component == drop {
			dropped = append(dropped, o)
			continue
		}
		update.Objects = append(update.Objects, o)
	}
	update.Objects = append(update.Objects, stack.Rendered{Component: "sim-never-ready", GVK: appsv1.SchemeGroupVersion.WithKind("Deployment"),
		Ref: stack.ObjectRef{Group: "apps", Kind: "Deployment", Namespace: out.Namespace, Name: broken.Name}, Object: broken})
	short, err := apply.New(cfg, apply.Options{Timeout: 5 * time.Second, Interval: time.Second, Out: log})
	if err != nil {
		return err
	}
	_, applyErr := short.Apply(ctx, &update)
	var gone []string
	for _, o := range dropped {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(o.GVK)
		if err := eng.Client().Get(ctx, client.ObjectKey{Namespace: o.Ref.Namespace, Name: o.Ref.Name}, u); err != nil || u.GetDeletionTimestamp() != nil {
			gone = append(gone, o.Ref.Kind+"/"+o.Ref.Name)
		}
	}
	r.check(applyErr != nil && strings.Contains(applyErr.Error(), "nothing was pruned") && len(gone) == 0,
		"an update that never becomes ready prunes nothing: component %s's %d objects stay (gone: %s; apply: %s)", drop, len(dropped), strings.Join(gone, ", "), firstLine(fmt.Sprint(applyErr)))
	// Back to the stack as rendered: the stuck Deployment is pruned.
	if _, err := eng.Apply(ctx, out); err != nil {
		r.check(false, "apply after the stuck update: %v", err)
	}
	return nil
}
