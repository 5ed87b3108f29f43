package apply

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/iotstack/iotstack/stack"
)

// Kept is an object of the stack that prune or delete left in place, and
// why.
type Kept struct {
	// Subject is Kind/namespace/name (Kind/name when cluster-scoped).
	Subject string
	// Reason says why it stays and how to remove it.
	Reason string
}

// ComponentLabel is the inventory label naming the component an applied
// object belongs to, which groups a component's data (its claims, the
// volumes bound to them and its data Secrets) so that PruneData removes a
// component's data all together or not at all.
const ComponentLabel = InventoryGroup + "/component"

// pruneItem is one object the plan acts on.
type pruneItem struct {
	u      *unstructured.Unstructured
	reason string
}

// prunePlan is what prune or delete will do: delete, release (a shared
// cluster-scoped object other stacks hold) or keep each object.
type prunePlan struct {
	del, release, keep []pruneItem
	// data lists, per component, what PruneData removes of its data.
	data map[string][]string
}

// planPrune decides, from the stack's live objects (its inventory), the
// set it still wants and the claims in its namespace, what to delete,
// release and keep. It is a pure function of its inputs.
//
// Without pruneData a component's data stays: its claims (inventory claims
// and the claims its StatefulSets made), the PersistentVolumes bound to a
// kept claim, its Secrets holding data, and the Namespace while it holds
// any of them or any claim. With pruneData all of a component's data goes
// together, so a new cluster ID is never generated next to old data.
// Cluster-scoped objects another stack holds are released, never deleted.
func planPrune(self string, live []*unstructured.Unstructured, want map[string]bool, claims []corev1.PersistentVolumeClaim, pruneData bool) prunePlan {
	plan := prunePlan{data: map[string][]string{}}
	var stale []*unstructured.Unstructured
	for _, u := range live {
		if want[objKey(u)] || u.GetDeletionTimestamp() != nil {
			continue
		}
		if u.GetNamespace() == "" {
			if holders := others(u, self); len(holders) > 0 {
				plan.release = append(plan.release, pruneItem{u, "still held by stack " + strings.Join(holders, ", ")})
				continue
			}
		}
		stale = append(stale, u)
	}
	// The claims StatefulSets made carry no inventory label: find those of
	// the stale StatefulSets by name (<template>-<set>-<ordinal>).
	claimOwner := map[string]string{} // claim name → component
	staleClaims := map[string]bool{}
	for _, u := range stale {
		if u.GetKind() != "StatefulSet" {
			continue
		}
		templates, _, _ := unstructured.NestedSlice(u.Object, "spec", "volumeClaimTemplates")
		for _, t := range templates {
			tm, _ := t.(map[string]any)
			md, _ := tm["metadata"].(map[string]any)
			tname, _ := md["name"].(string)
			for _, c := range claims {
				if c.Namespace == u.GetNamespace() && isOrdinalOf(c.Name, tname+"-"+u.GetName()+"-") {
					claimOwner[c.Name] = componentOf(u)
					staleClaims[c.Name] = true
				}
			}
		}
	}
	for _, u := range stale {
		if isClaim(u) {
			claimOwner[u.GetName()] = componentOf(u)
			staleClaims[u.GetName()] = true
		}
	}
	deletedClaims := map[string]bool{}
	if pruneData {
		for name := range staleClaims {
			deletedClaims[name] = true
		}
	}
	// Claims of stale StatefulSets are data of the stack although not in
	// its inventory: add them as objects to keep or delete.
	var ns string
	for _, u := range live {
		if u.GetNamespace() != "" {
			ns = u.GetNamespace()
		}
	}
	for _, name := range sortedKeys(staleClaims) {
		found := false
		for _, u := range stale {
			if isClaim(u) && u.GetName() == name {
				found = true
			}
		}
		if found {
			continue
		}
		c := &unstructured.Unstructured{}
		c.SetAPIVersion("v1")
		c.SetKind("PersistentVolumeClaim")
		c.SetNamespace(ns)
		c.SetName(name)
		for _, cl := range claims {
			if cl.Name == name {
				c.SetNamespace(cl.Namespace)
				c.SetUID(cl.UID)
			}
		}
		stale = append(stale, c)
	}
	liveClaim := map[string]bool{}
	for _, c := range claims {
		if c.DeletionTimestamp == nil && !deletedClaims[c.Name] {
			liveClaim[c.Namespace+"/"+c.Name] = true
		}
	}
	keptIn := map[string]int{}      // kept claims and Secrets per namespace
	keptSecrets := map[string]int{} // kept Secrets per namespace
	for _, u := range stale {
		comp := componentOf(u)
		switch {
		case isClaim(u):
			if owner := claimOwner[u.GetName()]; owner != "" {
				comp = owner
			}
			if pruneData {
				plan.del = append(plan.del, pruneItem{u, "data of component " + comp + " (PruneData)"})
				plan.data[comp] = append(plan.data[comp], subject(u))
			} else {
				plan.keep = append(plan.keep, pruneItem{u, "holds the data of component " + comp + "; PruneData removes it with the rest of that component's data"})
				keptIn[u.GetNamespace()]++
			}
		case isDataSecret(u):
			if pruneData {
				plan.del = append(plan.del, pruneItem{u, "credentials of component " + comp + " (PruneData)"})
				plan.data[comp] = append(plan.data[comp], subject(u))
			} else {
				plan.keep = append(plan.keep, pruneItem{u, "holds the credentials component " + comp + "'s data was written with; PruneData removes it with that data"})
				keptIn[u.GetNamespace()]++
				keptSecrets[u.GetNamespace()]++
			}
		case u.GetKind() == "PersistentVolume" && u.GroupVersionKind().Group == "":
			ref, _, _ := unstructured.NestedMap(u.Object, "spec", "claimRef")
			cns, _ := ref["namespace"].(string)
			cname, _ := ref["name"].(string)
			if cname != "" && liveClaim[cns+"/"+cname] {
				plan.keep = append(plan.keep, pruneItem{u, "bound to the kept claim " + cns + "/" + cname})
				continue
			}
			plan.del = append(plan.del, pruneItem{u, "no longer synthesized"})
			if cname != "" && deletedClaims[cname] {
				c := claimOwner[cname]
				plan.data[c] = append(plan.data[c], subject(u))
			}
		}
	}
	for _, u := range stale {
		if isClaim(u) || isDataSecret(u) || (u.GetKind() == "PersistentVolume" && u.GroupVersionKind().Group == "") {
			continue
		}
		if u.GetKind() == "Namespace" && u.GroupVersionKind().Group == "" && !pruneData {
			claims := 0
			for key := range liveClaim {
				if strings.HasPrefix(key, u.GetName()+"/") {
					claims++
				}
			}
			if claims+keptIn[u.GetName()] > 0 {
				plan.keep = append(plan.keep, pruneItem{u, fmt.Sprintf("holds %d claims and %d data Secrets; PruneData deletes it", claims, keptSecrets[u.GetName()])})
				continue
			}
		}
		plan.del = append(plan.del, pruneItem{u, "no longer synthesized"})
	}
	sort.SliceStable(plan.del, func(i, j int) bool {
		ri, rj := deleteRank(plan.del[i].u), deleteRank(plan.del[j].u)
		if ri != rj {
			return ri < rj
		}
		return subject(plan.del[i].u) < subject(plan.del[j].u)
	})
	for _, list := range [][]pruneItem{plan.release, plan.keep} {
		sort.SliceStable(list, func(i, j int) bool { return subject(list[i].u) < subject(list[j].u) })
	}
	for c := range plan.data {
		sort.Strings(plan.data[c])
	}
	return plan
}

