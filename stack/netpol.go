package stack

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// NamespaceNameLabel is the label the API server sets on every Namespace
// to its own name (Kubernetes 1.22 and later), which a namespace selector
// can match on.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// DefaultMonitoringNamespace is the namespace whose pods may scrape the
// exporters when Options.MonitoringNamespace is empty.
const DefaultMonitoringNamespace = "monitoring"

// podGroup is the pods of one role of a component: its pod templates
// whose selector labels (name, instance, component) are equal. Each group
// gets a NetworkPolicy of its own that selects exactly these labels.
type podGroup struct {
	c      *Component
	role   string
	sel    map[string]string   // name, instance, component, as the templates carry them
	labels []map[string]string // every template's labels, merged as rendered
	specs  []*corev1.PodSpec
	scrape map[int32]bool // prometheus.io/port annotations
}

func (g *podGroup) key() string {
	return g.sel[LabelInstance] + "/" + g.sel[LabelName] + "/" + g.sel[LabelComponent]
}

// port resolves a container port name of the group's pods.
func (g *podGroup) port(name string) (corev1.ContainerPort, bool) {
	for _, spec := range g.specs {
		for _, c := range spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name {
					if p.Protocol == "" {
						p.Protocol = corev1.ProtocolTCP
					}
					return p, true
				}
			}
		}
	}
	return corev1.ContainerPort{}, false
}

