// Package apply puts a synthesized stack on a cluster: server-side apply
// with a fixed field manager and strict field validation, in the
// synthesized order (namespaces and CRDs first, waited for), the declared
// Secrets created once with random values, every object labelled with the
// stack's inventory labels, objects no longer synthesized pruned, and a
// wait for readiness with a progress line per workload.
//
// It builds on Flux's maintained engine: github.com/fluxcd/pkg/ssa for the
// staged apply, dry-run diff and delete, and kstatus
// (github.com/fluxcd/cli-utils) for readiness.
package apply

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/iotstack/iotstack/stack"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "iotstack"

// InventoryGroup prefixes the inventory labels: every applied object
// carries iotstack.io/name=<stack> and iotstack.io/namespace=<namespace>,
// which is how prune and delete find the stack's objects.
const InventoryGroup = "iotstack.io"

// Options configure an Engine.
type Options struct {
	// Timeout bounds the wait for readiness of one stack; 0 means 10 minutes.
	Timeout time.Duration
	// Interval is the readiness poll interval; 0 means 2 seconds.
	Interval time.Duration
	// NoPrune keeps objects of the stack that are no longer synthesized.
	NoPrune bool
	// PruneData also prunes (and, on Delete, deletes) PersistentVolumeClaims
	// and Secrets holding data. Off by default: they hold the state and the
	// credentials that state was written with.
	PruneData bool
	// NoWait returns after applying, without waiting for readiness.
	NoWait bool
	// Out receives the progress lines; nil means os.Stdout.
	Out io.Writer
}

// Engine applies stacks to one cluster.
type Engine struct {
	cfg    *rest.Config
	client client.Client
	rm     *ssa.ResourceManager
	disc   discovery.DiscoveryInterface
	opts   Options
	out    io.Writer
}

// RESTConfig loads a client configuration the way kubectl does: the given
// kubeconfig file (or $KUBECONFIG, or ~/.kube/config) and context (or the
// current one).
func RESTConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, nil
}

// New connects an engine to the cluster of cfg.
func New(cfg *rest.Config, opts Options) (*Engine, error) {
	ctrllog.SetLogger(logr.Discard()) // the engine reports through Out
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Minute
	}
	if opts.Interval == 0 {
		opts.Interval = 2 * time.Second
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper, Scheme: stack.Scheme})
	if err != nil {
		return nil, err
	}
	// Unknown or duplicate fields are errors, not warnings (the raw API's
	// default is Warn).
	c = client.WithFieldValidation(c, metav1.FieldValidationStrict)
	disc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	poller := polling.NewStatusPoller(c, mapper, polling.Options{})
	rm := ssa.NewResourceManager(c, poller, ssa.Owner{Field: FieldManager, Group: InventoryGroup})
	return &Engine{cfg: cfg, client: c, rm: rm, disc: disc, opts: opts, out: out}, nil
}

// Client is the engine's client (strict field validation on writes).
func (e *Engine) Client() client.Client { return e.client }

func (e *Engine) printf(format string, args ...any) { fmt.Fprintf(e.out, format, args...) }

// Objects converts the stack's rendered objects into the unstructured form
// the engine applies, in apply order, with the inventory labels.
func Objects(out *stack.Output) ([]*unstructured.Unstructured, error) {
	objs := make([]*unstructured.Unstructured, 0, len(out.Objects))
	for _, r := range out.Objects {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(r.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Ref, err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(r.GVK)
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		objs = append(objs, u)
	}
	for _, u := range objs {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		for k, v := range inventoryLabels(out) {
			l[k] = v
		}
		u.SetLabels(l)
	}
	return objs, nil
}

func inventoryLabels(out *stack.Output) map[string]string {
	return map[string]string{InventoryGroup + "/name": out.Stack, InventoryGroup + "/namespace": out.Namespace}
}

// Result is what Apply did.
type Result struct {
	// Changes lists every object with its action (created, configured,
	// unchanged), the created Secrets and the pruned objects.
	Changes []ssa.ChangeSetEntry
	// Ready is how long the wait for readiness took.
	Ready time.Duration
}

// Changed reports whether anything was created, configured or deleted.
func (r *Result) Changed() bool {
	for _, c := range r.Changes {
		if c.Action != ssa.UnchangedAction && c.Action != ssa.SkippedAction {
			return true
		}
	}
	return false
}

// Apply applies the stack, creates its missing Secrets, prunes what is no
// longer synthesized and waits until everything is ready.
func (e *Engine) Apply(ctx context.Context, out *stack.Output) (*Result, error) {
	objs, err := Objects(out)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	// Stage 1: namespaces, CRDs and cluster roles, waited for (ssa's
	// staged apply), so the Secrets can be created before any workload.
	var first, rest []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Namespace" || u.GetKind() == "CustomResourceDefinition" {
			first = append(first, u)
		} else {
			rest = append(rest, u)
		}
	}
	opts := ssa.DefaultApplyOptions()
	opts.WaitTimeout = e.opts.Timeout
	if len(first) > 0 {
		cs, err := e.rm.ApplyAllStaged(ctx, first, opts)
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", out.Stack, err)
		}
		e.report(cs.Entries)
		res.Changes = append(res.Changes, cs.Entries...)
	}
	created, err := e.ensureSecrets(ctx, out)
	if err != nil {
		return nil, err
	}
	res.Changes = append(res.Changes, created...)
	cs, err := e.rm.ApplyAllStaged(ctx, rest, opts)
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", out.Stack, err)
	}
	e.report(cs.Entries)
	res.Changes = append(res.Changes, cs.Entries...)
	if !e.opts.NoPrune {
		pruned, err := e.prune(ctx, out, objs, false)
		if err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, pruned...)
	}
	if e.opts.NoWait {
		return res, nil
	}
	start := time.Now()
	if err := e.Wait(ctx, objs); err != nil {
		return res, err
	}
	res.Ready = time.Since(start)
	return res, nil
}

