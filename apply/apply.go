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
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
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
	for i, u := range objs {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		if u.GetNamespace() == "" {
			// Cluster-scoped: possibly shared with other stacks, so it
			// carries the stack's own owner label instead of the
			// single-valued inventory labels (owners.go).
			l[OwnerLabel(out.Namespace, out.Stack)] = "true"
		} else {
			for k, v := range inventoryLabels(out) {
				l[k] = v
			}
			l[ComponentLabel] = out.Objects[i].Component
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
	// Kept lists the objects prune or delete left in place, each with
	// its reason (data of a component, a volume bound to a kept claim,
	// the namespace holding them).
	Kept []Kept
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

// Apply applies the stack, creates its missing Secrets (and missing keys
// of existing ones), waits until everything is ready and then prunes what
// is no longer synthesized, so nothing goes before its replacement works.
//
// Cluster-scoped objects are applied first, each with the stack's own
// field manager and owner label and never forced: an object another
// stack holds with other values is refused before anything is written
// (owners.go). Then namespaced objects are applied in stages (ssa), forcing
// ownership of the fields the stack renders: they are the stack's alone.
func (e *Engine) Apply(ctx context.Context, out *stack.Output) (*Result, error) {
	objs, err := Objects(out)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var cluster, namespaced []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetNamespace() == "" {
			cluster = append(cluster, u)
		} else {
			namespaced = append(namespaced, u)
		}
	}
	force, err := e.checkShared(ctx, out, cluster)
	if err != nil {
		return nil, err
	}
	entries, err := e.applyShared(ctx, out, cluster, force)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, c := range entries {
		action := ssa.Action(c.action)
		if c.action == "unchanged" {
			action = ssa.UnchangedAction
			n++
		} else {
			e.printf("%s %s\n", c.subject, c.action)
		}
		res.Changes = append(res.Changes, ssa.ChangeSetEntry{Subject: c.subject, Action: action})
	}
	if n > 0 {
		e.printf("%d cluster-scoped objects unchanged\n", n)
	}
	// Namespaces and CRDs must be ready before the Secrets and the rest.
	var first []*unstructured.Unstructured
	for _, u := range cluster {
		if u.GetKind() == "Namespace" || u.GetKind() == "CustomResourceDefinition" {
			first = append(first, u)
		}
	}
	if len(first) > 0 {
		if err := e.rm.Wait(first, ssa.WaitOptions{Interval: e.opts.Interval, Timeout: e.opts.Timeout}); err != nil {
			return res, fmt.Errorf("apply %s: %w", out.Stack, err)
		}
	}
	secrets, err := e.ensureSecrets(ctx, out)
	if err != nil {
		return nil, err
	}
	res.Changes = append(res.Changes, secrets...)
	opts := ssa.DefaultApplyOptions()
	opts.WaitTimeout = e.opts.Timeout
	if len(namespaced) > 0 {
		cs, err := e.rm.ApplyAllStaged(ctx, namespaced, opts)
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", out.Stack, err)
		}
		e.report(cs.Entries)
		res.Changes = append(res.Changes, cs.Entries...)
	}
	if !e.opts.NoWait {
		start := time.Now()
		if err := e.Wait(ctx, objs); err != nil {
			return res, fmt.Errorf("%w\n(nothing was pruned: prune runs once the new objects are ready)", err)
		}
		res.Ready = time.Since(start)
	}
	if !e.opts.NoPrune {
		if _, err := e.prune(ctx, out, objs, false, res); err != nil {
			return res, err
		}
	}
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
// freshly generated values, and adds to an existing one the declared keys
// it lacks (a component that gained a password). An existing value is
// never read back into dist/ nor changed, so re-applying never rotates a
// credential.
func (e *Engine) ensureSecrets(ctx context.Context, out *stack.Output) ([]ssa.ChangeSetEntry, error) {
	var entries []ssa.ChangeSetEntry
	for _, spec := range out.Secrets {
		key := client.ObjectKey{Namespace: out.Namespace, Name: spec.Name}
		var existing corev1.Secret
		err := e.client.Get(ctx, key, &existing)
		if err == nil {
			entry, err := e.addMissingKeys(ctx, &existing, spec)
			if err != nil {
				return nil, err
			}
			if entry != nil {
				entries = append(entries, *entry)
			}
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
		e.printf("%s created (generated: %s)\n", entry.Subject, keyNames(spec.Keys))
		entries = append(entries, entry)
	}
	return entries, nil
}

// missingKeys lists the declared keys a live Secret lacks.
func missingKeys(live *corev1.Secret, spec stack.SecretSpec) []stack.SecretKey {
	var missing []stack.SecretKey
	for _, k := range spec.Keys {
		if _, ok := live.Data[k.Key]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}

// addMissingKeys generates the declared keys an existing Secret lacks and
// adds them with a JSON patch that fails unless every one of them is still
// absent (no existing value is ever replaced, even by a racing writer).
func (e *Engine) addMissingKeys(ctx context.Context, live *corev1.Secret, spec stack.SecretSpec) (*ssa.ChangeSetEntry, error) {
	missing := missingKeys(live, spec)
	if len(missing) == 0 {
		return nil, nil
	}
	var ops []map[string]any
	ops = append(ops, map[string]any{"op": "test", "path": "/metadata/resourceVersion", "value": live.ResourceVersion})
	if live.Data == nil {
		ops = append(ops, map[string]any{"op": "add", "path": "/data", "value": map[string]any{}})
	}
	for _, k := range missing {
		v, err := Generate(k)
		if err != nil {
			return nil, fmt.Errorf("secret %s key %s: %w", spec.Name, k.Key, err)
		}
		ops = append(ops, map[string]any{"op": "add", "path": "/data/" + jsonPointerEscape(k.Key), "value": base64.StdEncoding.EncodeToString([]byte(v))})
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	if err := e.client.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch), client.FieldOwner(FieldManager)); err != nil {
		return nil, fmt.Errorf("secret %s/%s: add keys %s: %w", live.Namespace, live.Name, keyNames(missing), err)
	}
	entry := &ssa.ChangeSetEntry{Subject: "Secret/" + live.Namespace + "/" + live.Name, Action: ssa.ConfiguredAction}
	e.printf("%s configured (added: %s; existing keys unchanged)\n", entry.Subject, keyNames(missing))
	return entry, nil
}

func keyNames(keys []stack.SecretKey) string {
	names := make([]string, len(keys))
	for i, k := range keys {
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
	labels[ComponentLabel] = spec.Owner
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
	legacy := client.MatchingLabels(inventoryLabels(out))
	owner, err := labels.NewRequirement(OwnerLabel(out.Namespace, out.Stack), selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	owned := client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*owner)}
	var found []*unstructured.Unstructured
	seen := map[string]bool{}
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
			// Namespaced objects carry the inventory labels; cluster-scoped
			// ones the stack's owner label (or, applied by an earlier
			// engine, the inventory labels).
			selectors := []client.ListOption{legacy}
			if !r.Namespaced {
				selectors = append(selectors, owned)
			}
			for _, sel := range selectors {
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
					if seen[objKey(&u)] {
						continue
					}
					seen[objKey(&u)] = true
					found = append(found, &u)
				}
			}
		}
	}
	return found, nil
}

// appliedByUs reports whether the engine wrote the object: it has no
// controller owner and the engine's field manager manages fields of it
// (labels alone can be copied by controllers): "iotstack", or a stack's
// own manager "iotstack:<namespace>/<name>" on cluster-scoped objects.
func appliedByUs(u *unstructured.Unstructured) bool {
	if len(u.GetOwnerReferences()) > 0 {
		return false
	}
	for _, m := range u.GetManagedFields() {
		if m.Manager == FieldManager || strings.HasPrefix(m.Manager, FieldManager+":") {
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