// isOrdinalOf reports whether name is prefix followed by a decimal ordinal.
func isOrdinalOf(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" {
		return false
	}
	_, err := strconv.ParseUint(rest, 10, 31)
	return err == nil
}

func isClaim(u *unstructured.Unstructured) bool {
	return u.GroupVersionKind().Group == "" && u.GetKind() == "PersistentVolumeClaim"
}

func isDataSecret(u *unstructured.Unstructured) bool {
	if u.GroupVersionKind().Group != "" || u.GetKind() != "Secret" {
		return false
	}
	data, _, _ := unstructured.NestedMap(u.Object, "data")
	return len(data) > 0
}

// componentOf is the component an applied object belongs to: its
// inventory component label, or for Secrets an earlier engine generated,
// their app.kubernetes.io/component label.
func componentOf(u *unstructured.Unstructured) string {
	l := u.GetLabels()
	if c := l[ComponentLabel]; c != "" {
		return c
	}
	if c := l[stack.LabelComponent]; c != "" && u.GetKind() == "Secret" {
		return c
	}
	return "(unknown)"
}

func deleteRank(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "Namespace":
		return 9
	case "CustomResourceDefinition":
		return 8
	case "StorageClass", "PersistentVolume", "ClusterRole", "ClusterRoleBinding":
		return 7
	case "PersistentVolumeClaim":
		return 6
	case "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob":
		return 0
	}
	return 5
}

