package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/ssa"
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
}

// Diff dry-runs the apply on the server: every object that would be
// created or configured, every Secret that would be created and every
// object that would be pruned. Nothing is changed.
func (e *Engine) Diff(ctx context.Context, out *stack.Output) ([]Change, error) {
	objs, err := Objects(out)
	if err != nil {
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
		if entry.Action != ssa.UnchangedAction && entry.Action != ssa.SkippedAction {
			changes = append(changes, Change{ChangeSetEntry: *entry, Live: live, Merged: merged})
		}
	}
	for _, spec := range out.Secrets {
		live := &unstructured.Unstructured{}
		live.SetAPIVersion("v1")
		live.SetKind("Secret")
		err := e.client.Get(ctx, client.ObjectKey{Namespace: out.Namespace, Name: spec.Name}, live)
		if err != nil {
			changes = append(changes, Change{ChangeSetEntry: ssa.ChangeSetEntry{Subject: "Secret/" + out.Namespace + "/" + spec.Name, Action: ssa.CreatedAction}})
		}
	}
	if !e.opts.NoPrune {
		want := wanted(out, objs)
		live, err := e.inventory(ctx, out)
		if err != nil {
			return nil, err
		}
		for _, u := range live {
			if !want[objKey(u)] && !e.keeps(u) {
				changes = append(changes, Change{ChangeSetEntry: ssa.ChangeSetEntry{Subject: subject(u), Action: ssa.DeletedAction}})
			}
		}
	}
	return changes, nil
}

func subject(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}
