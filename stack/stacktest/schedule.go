package stacktest

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/iotstack/iotstack/stack"
)

// Node is a node of a topology as the placement check sees it.
type Node struct {
	Name   string
	Zone   string
	Labels map[string]string
	Taints []corev1.Taint
	CPU    resource.Quantity // free
	Memory resource.Quantity // free
}

// Pod is a placed replica.
type Pod struct {
	Name   string
	Node   string
	Zone   string
	Labels map[string]string
}

// Nodes expands a topology into its nodes: <pool>-<zone>-<i>.
func Nodes(topo stack.Topology) []*Node {
	var out []*Node
	for _, h := range topo.Hosts() {
		l := map[string]string{stack.ZoneLabel: h.Zone, stack.HostnameLabel: h.Name}
		for k, v := range h.Pool.Labels {
			l[k] = v
		}
		out = append(out, &Node{Name: h.Name, Zone: h.Zone, Labels: l, Taints: h.Pool.Taints, CPU: h.Pool.CPU.DeepCopy(), Memory: h.Pool.Memory.DeepCopy()})
	}
	return out
}

// Schedule places every replica of the output's Deployments and
// StatefulSets on the topology's nodes, in output order, honouring what the
// scheduler enforces as hard rules: required node affinity, taints,
// required pod anti-affinity, DoNotSchedule topology spread constraints
// (with minDomains) and resource requests. It is a check of the rules the
// stack renders, not a scheduler: among feasible nodes it picks the one
// with the fewest pods of the workload, then the most free CPU, then by
// name. It returns the pods by workload name, or an error naming the first
// replica that fits nowhere.
func Schedule(topo stack.Topology, out *stack.Output) (map[string][]Pod, error) {
	nodes := Nodes(topo)
	var placed []Pod
	result := map[string][]Pod{}
	for _, o := range out.Objects {
		var name string
		var replicas int32 = 1
		var tmpl corev1.PodTemplateSpec
		switch w := o.Object.(type) {
		case *appsv1.StatefulSet:
			name, tmpl = w.Name, w.Spec.Template
			if w.Spec.Replicas != nil {
				replicas = *w.Spec.Replicas
			}
		case *appsv1.Deployment:
			name, tmpl = w.Name, w.Spec.Template
			if w.Spec.Replicas != nil {
				replicas = *w.Spec.Replicas
			}
		default:
			continue
		}
		cpu, mem := requests(tmpl.Spec)
		for i := int32(0); i < replicas; i++ {
			pod := Pod{Name: fmt.Sprintf("%s-%d", name, i), Labels: tmpl.Labels}
			eligible := filter(nodes, func(n *Node) bool { return nodeAffinityOK(tmpl.Spec, n) && tolerates(tmpl.Spec, n) })
			var feasible []*Node
			for _, n := range eligible {
				if n.CPU.Cmp(cpu) < 0 || n.Memory.Cmp(mem) < 0 || !antiAffinityOK(tmpl.Spec, n, placed) || !spreadOK(tmpl.Spec, n, eligible, placed) {
					continue
				}
				feasible = append(feasible, n)
			}
			if len(feasible) == 0 {
				return result, fmt.Errorf("%s/%s fits on no node of %d eligible (cpu %s, memory %s requested)", o.Ref.Kind, pod.Name, len(eligible), cpu.String(), mem.String())
			}
			sort.SliceStable(feasible, func(a, b int) bool {
				ca, cb := countOn(feasible[a], result[name]), countOn(feasible[b], result[name])
				if ca != cb {
					return ca < cb
				}
				if c := feasible[a].CPU.Cmp(feasible[b].CPU); c != 0 {
					return c > 0
				}
				return feasible[a].Name < feasible[b].Name
			})
			n := feasible[0]
			n.CPU.Sub(cpu)
			n.Memory.Sub(mem)
			pod.Node, pod.Zone = n.Name, n.Zone
			placed = append(placed, pod)
			result[name] = append(result[name], pod)
		}
	}
	return result, nil
}

func filter(nodes []*Node, keep func(*Node) bool) []*Node {
	var out []*Node
	for _, n := range nodes {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

func countOn(n *Node, pods []Pod) int {
	c := 0
	for _, p := range pods {
		if p.Zone == n.Zone {
			c++
		}
	}
	return c
}

func requests(spec corev1.PodSpec) (cpu, mem resource.Quantity) {
	for _, c := range spec.Containers {
		cpu.Add(c.Resources.Requests[corev1.ResourceCPU])
		mem.Add(c.Resources.Requests[corev1.ResourceMemory])
	}
	return cpu, mem
}

func nodeAffinityOK(spec corev1.PodSpec, n *Node) bool {
	for k, v := range spec.NodeSelector {
		if n.Labels[k] != v {
			return false
		}
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for _, term := range spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		ok := true
		for _, e := range term.MatchExpressions {
			v, has := n.Labels[e.Key]
			switch e.Operator {
			case corev1.NodeSelectorOpIn:
				ok = ok && has && contains(e.Values, v)
			case corev1.NodeSelectorOpNotIn:
				ok = ok && !(has && contains(e.Values, v))
			case corev1.NodeSelectorOpExists:
				ok = ok && has
			case corev1.NodeSelectorOpDoesNotExist:
				ok = ok && !has
			default:
				ok = false
			}
		}
		if ok {
			return true // terms are ORed
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func tolerates(spec corev1.PodSpec, n *Node) bool {
	for _, t := range n.Taints {
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for _, tol := range spec.Tolerations {
			if tol.ToleratesTaint(&t) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}

func antiAffinityOK(spec corev1.PodSpec, n *Node, placed []Pod) bool {
	if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
		return true
	}
	for _, term := range spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		for _, p := range placed {
			if !selects(term.LabelSelector, p.Labels) {
				continue
			}
			switch term.TopologyKey {
			case stack.HostnameLabel:
				if p.Node == n.Name {
					return false
				}
			case stack.ZoneLabel:
				if p.Zone == n.Zone {
					return false
				}
			}
		}
	}
	return true
}

func spreadOK(spec corev1.PodSpec, n *Node, eligible []*Node, placed []Pod) bool {
	for _, c := range spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			continue
		}
		domainOf := func(node *Node) string { return node.Labels[c.TopologyKey] }
		counts := map[string]int{}
		for _, e := range eligible {
			counts[domainOf(e)] += 0
		}
		for _, p := range placed {
			if !selects(c.LabelSelector, p.Labels) {
				continue
			}
			for _, e := range eligible {
				if e.Name == p.Node {
					counts[domainOf(e)]++
				}
			}
		}
		lowest := -1
		for _, v := range counts {
			if lowest < 0 || v < lowest {
				lowest = v
			}
		}
		if c.MinDomains != nil && len(counts) < int(*c.MinDomains) {
			lowest = 0
		}
		if counts[domainOf(n)]+1-lowest > int(c.MaxSkew) {
			return false
		}
	}
	return true
}
