// Package netmatrix evaluates Kubernetes NetworkPolicies offline: given
// the pods (one per workload), their namespaces and the policies, it
// answers whether a source may open a port of a destination pod, and
// computes the whole reachability matrix of a synthesized stack.
//
// It follows the semantics of the NetworkPolicy API as the Kubernetes
// documentation states them (concepts/services-networking/network-policies
// and the networking/v1 API reference):
//
//   - a pod is isolated for ingress when at least one policy in its
//     namespace selects it (podSelector; an empty selector selects every
//     pod of the namespace) and lists Ingress in policyTypes; policyTypes
//     left empty means Ingress, plus Egress when the policy has egress
//     rules. A pod that no policy isolates admits every connection;
//   - the policies selecting a pod add up: a connection is allowed when
//     any rule of any of them allows it, and an isolated pod with no rule
//     admits nothing;
//   - a rule allows a connection when one of its peers matches the source
//     (no peers: every source) and one of its ports matches the port (no
//     ports: every port);
//   - a peer's podSelector alone matches pods of the policy's namespace; a
//     namespaceSelector alone every pod of the matching namespaces; both
//     in one peer match pods satisfying both (AND), while two peers are
//     alternatives (OR); an ipBlock matches source addresses in its CIDR
//     and not in its exceptions (the documentation meant it for addresses
//     outside the cluster and leaves pod addresses to the implementation:
//     here a pod's IP, when given, is matched too);
//   - a port's protocol defaults to TCP; a numeric port matches that port,
//     or with endPort the range port..endPort; a named port matches the
//     destination pod's container port of that name and protocol; a
//     NetworkPolicyPort without a port matches every port of its
//     protocol;
//   - the connection must also be allowed out of the source pod by the
//     same rules applied to egress (a source outside the cluster has no
//     egress policy);
//   - a pod cannot block access to itself: a connection from a pod to
//     itself is always allowed.
//
// Its own tests check each of these statements with a table of cases.
package netmatrix

import (
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// NamespaceNameLabel is the label the API server puts on every namespace,
// set to its name.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Pod is a pod (standing for every pod of one workload): its namespace,
// labels, container ports and address.
type Pod struct {
	// Name identifies the pod in results, e.g. "StatefulSet/kafka".
	Name      string
	Namespace string
	Labels    map[string]string
	Ports     []corev1.ContainerPort
	// IP is the pod's address, matched by ipBlock peers; optional.
	IP netip.Addr
}

// Source opens a connection: a pod of the cluster, or an address outside
// it (Pod nil).
type Source struct {
	Pod *Pod
	IP  netip.Addr
}

// External is a source outside the cluster at ip.
func External(ip string) Source { return Source{IP: netip.MustParseAddr(ip)} }

// FromPod is a source pod.
func FromPod(p *Pod) Source { return Source{Pod: p, IP: p.IP} }

// Cluster holds what the evaluator needs: the namespaces and their
// labels, and the policies.
type Cluster struct {
	namespaces map[string]map[string]string
	policies   []*networkingv1.NetworkPolicy
}

// NewCluster returns a cluster with the given namespaces (name to labels;
// kubernetes.io/metadata.name is added as the API server does) and
// policies. A namespace a pod or policy names but the map lacks is
// created with only its name label.
func NewCluster(namespaces map[string]map[string]string, policies []*networkingv1.NetworkPolicy) *Cluster {
	c := &Cluster{namespaces: map[string]map[string]string{}, policies: policies}
	for ns, l := range namespaces {
		c.namespace(ns)
		for k, v := range l {
			c.namespaces[ns][k] = v
		}
	}
	for _, p := range policies {
		c.namespace(p.Namespace)
	}
	return c
}

func (c *Cluster) namespace(ns string) map[string]string {
	if l, ok := c.namespaces[ns]; ok {
		return l
	}
	l := map[string]string{NamespaceNameLabel: ns}
	c.namespaces[ns] = l
	return l
}

// policyTypes returns the effective policy types.
func policyTypes(p *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(p.Spec.PolicyTypes) == 0 {
		return true, len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func selects(sel *metav1.LabelSelector, l map[string]string) (bool, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(l)), nil
}

// peerMatches reports whether peer, in a policy of namespace policyNS,
// matches the other end of the connection (a pod, or an address).
func (c *Cluster) peerMatches(peer networkingv1.NetworkPolicyPeer, policyNS string, other Source) (bool, error) {
	if peer.IPBlock != nil {
		if !other.IP.IsValid() {
			return false, nil
		}
		in, err := inBlock(peer.IPBlock, other.IP)
		return in, err
	}
	if other.Pod == nil {
		return false, nil // selectors match pods only
	}
	if peer.NamespaceSelector != nil {
		ok, err := selects(peer.NamespaceSelector, c.namespace(other.Pod.Namespace))
		if err != nil || !ok {
			return false, err
		}
	} else if other.Pod.Namespace != policyNS {
		return false, nil
	}
	if peer.PodSelector != nil {
		return selects(peer.PodSelector, other.Pod.Labels)
	}
	return true, nil
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) (bool, error) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return false, fmt.Errorf("ipBlock.cidr %q: %w", b.CIDR, err)
	}
	if !cidr.Contains(ip) {
		return false, nil
	}
	for _, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			return false, fmt.Errorf("ipBlock.except %q: %w", e, err)
		}
		if ex.Contains(ip) {
			return false, nil
		}
	}
	return true, nil
}

