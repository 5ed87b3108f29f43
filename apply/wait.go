package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/iotstack/iotstack/stack"
)

// Progress is one workload's readiness ("kafka 2/3 ready").
func Progress(u *unstructured.Unstructured) (string, bool) {
	name := u.GetName()
	switch u.GetKind() {
	case "Deployment", "StatefulSet", "ReplicaSet":
		want, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		if !found {
			want = 1
		}
		ready, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		return fmt.Sprintf("%s %d/%d ready", name, ready, want), true
	case "DaemonSet":
		want, _, _ := unstructured.NestedInt64(u.Object, "status", "desiredNumberScheduled")
		ready, _, _ := unstructured.NestedInt64(u.Object, "status", "numberReady")
		return fmt.Sprintf("%s %d/%d ready", name, ready, want), true
	case "Job":
		done, _, _ := unstructured.NestedInt64(u.Object, "status", "succeeded")
		want, found, _ := unstructured.NestedInt64(u.Object, "spec", "completions")
		if !found {
			want = 1
		}
		return fmt.Sprintf("%s %d/%d complete", name, done, want), true
	}
	return "", false
}

// Wait polls every object until kstatus reports it Current, printing a
// progress line whenever a workload's count changes; it fails on an object
// kstatus reports Failed and when the engine's timeout passes, naming what
// is not ready.
func (e *Engine) Wait(ctx context.Context, objs []*unstructured.Unstructured) error {
	deadline := time.Now().Add(e.opts.Timeout)
	pending := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		pending[objKey(u)] = u
	}
	last := map[string]string{}
	for {
		var waiting []string
		for _, key := range sortedKeys(pending) {
			u := pending[key]
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(u.GroupVersionKind())
			if err := e.client.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
				waiting = append(waiting, fmt.Sprintf("%s: %v", key, err))
				continue
			}
			if line, ok := Progress(live); ok && line != last[key] {
				e.printf("%s\n", line)
				last[key] = line
			}
			res, err := status.Compute(live)
			if err != nil {
				return fmt.Errorf("status of %s: %w", key, err)
			}
			st := res.Status
			if st == status.CurrentStatus && live.GetKind() == "Job" && !jobComplete(live) {
				st = status.InProgressStatus // kstatus calls a running Job current
			}
			switch st {
			case status.CurrentStatus:
				delete(pending, key)
			case status.FailedStatus:
				return fmt.Errorf("%s failed: %s", key, res.Message)
			default:
				waiting = append(waiting, fmt.Sprintf("%s: %s", key, res.Message))
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s:\n  %s", e.opts.Timeout, strings.Join(waiting, "\n  "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(e.opts.Interval):
		}
	}
}

func jobComplete(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Complete" && m["status"] == "True" {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Change is one object's difference between the cluster and the stack.
type Change struct {
	ssa.ChangeSetEntry
	// Live and Merged are the object in the cluster and after the apply,
	// for configured objects (Secret data masked).
	Live, Merged *unstructured.Unstructured
	// Conflicts names, for a configured object, the fields another field
	// manager (kubectl scale, an autoscaler, a hand edit) set to other
	// values, which the apply takes back: "spec.replicas (kubectl)".
	Conflicts []string
	// Detail says more where the action alone does not: the keys a Secret
	// gains, why an object is pruned or released.
	Detail string
}

// Diff dry-runs the apply on the server: every object that would be
// created or configured (with the fields it would take from other field
// managers), every Secret that would be created or gain keys, every
// object that would be pruned or released. An apply that would be refused
// (a cluster-scoped object another stack holds with other values) is an
// error. Nothing is changed.
func (e *Engine) Diff(ctx context.Context, out *stack.Output) ([]Change, error) {
	objs, err := Objects(out)
	if err != nil {
		return nil, err
	}
	var cluster []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetNamespace() == "" {
			cluster = append(cluster, u)
		}
	}
	if _, err := e.checkShared(ctx, out, cluster); err != nil {
		return nil, err
	}
	var changes []Change
	for _, u := range objs {
		entry, live, merged, err := e.rm.Diff(ctx, u, ssa.DefaultDiffOptions())
		if err != nil {
			// A namespaced object of a namespace that does not exist yet
			// cannot be dry-run; it would be created.
			if u.GetNamespace() != "" && strings.Contains(err.Error(), "namespaces \""+u.GetNamespace()+"\" not found") {
				changes = append(changes, Change{ChangeSetEntry: ssa.ChangeSetEntry{Subject: subject(u), Action: ssa.CreatedAction}})
				continue
			}
			return nil, err
		}
		if entry.Action == ssa.UnchangedAction || entry.Action == ssa.SkippedAction {
			continue
		}
		c := Change{ChangeSetEntry: *entry, Live: live, Merged: merged}
		if entry.Action == ssa.ConfiguredAction && u.GetNamespace() != "" {
			c.Conflicts, err = e.conflicts(ctx, u)
			if err != nil {
				return nil, err
			}
		}
		changes = append(changes, c)
	}
	for _, spec := range out.Secrets {
		var live corev1.Secret
		err := e.client.Get(ctx, client.ObjectKey{Namespace: out.Namespace, Name: spec.Name}, &live)
		switch {
		case apierrors.IsNotFound(err):
			changes = append(changes, Change{ChangeSetEntry: ssa.ChangeSetEntry{Subject: "Secret/" + out.Namespace + "/" + spec.Name, Action: ssa.CreatedAction},
				Detail: "generated: " + keyNames(spec.Keys)})
		case err != nil:
			return nil, fmt.Errorf("secret %s/%s: %w", out.Namespace, spec.Name, err)
		default:
			if missing := missingKeys(&live, spec); len(missing) > 0 {
				changes = append(changes, Change{ChangeSetEntry: ssa.ChangeSetEntry{Subject: "Secret/" + out.Namespace + "/" + spec.Name, Action: ssa.ConfiguredAction},
					Detail: "adds: " + keyNames(missing) + "; existing keys unchanged"})
			}
		}
	}
	if !e.opts.NoPrune {
		plan, err := e.plan(ctx, out, objs, false)
		if err != nil {
			return nil, err
		}
		for _, it := range plan.del {
			changes = append(changes, Change{ChangeSetEntry: ssa.ChangeSetEntry{Subject: subject(it.u), Action: ssa.DeletedAction}, Detail: it.reason})
		}
		for _, it := range plan.release {
			changes = append(changes, Change{ChangeSetEntry: ssa.ChangeSetEntry{Subject: subject(it.u), Action: ReleasedAction}, Detail: it.reason})
		}
	}
	return changes, nil
}

// conflicts dry-runs u without forcing ownership: the fields another field
// manager holds with other values are the conflicts the forced apply
// would resolve in the stack's favour.
func (e *Engine) conflicts(ctx context.Context, u *unstructured.Unstructured) ([]string, error) {
	err := e.client.Patch(ctx, u.DeepCopy(), client.Apply, client.FieldOwner(FieldManager), client.DryRunAll)
	if err == nil {
		return nil, nil
	}
	if !apierrors.IsConflict(err) {
		return nil, fmt.Errorf("dry-run %s: %w", subject(u), err)
	}
	return conflictFields(err), nil
}

func subject(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}