func (e *Engine) report(entries []ssa.ChangeSetEntry) {
	for _, c := range entries {
		if c.Action != ssa.UnchangedAction {
			e.printf("%s %s\n", c.Subject, c.Action)
		}
	}
	n := 0
	for _, c := range entries {
		if c.Action == ssa.UnchangedAction {
			n++
		}
	}
	if n > 0 {
		e.printf("%d objects unchanged\n", n)
	}
}

// ensureSecrets creates every declared Secret that does not exist, with
// freshly generated values; an existing Secret is never read back into
// dist/ nor changed, so re-applying never rotates a credential.
func (e *Engine) ensureSecrets(ctx context.Context, out *stack.Output) ([]ssa.ChangeSetEntry, error) {
	var entries []ssa.ChangeSetEntry
	for _, spec := range out.Secrets {
		key := client.ObjectKey{Namespace: out.Namespace, Name: spec.Name}
		var existing corev1.Secret
		err := e.client.Get(ctx, key, &existing)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %s: %w", key, err)
		}
		sec, err := NewSecret(out, spec)
		if err != nil {
			return nil, err
		}
		if err := e.client.Create(ctx, sec, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create secret %s: %w", key, err)
		}
		entry := ssa.ChangeSetEntry{Subject: "Secret/" + key.String(), Action: ssa.CreatedAction}
		e.printf("%s created (generated: %s)\n", entry.Subject, keyNames(spec))
		entries = append(entries, entry)
	}
	return entries, nil
}

func keyNames(spec stack.SecretSpec) string {
	names := make([]string, len(spec.Keys))
	for i, k := range spec.Keys {
		names[i] = k.Key
	}
	return strings.Join(names, ", ")
}

// NewSecret builds a declared Secret with generated values and the
// inventory labels.
func NewSecret(out *stack.Output, spec stack.SecretSpec) (*corev1.Secret, error) {
	data := map[string][]byte{}
	for _, k := range spec.Keys {
		v, err := Generate(k)
		if err != nil {
			return nil, fmt.Errorf("secret %s key %s: %w", spec.Name, k.Key, err)
		}
		data[k.Key] = []byte(v)
	}
	labels := inventoryLabels(out)
	labels[stack.LabelManagedBy] = stack.ManagedBy
	labels[stack.LabelComponent] = spec.Owner
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: out.Namespace, Labels: labels},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}

// inventory lists every object in the cluster carrying the stack's
// inventory labels, over every listable resource the server offers.
func (e *Engine) inventory(ctx context.Context, out *stack.Output) ([]*unstructured.Unstructured, error) {
	lists, err := e.disc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	sel := client.MatchingLabels(inventoryLabels(out))
	var found []*unstructured.Unstructured
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !has(r.Verbs, "list") || !has(r.Verbs, "delete") {
				continue
			}
			// Controllers copy a Service's labels onto its Endpoints and
			// EndpointSlices; they are not the stack's.
			if gv.Group == "events.k8s.io" || gv.Group == "discovery.k8s.io" || (gv.Group == "" && (r.Kind == "Event" || r.Kind == "Endpoints")) {
				continue
			}
			var ul unstructured.UnstructuredList
			ul.SetGroupVersionKind(gv.WithKind(r.Kind + "List"))
			if err := e.client.List(ctx, &ul, sel); err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsForbidden(err) {
					continue
				}
				return nil, fmt.Errorf("list %s: %w", r.Name, err)
			}
			for i := range ul.Items {
				u := ul.Items[i]
				if !appliedByUs(&u) {
					continue
				}
				u.SetGroupVersionKind(gv.WithKind(r.Kind))
				found = append(found, &u)
			}
		}
	}
	return found, nil
}

