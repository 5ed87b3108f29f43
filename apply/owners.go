package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/iotstack/iotstack/stack"
)

// Cluster-scoped objects (the Namespace, StorageClasses, PersistentVolumes,
// cluster roles) are not inside any one stack's namespace, so two stacks
// may render the same one: two minimal-3az stacks in namespaces a and b
// both render StorageClass gp3. Such an object is shared, never taken:
//
//   - each stack applies it with a field manager of its own
//     (StackManager: "iotstack:<namespace>/<stack>") and without forcing,
//     so the API server refuses a stack that would change a field another
//     stack set to a different value, and that refusal is reported naming
//     both stacks before anything is written;
//   - each stack marks it with an owner label of its own
//     (OwnerLabel: "<namespace>.stacks.iotstack.io/<stack>"), the
//     inventory of cluster-scoped objects; the single-valued inventory
//     labels of namespaced objects are not set on them;
//   - delete and prune of a stack remove its owner label and field manager
//     from an object another stack still holds ("released"), and delete the
//     object only when no other stack holds it;
//   - a PersistentVolume is never shared: it holds one claim's data, so a
//     volume another stack holds is refused outright.

// ownerLabelSuffix is the label-key prefix's tail of owner labels.
const ownerLabelSuffix = ".stacks." + InventoryGroup

// OwnerLabel is the label marking a cluster-scoped object as held by the
// stack name in namespace: "<namespace>.stacks.iotstack.io/<name>". Both
// parts are DNS-1123 labels, so the key is always a valid label key.
func OwnerLabel(namespace, name string) string {
	return namespace + ownerLabelSuffix + "/" + name
}

// StackManager is the field manager a stack applies its cluster-scoped
// objects with: "iotstack:<namespace>/<name>".
func StackManager(namespace, name string) string {
	return FieldManager + ":" + namespace + "/" + name
}

// ownersOf lists the stacks ("<namespace>/<name>") holding a cluster-scoped
// object: its owner labels, and the inventory labels an engine before
// owner labels set.
func ownersOf(u *unstructured.Unstructured) []string {
	var owners []string
	for k := range u.GetLabels() {
		prefix, name, ok := strings.Cut(k, "/")
		if !ok || !strings.HasSuffix(prefix, ownerLabelSuffix) {
			continue
		}
		owners = append(owners, strings.TrimSuffix(prefix, ownerLabelSuffix)+"/"+name)
	}
	l := u.GetLabels()
	if n, ns := l[InventoryGroup+"/name"], l[InventoryGroup+"/namespace"]; n != "" && ns != "" {
		legacy := ns + "/" + n
		if !contains(owners, legacy) {
			owners = append(owners, legacy)
		}
	}
	sort.Strings(owners)
	return owners
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// others returns the stacks other than self holding u.
func others(u *unstructured.Unstructured, self string) []string {
	var out []string
	for _, o := range ownersOf(u) {
		if o != self {
			out = append(out, o)
		}
	}
	return out
}

// stackID is "<namespace>/<name>" of the output's stack.
func stackID(out *stack.Output) string { return out.Namespace + "/" + out.Stack }

var conflictManager = regexp.MustCompile(`conflicts? with "([^"]+)"`)

// describeManagers turns field-manager names in an API conflict message
// into stack names where they are stacks' managers.
func describeManagers(msg string) []string {
	var who []string
	for _, m := range conflictManager.FindAllStringSubmatch(msg, -1) {
		name := m[1]
		if s, ok := strings.CutPrefix(name, FieldManager+":"); ok {
			name = "stack " + s
		} else if name == FieldManager {
			name = "an earlier iotstack engine"
		} else {
			name = "field manager " + name
		}
		if !contains(who, name) {
			who = append(who, name)
		}
	}
	return who
}

// checkShared dry-runs the stack's cluster-scoped objects without forcing
// and refuses, before anything is written, every object the stack would
// take from someone else: a field another stack (or another manager) set
// to a different value, or a PersistentVolume another stack holds. It
// returns the objects an earlier engine of this same stack applied under
// the plain "iotstack" manager, which the apply may force.
func (e *Engine) checkShared(ctx context.Context, out *stack.Output, objs []*unstructured.Unstructured) (map[string]bool, error) {
	self := stackID(out)
	mgr := StackManager(out.Namespace, out.Stack)
	force := map[string]bool{}
	var problems []string
	for _, u := range objs {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		err := e.client.Get(ctx, client.ObjectKey{Name: u.GetName()}, live)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", subject(u), err)
		}
		holders := others(live, self)
		if u.GetKind() == "PersistentVolume" && len(holders) > 0 {
			problems = append(problems, fmt.Sprintf("%s is held by stack %s; a volume holds one claim's data and is never shared: stack %s refuses to take it (give the stacks different namespaces, which name their volumes)",
				subject(u), strings.Join(holders, ", "), self))
			continue
		}
		err = e.client.Patch(ctx, u.DeepCopy(), client.Apply, client.FieldOwner(mgr), client.DryRunAll)
		if err == nil {
			continue
		}
		if !apierrors.IsConflict(err) {
			return nil, fmt.Errorf("dry-run %s: %w", subject(u), err)
		}
		who := describeManagers(err.Error())
		if len(who) == 1 && who[0] == "an earlier iotstack engine" && len(holders) == 0 && contains(ownersOf(live), self) {
			force[objKey(u)] = true // our own object, from before owner labels
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: stack %s would change fields that %s set to other values, so it refuses to take the object (%s)",
			subject(u), self, strings.Join(who, " and "), conflictDetail(err)))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("apply %s refused, nothing changed:\n  %s", self, strings.Join(problems, "\n  "))
	}
	return force, nil
}

