package stack

import (
	"fmt"
	"sort"
	"strings"
)

// kindOrder is the apply order of kinds inside a component's file: the
// namespace, CRDs, RBAC and ServiceAccounts, configuration, storage,
// networking, disruption budgets, workloads, Jobs, then exposure. It follows
// the order Helm and Tanka use (pkg/process/sort.go in grafana/tanka),
// grouped as the README lists them. Unknown kinds (custom
// resources) sort last, after the CRDs that define them are established.
var kindOrder = func() map[string]int {
	groups := [][]string{
		{"Namespace", "ResourceQuota", "LimitRange", "PriorityClass"},
		{"CustomResourceDefinition"},
		{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"},
		{"ConfigMap", "Secret"},
		{"StorageClass", "PersistentVolume", "PersistentVolumeClaim"},
		{"NetworkPolicy", "Service", "Endpoints", "EndpointSlice"},
		{"PodDisruptionBudget"},
		{"DaemonSet", "Pod", "ReplicaSet", "Deployment", "StatefulSet", "HorizontalPodAutoscaler"},
		{"Job", "CronJob"},
		{"IngressClass", "Ingress"},
	}
	m := map[string]int{}
	n := 0
	for _, g := range groups {
		for _, k := range g {
			m[k] = n
			n++
		}
	}
	return m
}()

func kindRank(kind string) int {
	if r, ok := kindOrder[kind]; ok {
		return r
	}
	return len(kindOrder)
}

// sortObjects orders a component's objects by kind, then namespace, then
// name; custom kinds by group and kind name.
func sortObjects(objs []*Rendered) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i].Ref, objs[j].Ref
		if ra, rb := kindRank(a.Kind), kindRank(b.Kind); ra != rb {
			return ra < rb
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// orderComponents returns the components in dependency order: a component
// comes after everything it depends on, and otherwise in the order it was
// added. A dependency cycle is an error naming the components in it.
func orderComponents(cs []*Component) ([]*Component, error) {
	index := map[*Component]int{}
	for i, c := range cs {
		index[c] = i
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(cs))
	var out []*Component
	var stack []string
	var visit func(c *Component) error
	visit = func(c *Component) error {
		i, ok := index[c]
		if !ok {
			return fmt.Errorf("component %s depends on a component of another stack", strings.Join(append(stack, c.name), " -> "))
		}
		switch state[i] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(stack, c.name), " -> "))
		}
		state[i] = visiting
		stack = append(stack, c.name)
		for _, d := range c.deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		out = append(out, c)
		return nil
	}
	for _, c := range cs {
		if err := visit(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}
