package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// loadTestOutput returns the synthesized load test part of a built
// profile (dist/<profile>/loadtest/), nil when the profile renders none.
func loadTestOutput(b *profiles.Built) (*stack.Output, error) {
	for _, part := range b.Parts {
		if part.Dir == profiles.LoadTestDir {
			return part.Stack.Synth()
		}
	}
	return nil, nil
}

// checkLoadTest applies the load test part next to the stack, as its
// README says, checks that every one of its objects is accepted and ready
// (its Jobs complete: kwok completes Job pods) and that every one of its
// pods was scheduled onto a node of its own pool (the nodes whose name
// starts with the pool the pods' node affinity names, <pool>-<zone>-<i>),
// and that no pod of another stack runs there; then deletes it again so
// that the drill and the lifecycle checks see the stack alone.
func checkLoadTest(ctx context.Context, cs kubernetes.Interface, eng *apply.Engine, lt *stack.Output, r *Report) error {
	if _, err := eng.Apply(ctx, lt); err != nil {
		r.check(false, "loadtest: apply: %v", err)
		return nil
	}
	r.check(true, "loadtest: every object accepted and ready (Jobs complete): %d objects", len(lt.Objects))
	pools := map[string]bool{}
	for _, o := range lt.Objects {
		for _, t := range stack.PodSpecs(o.Object) {
			if t.Affinity == nil || t.Affinity.NodeAffinity == nil || t.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
				r.check(false, "loadtest: %s has no required node affinity", o.Ref)
				continue
			}
			for _, term := range t.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
				for _, e := range term.MatchExpressions {
					for _, v := range e.Values {
						pools[v] = true
					}
				}
			}
		}
	}
	var names []string
	for p := range pools {
		names = append(names, p)
	}
	sort.Strings(names)
	onPool := func(node string) bool {
		for p := range pools {
			if strings.HasPrefix(node, p+"-") {
				return true
			}
		}
		return false
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	instance := lt.Stack
	var mine, misplaced, intruders []string
	for _, p := range pods.Items {
		ours := p.Namespace == lt.Namespace && p.Labels[stack.LabelInstance] == instance
		switch {
		case ours && !onPool(p.Spec.NodeName):
			misplaced = append(misplaced, p.Name+"@"+p.Spec.NodeName)
		case ours:
			mine = append(mine, p.Name)
		case !ours && p.Spec.NodeName != "" && onPool(p.Spec.NodeName):
			intruders = append(intruders, p.Namespace+"/"+p.Name+"@"+p.Spec.NodeName)
		}
	}
	r.check(len(mine) > 0 && len(misplaced) == 0, "loadtest: its %d pods all run on pool %s (elsewhere: %v)", len(mine), strings.Join(names, ","), misplaced)
	r.check(len(intruders) == 0, "loadtest: no other pod runs on pool %s (%v)", strings.Join(names, ","), intruders)
	if _, err := eng.Delete(ctx, lt); err != nil {
		return fmt.Errorf("loadtest: delete: %w", err)
	}
	return nil
}