// appliedByUs reports whether the engine wrote the object: it has no
// controller owner and the engine's field manager manages fields of it
// (labels alone can be copied by controllers).
func appliedByUs(u *unstructured.Unstructured) bool {
	if len(u.GetOwnerReferences()) > 0 {
		return false
	}
	for _, m := range u.GetManagedFields() {
		if m.Manager == FieldManager {
			return true
		}
	}
	return false
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// keeps reports why an object of the stack must not be deleted without
// PruneData: a claim (the data) or a Secret holding data (the credentials
// the data was written with).
func (e *Engine) keeps(u *unstructured.Unstructured) bool {
	if e.opts.PruneData {
		return false
	}
	switch {
	case u.GroupVersionKind().Group == "" && u.GetKind() == "PersistentVolumeClaim":
		return true
	case u.GroupVersionKind().Group == "" && u.GetKind() == "Secret":
		data, _, _ := unstructured.NestedMap(u.Object, "data")
		return len(data) > 0
	}
	return false
}

// wanted is the set of objKeys the stack owns: its objects and its
// declared Secrets.
func wanted(out *stack.Output, objs []*unstructured.Unstructured) map[string]bool {
	want := map[string]bool{}
	for _, u := range objs {
		want[objKey(u)] = true
	}
	for _, s := range out.Secrets {
		want["Secret/"+out.Namespace+"/"+s.Name] = true
	}
	return want
}

func objKey(u *unstructured.Unstructured) string {
	return u.GroupVersionKind().GroupKind().String() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// prune deletes the stack's objects that are not in objs (all of them
// when all is set), in reverse apply order, keeping data unless asked.
func (e *Engine) prune(ctx context.Context, out *stack.Output, objs []*unstructured.Unstructured, all bool) ([]ssa.ChangeSetEntry, error) {
	want := map[string]bool{}
	if !all {
		want = wanted(out, objs)
	}
	live, err := e.inventory(ctx, out)
	if err != nil {
		return nil, err
	}
	var stale []*unstructured.Unstructured
	keptIn := map[string]bool{}
	for _, u := range live {
		if want[objKey(u)] || u.GetDeletionTimestamp() != nil {
			continue
		}
		if e.keeps(u) {
			e.printf("%s/%s/%s kept (holds data; prune it with PruneData)\n", u.GetKind(), u.GetNamespace(), u.GetName())
			keptIn[u.GetNamespace()] = true
			continue
		}
		stale = append(stale, u)
	}
	// Deleting a namespace deletes everything in it: keep one that still
	// holds kept data or any claim (StatefulSet claims carry no inventory
	// label).
	kept := stale[:0]
	for _, u := range stale {
		if u.GroupVersionKind().Group == "" && u.GetKind() == "Namespace" && !e.opts.PruneData {
			var claims corev1.PersistentVolumeClaimList
			if err := e.client.List(ctx, &claims, client.InNamespace(u.GetName())); err != nil {
				return nil, fmt.Errorf("list claims in %s: %w", u.GetName(), err)
			}
			if keptIn[u.GetName()] || len(claims.Items) > 0 {
				e.printf("Namespace/%s kept (holds data; delete it with PruneData)\n", u.GetName())
				continue
			}
		}
		kept = append(kept, u)
	}
	stale = kept
	// Workloads before what they use; namespaces last.
	sort.SliceStable(stale, func(i, j int) bool { return deleteRank(stale[i]) < deleteRank(stale[j]) })
	var entries []ssa.ChangeSetEntry
	for _, u := range stale {
		cs, err := e.rm.Delete(ctx, u, ssa.DeleteOptions{PropagationPolicy: metav1.DeletePropagationBackground})
		if err != nil {
			return entries, fmt.Errorf("delete %s: %w", objKey(u), err)
		}
		e.printf("%s deleted\n", cs.Subject)
		entries = append(entries, *cs)
	}
	return entries, nil
}

func deleteRank(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "Namespace":
		return 9
	case "CustomResourceDefinition":
		return 8
	case "StorageClass", "PersistentVolume", "ClusterRole", "ClusterRoleBinding":
		return 7
	case "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob":
		return 0
	}
	return 5
}

// Delete removes the stack's objects from the cluster (found by their
// inventory labels), workloads first, and waits until they are gone. It
// keeps PersistentVolumeClaims and Secrets holding data, and therefore the
// namespace, unless Options.PruneData is set.
func (e *Engine) Delete(ctx context.Context, out *stack.Output) ([]ssa.ChangeSetEntry, error) {
	entries, err := e.prune(ctx, out, nil, true)
	if err != nil {
		return entries, err
	}
	if e.opts.NoWait {
		return entries, nil
	}
	deadline := time.Now().Add(e.opts.Timeout)
	for {
		live, err := e.inventory(ctx, out)
		if err != nil {
			return entries, err
		}
		left := 0
		for _, u := range live {
			if !e.keeps(u) {
				left++
			}
		}
		if left == 0 {
			return entries, nil
		}
		if time.Now().After(deadline) {
			return entries, fmt.Errorf("delete %s: %d objects still terminating after %s", out.Stack, left, e.opts.Timeout)
		}
		select {
		case <-ctx.Done():
			return entries, ctx.Err()
		case <-time.After(e.opts.Interval):
		}
	}
}