func (g *podGroup) portNames() string {
	var names []string
	seen := map[string]bool{}
	for _, spec := range g.specs {
		for _, c := range spec.Containers {
			for _, p := range c.Ports {
				if p.Name != "" && !seen[p.Name] {
					seen[p.Name] = true
					names = append(names, p.Name)
				}
			}
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// podTemplateOf returns the pod template of a workload (or a bare Pod as
// one), or nil.
func podTemplateOf(o Object) *corev1.PodTemplateSpec {
	switch x := o.(type) {
	case *appsv1.Deployment:
		return &x.Spec.Template
	case *appsv1.StatefulSet:
		return &x.Spec.Template
	case *appsv1.DaemonSet:
		return &x.Spec.Template
	case *appsv1.ReplicaSet:
		return &x.Spec.Template
	case *batchv1.Job:
		return &x.Spec.Template
	case *batchv1.CronJob:
		return &x.Spec.JobTemplate.Spec.Template
	case *corev1.Pod:
		return &corev1.PodTemplateSpec{ObjectMeta: x.ObjectMeta, Spec: x.Spec}
	}
	return nil
}

// podGroups returns the component's pod groups in the order their first
// template was added.
func (c *Component) podGroups() []*podGroup {
	var out []*podGroup
	byKey := map[string]*podGroup{}
	for _, o := range c.objects {
		if isNil(o) {
			continue
		}
		t := podTemplateOf(o)
		if t == nil {
			continue
		}
		l := c.merged(t.Labels, true)
		sel := map[string]string{LabelName: l[LabelName], LabelInstance: l[LabelInstance], LabelComponent: l[LabelComponent]}
		g := &podGroup{c: c, role: l[LabelComponent], sel: sel, scrape: map[int32]bool{}}
		if have, ok := byKey[g.key()]; ok {
			g = have
		} else {
			byKey[g.key()] = g
			out = append(out, g)
		}
		g.labels = append(g.labels, l)
		g.specs = append(g.specs, &t.Spec)
		if p, err := strconv.ParseInt(t.Annotations["prometheus.io/port"], 10, 32); err == nil && p > 0 {
			g.scrape[int32(p)] = true
		}
	}
	return out
}

// groupIndex finds the pod groups a label selector matches without
// comparing it with every group: groups are indexed by each of their
// selector labels, and a selector is compared only with the groups of its
// rarest selector label. Building it and each lookup are linear in the
// groups returned, so synthesis stays linear in the number of objects.
type groupIndex struct {
	all   []*podGroup
	byKey map[string][]*podGroup // "key=value" of the selector labels
}

func newGroupIndex(groups []*podGroup) *groupIndex {
	idx := &groupIndex{all: groups, byKey: map[string][]*podGroup{}}
	for _, g := range groups {
		for k, v := range g.sel {
			idx.byKey[k+"="+v] = append(idx.byKey[k+"="+v], g)
		}
	}
	return idx
}

// matching returns the groups with a template whose labels contain sel.
func (idx *groupIndex) matching(sel map[string]string) []*podGroup {
	candidates := idx.all
	narrowed := false
	for k, v := range sel {
		if k != LabelName && k != LabelInstance && k != LabelComponent {
			continue
		}
		if gs := idx.byKey[k+"="+v]; !narrowed || len(gs) < len(candidates) {
			candidates, narrowed = gs, true
		}
	}
	set := labels.SelectorFromSet(sel)
	var out []*podGroup
	for _, g := range candidates {
		for _, l := range g.labels {
			if set.Matches(labels.Set(l)) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// monitoringSelector is the namespace selector of the scraper.
func (s *Stack) monitoringSelector() map[string]string {
	if len(s.opts.MonitoringNamespaceLabels) > 0 {
		out := map[string]string{}
		for k, v := range s.opts.MonitoringNamespaceLabels {
			out[k] = v
		}
		return out
	}
	return map[string]string{NamespaceNameLabel: s.opts.MonitoringNamespace}
}

type portKey struct {
	port, end int32 // end > port: the range port..end
	proto     corev1.Protocol
}

func (p portKey) String() string { return fmt.Sprintf("%05d-%05d/%s", p.port, p.end, p.proto) }

// admitted collects, for one pod group, who may open which port.
type admitted struct {
	peers    map[string]networkingv1.NetworkPolicyPeer
	ports    map[string]map[portKey]bool // by peer key
	external map[portKey]bool
}

// networkPolicies returns, per component with pods, one NetworkPolicy per
// role (pod group) that selects exactly that role's pods and admits:
//   - the pods that Use one of its endpoints (Component.Uses, Pods.Uses,
//     Endpoint.AllowFrom, Component.Peers), on those ports only;
//   - anyone, on the ports a LoadBalancer or NodePort Service or an
//     Ingress backend exposes to the outside;
//   - the monitoring namespace, on the Prometheus scrape port.
//
// Nothing else reaches the pods: a pod group no one uses and nothing
// exposes (a Job) admits no ingress at all. Egress stays open (DNS, the
// API server, peers in other namespaces, external services): the policy
// declares it so that it is explicit, not forgotten. The problems are
// wiring mistakes: an endpoint naming a role or port the provider's pods
// do not have, or a consumer without pods.
func (s *Stack) networkPolicies(comps []*Component) (map[*Component][]Object, []Problem) {
	var problems []Problem
	groups := map[*Component][]*podGroup{}
	var all []*podGroup
	for _, c := range comps {
		gs := c.podGroups()
		groups[c] = gs
		all = append(all, gs...)
		for _, w := range c.wiring {
			problems = append(problems, Problem{Component: c.name, Message: w})
		}
	}
	idx := newGroupIndex(all)
	seen := map[*podGroup]*admitted{}
	adm := func(g *podGroup) *admitted {
		if a := seen[g]; a != nil {
			return a
		}
		a := &admitted{peers: map[string]networkingv1.NetworkPolicyPeer{}, ports: map[string]map[portKey]bool{}, external: map[portKey]bool{}}
		seen[g] = a
		return a
	}

	// Exposed ports: LoadBalancer and NodePort Services, Ingress backends.
	ingressBackends := map[string]bool{} // Service name + "/" + port name or number
	for _, c := range comps {
		for _, o := range c.objects {
			ing, ok := o.(*networkingv1.Ingress)
			if !ok || isNil(o) {
				continue
			}
			backends := []*networkingv1.IngressBackend{ing.Spec.DefaultBackend}
			for _, r := range ing.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for i := range r.HTTP.Paths {
					backends = append(backends, &r.HTTP.Paths[i].Backend)
				}
			}
			for _, b := range backends {
				if b == nil || b.Service == nil {
					continue
				}
				if b.Service.Port.Name != "" {
					ingressBackends[b.Service.Name+"/"+b.Service.Port.Name] = true
				} else {
					ingressBackends[b.Service.Name+"/"+strconv.Itoa(int(b.Service.Port.Number))] = true
				}
			}
		}
	}
	for _, c := range comps {
		for _, o := range c.objects {
			svc, ok := o.(*corev1.Service)
			if !ok || isNil(o) || len(svc.Spec.Selector) == 0 {
				continue
			}
			static := map[string]string{}
			for k, v := range svc.Spec.Selector {
				if _, rt := s.runtime[k]; !rt {
					static[k] = v
				}
			}
			lb := svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort
			for _, sp := range svc.Spec.Ports {
				if !lb && !ingressBackends[svc.Name+"/"+sp.Name] && !ingressBackends[svc.Name+"/"+strconv.Itoa(int(sp.Port))] {
					continue
				}
				proto := sp.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				for _, g := range idx.matching(static) {
					target := sp.TargetPort
					var num int32
					switch {
					case target.Type == intstr.String:
						cp, ok := g.port(target.StrVal)
						if !ok {
							continue // reported by the Service's validation
						}
						num = cp.ContainerPort
					case target.IntVal == 0:
						num = sp.Port
					default:
						num = target.IntVal
					}
					adm(g).external[portKey{port: num, proto: proto}] = true
				}
			}
		}
	}

	// Declared consumers and peers.
	consumers := map[*Component][]*podGroup{}
	groupsOf := func(c *Component) []*podGroup {
		if gs, ok := groups[c]; ok {
			return gs
		}
		if gs, ok := consumers[c]; ok {
			return gs
		}
		gs := c.podGroups()
		consumers[c] = gs
		return gs
	}
	for _, c := range comps {
		for _, gr := range c.grants {
			var targets []*podGroup
			for _, g := range groups[c] {
				if g.role == gr.to.pods.role {
					targets = append(targets, g)
				}
			}
			from := gr.fromAll
			if from == nil {
				from = gr.from.c
			}
			who := "component " + from.name
			if gr.fromAll == nil {
				who += " (role " + gr.from.role + ")"
			}
			if len(targets) == 0 {
				problems = append(problems, Problem{Component: c.name, Field: "networkPolicy",
					Message: fmt.Sprintf("%s uses %s, but component %s has no pod template of role %q", who, gr.to, c.name, gr.to.pods.role)})
				continue
			}
			var sources []*podGroup
			for _, g := range groupsOf(from) {
				if gr.fromAll != nil || g.role == gr.from.role {
					sources = append(sources, g)
				}
			}
			if len(sources) == 0 {
				problems = append(problems, Problem{Component: c.name, Field: "networkPolicy",
					Message: fmt.Sprintf("%s uses %s but has no pod template to admit", who, gr.to)})
				continue
			}
			for _, t := range targets {
				pk := portKey{port: gr.to.from, end: gr.to.to, proto: gr.to.protocol}
				if gr.to.port != "" {
					cp, ok := t.port(gr.to.port)
					if !ok || cp.Protocol != gr.to.protocol {
						problems = append(problems, Problem{Component: c.name, Field: "networkPolicy",
							Message: fmt.Sprintf("%s uses %s (%s), but the pods of role %q declare no such container port (ports: %s)", who, gr.to, gr.to.protocol, t.role, t.portNames())})
						continue
					}
					pk = portKey{port: cp.ContainerPort, proto: cp.Protocol}
				} else if gr.to.from < 1 || gr.to.to < gr.to.from || gr.to.to > 65535 {
					problems = append(problems, Problem{Component: c.name, Field: "networkPolicy",
						Message: fmt.Sprintf("%s uses %s: a port range must be 1 to 65535 with from <= to", who, gr.to)})
					continue
				} else if gr.to.to == gr.to.from {
					pk.end = 0
				}
				a := adm(t)
				for _, src := range sources {
					key := src.c.stack.opts.Namespace + "/" + src.key()
					if _, ok := a.peers[key]; !ok {
						peer := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: copyLabels(src.sel)}}
						if ns := src.c.stack.opts.Namespace; ns != s.opts.Namespace {
							peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceNameLabel: ns}}
						}
						a.peers[key] = peer
						a.ports[key] = map[portKey]bool{}
					}
					a.ports[key][pk] = true
				}
			}
		}
	}

	out := map[*Component][]Object{}
	for _, c := range comps {
		for _, g := range groups[c] {
			a := adm(g)
			name := c.name
			if g.role != c.meta.Role {
				name = c.name + "-" + g.role
			}
			np := &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelComponent: g.role}},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: copyLabels(g.sel)},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
					Ingress:     []networkingv1.NetworkPolicyIngressRule{},
					Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
				},
			}
			// One rule per set of ports, naming every peer that may open them.
			byPorts := map[string][]string{}
			for key, ports := range a.ports {
				pk := portsKey(ports)
				byPorts[pk] = append(byPorts[pk], key)
			}
			for _, pk := range sortedKeys(byPorts) {
				keys := byPorts[pk]
				sort.Strings(keys)
				rule := networkingv1.NetworkPolicyIngressRule{Ports: policyPorts(a.ports[keys[0]])}
				for _, k := range keys {
					rule.From = append(rule.From, a.peers[k])
				}
				np.Spec.Ingress = append(np.Spec.Ingress, rule)
			}
			if len(a.external) > 0 {
				np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: policyPorts(a.external)})
			}
			if len(g.scrape) > 0 {
				scrape := map[portKey]bool{}
				for p := range g.scrape {
					scrape[portKey{port: p, proto: corev1.ProtocolTCP}] = true
				}
				np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
					From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: s.monitoringSelector()}}},
					Ports: policyPorts(scrape)})
			}
			out[c] = append(out[c], np)
		}
	}
	return out, problems
}

func portsKey(ports map[portKey]bool) string {
	keys := make([]string, 0, len(ports))
	for p := range ports {
		keys = append(keys, p.String())
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func policyPorts(ports map[portKey]bool) []networkingv1.NetworkPolicyPort {
	keys := make([]portKey, 0, len(ports))
	for p := range ports {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].port != keys[j].port {
			return keys[i].port < keys[j].port
		}
		return keys[i].proto < keys[j].proto
	})
	out := make([]networkingv1.NetworkPolicyPort, len(keys))
	for i, p := range keys {
		out[i] = networkingv1.NetworkPolicyPort{Protocol: ptr.To(p.proto), Port: ptr.To(intstr.FromInt32(p.port))}
		if p.end > p.port {
			out[i].EndPort = ptr.To(p.end)
		}
	}
	return out
}