// prune carries out the plan for the stack's objects not in objs (all of
// them when all is set): it deletes what the plan deletes, in reverse
// apply order, releases shared objects and reports what it keeps. It
// returns the deleted objects' keys and UIDs for Delete to wait on.
func (e *Engine) prune(ctx context.Context, out *stack.Output, objs []*unstructured.Unstructured, all bool, res *Result) (map[string]*unstructured.Unstructured, error) {
	plan, err := e.plan(ctx, out, objs, all)
	if err != nil {
		return nil, err
	}
	for _, comp := range sortedKeys(plan.data) {
		e.printf("component %s: PruneData removes its data: %s\n", comp, strings.Join(plan.data[comp], ", "))
	}
	gone := map[string]*unstructured.Unstructured{}
	for _, it := range plan.del {
		cs, err := e.rm.Delete(ctx, it.u, ssa.DeleteOptions{PropagationPolicy: metav1.DeletePropagationBackground})
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return gone, fmt.Errorf("delete %s: %w", subject(it.u), err)
		}
		e.printf("%s deleted\n", cs.Subject)
		res.Changes = append(res.Changes, *cs)
		gone[objKey(it.u)] = it.u
	}
	for _, it := range plan.release {
		if err := e.release(ctx, out, it.u); err != nil {
			return gone, err
		}
		e.printf("%s released (%s)\n", subject(it.u), it.reason)
		res.Changes = append(res.Changes, ssa.ChangeSetEntry{Subject: subject(it.u), Action: ReleasedAction})
	}
	for _, it := range plan.keep {
		e.printf("%s kept (%s)\n", subject(it.u), it.reason)
		res.Kept = append(res.Kept, Kept{Subject: subject(it.u), Reason: it.reason})
	}
	return gone, nil
}

// ReleasedAction is the change-set action of a shared cluster-scoped
// object the stack let go of while other stacks still hold it.
const ReleasedAction ssa.Action = "released"

// plan gathers the inventory and the claims and plans the prune.
func (e *Engine) plan(ctx context.Context, out *stack.Output, objs []*unstructured.Unstructured, all bool) (prunePlan, error) {
	want := map[string]bool{}
	if !all {
		want = wanted(out, objs)
	}
	live, err := e.inventory(ctx, out)
	if err != nil {
		return prunePlan{}, err
	}
	var claims corev1.PersistentVolumeClaimList
	if err := e.client.List(ctx, &claims, client.InNamespace(out.Namespace)); err != nil {
		return prunePlan{}, fmt.Errorf("list claims in %s: %w", out.Namespace, err)
	}
	return planPrune(stackID(out), live, want, claims.Items, e.opts.PruneData), nil
}

// Delete removes the stack's objects from the cluster (found by their
// inventory labels), workloads first, and waits until what it deleted is
// gone. Without Options.PruneData it keeps every component's data — its
// claims, the volumes bound to them, its data Secrets — and the Namespace
// holding them, and says so in Result.Kept; shared cluster-scoped objects
// that other stacks hold are released, not deleted.
func (e *Engine) Delete(ctx context.Context, out *stack.Output) (*Result, error) {
	res := &Result{}
	gone, err := e.prune(ctx, out, nil, true, res)
	if err != nil {
		return res, err
	}
	if e.opts.NoWait || len(gone) == 0 {
		return res, nil
	}
	deadline := time.Now().Add(e.opts.Timeout)
	for {
		var left []string
		for _, key := range sortedKeys(gone) {
			exists, err := e.exists(ctx, gone[key])
			if err != nil {
				return res, err
			}
			if exists {
				left = append(left, key)
			} else {
				delete(gone, key)
			}
		}
		if len(left) == 0 {
			return res, nil
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("delete %s: still terminating after %s: %s", stackID(out), e.opts.Timeout, strings.Join(left, ", "))
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(e.opts.Interval):
		}
	}
}

// exists reports whether the deleted object is still in the cluster; a
// new object of the same name (another UID) does not count.
func (e *Engine) exists(ctx context.Context, d *unstructured.Unstructured) (bool, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(d.GroupVersionKind())
	err := e.client.Get(ctx, client.ObjectKey{Namespace: d.GetNamespace(), Name: d.GetName()}, u)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.GetUID() == "" || u.GetUID() == d.GetUID(), nil
}