// conflictDetail is the field list of an apply conflict.
func conflictDetail(err error) string {
	var status apierrors.APIStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s
	}
	if status == nil || status.Status().Details == nil {
		return err.Error()
	}
	var fields []string
	for _, c := range status.Status().Details.Causes {
		if !contains(fields, c.Field) {
			fields = append(fields, c.Field)
		}
	}
	if len(fields) == 0 {
		return err.Error()
	}
	return "fields " + strings.Join(fields, ", ")
}

// applyShared applies the stack's cluster-scoped objects with the stack's
// own field manager, forcing only where checkShared found the stack's own
// object from an earlier engine.
func (e *Engine) applyShared(ctx context.Context, out *stack.Output, objs []*unstructured.Unstructured, force map[string]bool) ([]changeEntry, error) {
	mgr := StackManager(out.Namespace, out.Stack)
	var entries []changeEntry
	for _, u := range objs {
		before := &unstructured.Unstructured{}
		before.SetGroupVersionKind(u.GroupVersionKind())
		getErr := e.client.Get(ctx, client.ObjectKey{Name: u.GetName()}, before)
		if getErr != nil && !apierrors.IsNotFound(getErr) {
			return entries, fmt.Errorf("get %s: %w", subject(u), getErr)
		}
		opts := []client.PatchOption{client.FieldOwner(mgr)}
		if force[objKey(u)] {
			opts = append(opts, client.ForceOwnership)
		}
		obj := u.DeepCopy()
		if err := e.client.Patch(ctx, obj, client.Apply, opts...); err != nil {
			if apierrors.IsConflict(err) {
				return entries, fmt.Errorf("apply %s: %s: another stack changed it meanwhile (%s)", stackID(out), subject(u), conflictDetail(err))
			}
			return entries, fmt.Errorf("apply %s: %w", subject(u), err)
		}
		action := "unchanged"
		switch {
		case apierrors.IsNotFound(getErr):
			action = "created"
		case obj.GetResourceVersion() != before.GetResourceVersion():
			action = "configured"
		}
		entries = append(entries, changeEntry{subject(u), action})
	}
	return entries, nil
}

// changeEntry is an action on one object before it is turned into the
// engine's change set.
type changeEntry struct{ subject, action string }

// release removes the stack's owner label and its field manager from a
// cluster-scoped object that other stacks still hold; their fields and
// labels stay as they are.
func (e *Engine) release(ctx context.Context, out *stack.Output, u *unstructured.Unstructured) error {
	mgr := StackManager(out.Namespace, out.Stack)
	var kept []metav1.ManagedFieldsEntry
	for _, m := range u.GetManagedFields() {
		if m.Manager != mgr {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		// An empty list would reset the object's field management.
		kept = []metav1.ManagedFieldsEntry{}
	}
	ops := []map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": u.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/managedFields", "value": kept},
	}
	key := OwnerLabel(out.Namespace, out.Stack)
	if _, ok := u.GetLabels()[key]; ok {
		ops = append(ops, map[string]any{"op": "remove", "path": "/metadata/labels/" + jsonPointerEscape(key)})
	}
	for _, l := range []string{InventoryGroup + "/name", InventoryGroup + "/namespace"} {
		if ownsLegacy(u, out) {
			if _, ok := u.GetLabels()[l]; ok {
				ops = append(ops, map[string]any{"op": "remove", "path": "/metadata/labels/" + jsonPointerEscape(l)})
			}
		}
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	target := &unstructured.Unstructured{}
	target.SetGroupVersionKind(u.GroupVersionKind())
	target.SetName(u.GetName())
	if err := e.client.Patch(ctx, target, client.RawPatch(types.JSONPatchType, patch), client.FieldOwner(mgr)); err != nil {
		return fmt.Errorf("release %s: %w", subject(u), err)
	}
	return nil
}

// ownsLegacy reports whether u's single-valued inventory labels (set by an
// engine before owner labels) name the output's stack.
func ownsLegacy(u *unstructured.Unstructured, out *stack.Output) bool {
	l := u.GetLabels()
	return l[InventoryGroup+"/name"] == out.Stack && l[InventoryGroup+"/namespace"] == out.Namespace
}

func jsonPointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// conflictFields lists an apply conflict's fields with the managers that
// hold them: "spec.replicas (kubectl)".
func conflictFields(err error) []string {
	s, ok := err.(apierrors.APIStatus)
	if !ok || s.Status().Details == nil || len(s.Status().Details.Causes) == 0 {
		return []string{err.Error()}
	}
	var out []string
	for _, c := range s.Status().Details.Causes {
		who := strings.Join(describeManagers(c.Message), ", ")
		if who == "" {
			who = c.Message
		}
		out = append(out, strings.TrimPrefix(c.Field, ".")+" ("+who+")")
	}
	sort.Strings(out)
	return out
}