// portMatches reports whether a policy port matches port/proto on the
// destination pod dst.
func portMatches(pp networkingv1.NetworkPolicyPort, dst *Pod, port int32, proto corev1.Protocol) bool {
	want := corev1.ProtocolTCP
	if pp.Protocol != nil {
		want = *pp.Protocol
	}
	if want != proto {
		return false
	}
	if pp.Port == nil {
		return true
	}
	if pp.Port.Type == intstr.String { // named: the destination's container port of that name and protocol
		for _, cp := range dst.Ports {
			p := cp.Protocol
			if p == "" {
				p = corev1.ProtocolTCP
			}
			if cp.Name == pp.Port.StrVal && p == proto && cp.ContainerPort == port {
				return true
			}
		}
		return false
	}
	if pp.EndPort != nil {
		return port >= pp.Port.IntVal && port <= *pp.EndPort
	}
	return port == pp.Port.IntVal
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, dst *Pod, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		if portMatches(pp, dst, port, proto) {
			return true
		}
	}
	return false
}

// Allowed reports whether src may open port/proto on dst: allowed out of
// src by the egress policies selecting it, and into dst by the ingress
// policies selecting it.
func (c *Cluster) Allowed(src Source, dst *Pod, port int32, proto corev1.Protocol) (bool, error) {
	if src.Pod == dst {
		return true, nil
	}
	return c.allowed(src, dst, port, proto)
}

func (c *Cluster) allowed(src Source, dst *Pod, port int32, proto corev1.Protocol) (bool, error) {
	in, err := c.ingressAllowed(src, dst, port, proto)
	if err != nil || !in {
		return false, err
	}
	if src.Pod == nil {
		return true, nil
	}
	return c.egressAllowed(src.Pod, dst, port, proto)
}

func (c *Cluster) ingressAllowed(src Source, dst *Pod, port int32, proto corev1.Protocol) (bool, error) {
	isolated := false
	for _, p := range c.policies {
		if p.Namespace != dst.Namespace {
			continue
		}
		if in, _ := policyTypes(p); !in {
			continue
		}
		ok, err := selects(&p.Spec.PodSelector, dst.Labels)
		if err != nil {
			return false, fmt.Errorf("NetworkPolicy %s/%s: podSelector: %w", p.Namespace, p.Name, err)
		}
		if !ok {
			continue
		}
		isolated = true
		for _, r := range p.Spec.Ingress {
			if !portsMatch(r.Ports, dst, port, proto) {
				continue
			}
			if len(r.From) == 0 {
				return true, nil
			}
			for _, peer := range r.From {
				m, err := c.peerMatches(peer, p.Namespace, src)
				if err != nil {
					return false, fmt.Errorf("NetworkPolicy %s/%s: %w", p.Namespace, p.Name, err)
				}
				if m {
					return true, nil
				}
			}
		}
	}
	return !isolated, nil
}

func (c *Cluster) egressAllowed(src, dst *Pod, port int32, proto corev1.Protocol) (bool, error) {
	isolated := false
	to := FromPod(dst)
	for _, p := range c.policies {
		if p.Namespace != src.Namespace {
			continue
		}
		if _, eg := policyTypes(p); !eg {
			continue
		}
		ok, err := selects(&p.Spec.PodSelector, src.Labels)
		if err != nil {
			return false, fmt.Errorf("NetworkPolicy %s/%s: podSelector: %w", p.Namespace, p.Name, err)
		}
		if !ok {
			continue
		}
		isolated = true
		for _, r := range p.Spec.Egress {
			if !portsMatch(r.Ports, dst, port, proto) {
				continue
			}
			if len(r.To) == 0 {
				return true, nil
			}
			for _, peer := range r.To {
				m, err := c.peerMatches(peer, p.Namespace, to)
				if err != nil {
					return false, fmt.Errorf("NetworkPolicy %s/%s: %w", p.Namespace, p.Name, err)
				}
				if m {
					return true, nil
				}
			}
		}
	}
	return !isolated, nil
}

// Edge is one allowed connection of a matrix: From opens Port/Protocol
// (named PortName on the destination) of To.
type Edge struct {
	From, To string
	Port     int32
	Protocol corev1.Protocol
	PortName string
}

// String is "from -> to:port/name".
func (e Edge) String() string {
	return fmt.Sprintf("%s -> %s:%d/%s", e.From, e.To, e.Port, e.PortName)
}

// Matrix returns every allowed connection from each source to each
// container port of each destination pod, sorted, edges named by the
// sources map's keys and the destinations' Names. As a Pod stands for
// every pod of its workload, a source compared with its own Pod stands for
// one replica opening another: the self exception does not apply.
func (c *Cluster) Matrix(sources map[string]Source, pods []*Pod) ([]Edge, error) {
	var out []Edge
	for name, src := range sources {
		for _, dst := range pods {
			for _, cp := range dst.Ports {
				proto := cp.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				ok, err := c.allowed(src, dst, cp.ContainerPort, proto)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, Edge{From: name, To: dst.Name, Port: cp.ContainerPort, Protocol: proto, PortName: cp.Name})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.To != b.To {
			return a.To < b.To
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.From < b.From
	})
	return out, nil
}
