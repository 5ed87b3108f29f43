package netmatrix

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The cases below restate the NetworkPolicy semantics of the Kubernetes
// documentation (concepts/services-networking/network-policies: "The two
// sorts of pod isolation", "Behavior of to and from selectors", the
// NetworkPolicy resource example, "Targeting a range of ports", and the
// networking/v1 API reference for policyTypes, ports and ipBlock).

var (
	tcp = ptr.To(corev1.ProtocolTCP)
	udp = ptr.To(corev1.ProtocolUDP)

	// The documentation's example: role=db pods in namespace default,
	// frontends, clients in a namespace labelled project=myproject.
	db       = &Pod{Name: "db", Namespace: "default", Labels: map[string]string{"role": "db"}, Ports: []corev1.ContainerPort{{Name: "postgres", ContainerPort: 6379}, {Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}, IP: netip.MustParseAddr("10.0.0.10")}
	frontend = &Pod{Name: "frontend", Namespace: "default", Labels: map[string]string{"role": "frontend"}, IP: netip.MustParseAddr("10.0.0.11")}
	other    = &Pod{Name: "other", Namespace: "default", Labels: map[string]string{"role": "other"}, IP: netip.MustParseAddr("10.0.0.12")}
	projFE   = &Pod{Name: "proj-frontend", Namespace: "myproject", Labels: map[string]string{"role": "frontend"}, IP: netip.MustParseAddr("10.0.1.11")}
	projX    = &Pod{Name: "proj-x", Namespace: "myproject", Labels: map[string]string{"role": "x"}, IP: netip.MustParseAddr("10.0.1.12")}
	elseFE   = &Pod{Name: "else-frontend", Namespace: "elsewhere", Labels: map[string]string{"role": "frontend"}, IP: netip.MustParseAddr("10.0.2.11")}

	namespaces = map[string]map[string]string{"default": nil, "myproject": {"project": "myproject"}, "elsewhere": nil}
)

func sel(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func policy(name string, podSel *metav1.LabelSelector, types []networkingv1.PolicyType, in []networkingv1.NetworkPolicyIngressRule, eg []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: *podSel, PolicyTypes: types, Ingress: in, Egress: eg}}
}

func numPort(p int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: tcp, Port: ptr.To(intstr.FromInt32(p))}
}

var ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}

func TestSemantics(t *testing.T) {
	type conn struct {
		src   Source
		dst   *Pod
		port  int32
		proto corev1.Protocol
		want  bool
	}
	tc := func(src Source, dst *Pod, port int32, want bool) conn {
		return conn{src, dst, port, corev1.ProtocolTCP, want}
	}
	internet := External("203.0.113.5")
	for _, c := range []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		conns    []conn
	}{
		{"no policy: every pod is non-isolated and admits everything", nil,
			[]conn{tc(FromPod(frontend), db, 6379, true), tc(internet, db, 6379, true)}},
		{"default deny: empty podSelector, Ingress, no rules", []*networkingv1.NetworkPolicy{
			policy("deny", sel(), ingressOnly, nil, nil)},
			[]conn{tc(FromPod(frontend), db, 6379, false), tc(FromPod(other), frontend, 80, false), tc(internet, frontend, 80, false)}},
		{"a pod cannot block access to itself", []*networkingv1.NetworkPolicy{
			policy("deny", sel(), ingressOnly, nil, nil)},
			[]conn{tc(FromPod(db), db, 6379, true), tc(FromPod(frontend), db, 6379, false)}},
		{"a policy isolates only the pods it selects", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, nil, nil)},
			[]conn{tc(FromPod(db), frontend, 80, true), tc(FromPod(frontend), db, 6379, false)}},
		{"policies apply in their own namespace only", []*networkingv1.NetworkPolicy{
			policy("deny", sel(), ingressOnly, nil, nil)},
			[]conn{tc(FromPod(frontend), projX, 80, true)}},
		{"policyTypes empty means Ingress: no rules isolates", []*networkingv1.NetworkPolicy{
			policy("deny", sel("role", "db"), nil, nil, nil)},
			[]conn{tc(FromPod(frontend), db, 6379, false)}},
		{"policyTypes Egress only does not isolate for ingress", []*networkingv1.NetworkPolicy{
			policy("egress", sel("role", "db"), []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, nil, nil)},
			[]conn{tc(FromPod(frontend), db, 6379, true), tc(FromPod(db), frontend, 80, false)}},
		{"policyTypes empty with egress rules means Ingress and Egress", []*networkingv1.NetworkPolicy{
			policy("both", sel("role", "frontend"), nil, nil, []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{numPort(6379)}}})},
			[]conn{tc(FromPod(frontend), db, 6379, true), tc(FromPod(frontend), other, 80, false), tc(FromPod(db), frontend, 80, false)}},
		{"allow all: one empty rule", []*networkingv1.NetworkPolicy{
			policy("deny", sel(), ingressOnly, nil, nil),
			policy("all", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{}}, nil)},
			[]conn{tc(internet, db, 6379, true), tc(FromPod(elseFE), db, 1, true), tc(internet, frontend, 80, false)}},
		{"podSelector peer: pods of the policy's namespace only", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "frontend")}}}}, nil)},
			[]conn{tc(FromPod(frontend), db, 6379, true), tc(FromPod(projFE), db, 6379, false), tc(FromPod(other), db, 6379, false), tc(internet, db, 6379, false)}},
		{"empty podSelector peer: every pod of the policy's namespace", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel()}}}}, nil)},
			[]conn{tc(FromPod(other), db, 6379, true), tc(FromPod(projX), db, 6379, false), tc(internet, db, 6379, false)}},
		{"namespaceSelector peer: every pod of matching namespaces", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("project", "myproject")}}}}, nil)},
			[]conn{tc(FromPod(projX), db, 6379, true), tc(FromPod(frontend), db, 6379, false), tc(FromPod(elseFE), db, 6379, false)}},
		{"empty namespaceSelector: every pod of every namespace, not outside addresses", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel()}}}}, nil)},
			[]conn{tc(FromPod(elseFE), db, 6379, true), tc(FromPod(frontend), db, 6379, true), tc(internet, db, 6379, false)}},
		{"namespaceSelector and podSelector in one peer: AND", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
				{NamespaceSelector: sel("project", "myproject"), PodSelector: sel("role", "frontend")}}}}, nil)},
			[]conn{tc(FromPod(projFE), db, 6379, true), tc(FromPod(projX), db, 6379, false), tc(FromPod(frontend), db, 6379, false), tc(FromPod(elseFE), db, 6379, false)}},
		{"namespaceSelector and podSelector in two peers: OR", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
				{NamespaceSelector: sel("project", "myproject")}, {PodSelector: sel("role", "frontend")}}}}, nil)},
			[]conn{tc(FromPod(projX), db, 6379, true), tc(FromPod(frontend), db, 6379, true), tc(FromPod(other), db, 6379, false), tc(FromPod(elseFE), db, 6379, false)}},
		{"matchExpressions in a selector", []*networkingv1.NetworkPolicy{
			policy("db", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "role", Operator: metav1.LabelSelectorOpIn, Values: []string{"db"}}}}, ingressOnly,
				[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "role", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"other"}}}}}}}}, nil)},
			[]conn{tc(FromPod(frontend), db, 6379, true), tc(FromPod(other), db, 6379, false)}},
		{"ipBlock with except (the documentation's 172.17.0.0/16 except 172.17.1.0/24)", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "172.17.0.0/16", Except: []string{"172.17.1.0/24"}}}}}}, nil)},
			[]conn{tc(External("172.17.0.9"), db, 6379, true), tc(External("172.17.1.9"), db, 6379, false), tc(internet, db, 6379, false), tc(FromPod(frontend), db, 6379, false)}},
		{"numeric port and default protocol TCP", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(6379))}}}}, nil)},
			[]conn{tc(internet, db, 6379, true), tc(internet, db, 6380, false), {internet, db, 6379, corev1.ProtocolUDP, false}}},
		{"protocol UDP without a port: every UDP port", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: udp}}}}, nil)},
			[]conn{{internet, db, 53, corev1.ProtocolUDP, true}, {internet, db, 5353, corev1.ProtocolUDP, true}, tc(internet, db, 53, false)}},
		{"named port: the destination's container port of that name and protocol", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{
				{Protocol: tcp, Port: ptr.To(intstr.FromString("postgres"))}, {Protocol: tcp, Port: ptr.To(intstr.FromString("dns"))}}}}, nil)},
			[]conn{tc(internet, db, 6379, true), tc(internet, db, 53, false), {internet, db, 53, corev1.ProtocolUDP, false}, tc(internet, db, 5432, false)}},
		{"endPort: the range port..endPort", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: tcp, Port: ptr.To(intstr.FromInt32(32000)), EndPort: ptr.To(int32(32768))}}}}, nil)},
			[]conn{tc(internet, db, 32000, true), tc(internet, db, 32768, true), tc(internet, db, 32769, false), tc(internet, db, 31999, false)}},
		{"peers and ports of one rule combine; rules and policies add up", []*networkingv1.NetworkPolicy{
			policy("a", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{
				{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "frontend")}}, Ports: []networkingv1.NetworkPolicyPort{numPort(80)}}}, nil),
			policy("b", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{
				{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "other")}}, Ports: []networkingv1.NetworkPolicyPort{numPort(443)}}}, nil)},
			[]conn{tc(FromPod(frontend), db, 80, true), tc(FromPod(frontend), db, 443, false), tc(FromPod(other), db, 443, true), tc(FromPod(other), db, 80, false)}},
		{"egress: the source's policies must allow it too", []*networkingv1.NetworkPolicy{
			policy("fe-out", sel("role", "frontend"), []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, nil,
				[]networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "db")}}, Ports: []networkingv1.NetworkPolicyPort{numPort(6379)}}})},
			[]conn{tc(FromPod(frontend), db, 6379, true), tc(FromPod(frontend), other, 6379, false), tc(FromPod(frontend), db, 80, false), tc(internet, frontend, 80, true)}},
		{"egress open (one empty rule) with ingress isolation", []*networkingv1.NetworkPolicy{
			policy("db", sel("role", "db"), []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, nil, []networkingv1.NetworkPolicyEgressRule{{}})},
			[]conn{tc(FromPod(db), frontend, 80, true), tc(FromPod(frontend), db, 6379, false)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := NewCluster(namespaces, c.policies)
			for _, k := range c.conns {
				got, err := cl.Allowed(k.src, k.dst, k.port, k.proto)
				if err != nil {
					t.Fatal(err)
				}
				from := k.src.IP.String()
				if k.src.Pod != nil {
					from = k.src.Pod.Name
				}
				if got != k.want {
					t.Errorf("%s -> %s:%d/%s: got %v, want %v", from, k.dst.Name, k.port, k.proto, got, k.want)
				}
			}
		})
	}
}

func TestInvalidSelectorIsAnError(t *testing.T) {
	bad := policy("bad", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "role", Operator: "Bogus"}}}, ingressOnly, nil, nil)
	if _, err := NewCluster(nil, []*networkingv1.NetworkPolicy{bad}).Allowed(FromPod(frontend), db, 1, corev1.ProtocolTCP); err == nil {
		t.Fatal("an invalid selector must be an error, not a silent match")
	}
	badBlock := policy("bad", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "nope"}}}}}, nil)
	if _, err := NewCluster(nil, []*networkingv1.NetworkPolicy{badBlock}).Allowed(External("10.1.1.1"), db, 1, corev1.ProtocolTCP); err == nil {
		t.Fatal("an invalid CIDR must be an error")
	}
}

// TestMatrixReplicas: in a matrix a workload's edge to itself is one
// replica opening another, so the self exception does not hide a missing
// peer rule.
func TestMatrixReplicas(t *testing.T) {
	cl := NewCluster(namespaces, []*networkingv1.NetworkPolicy{policy("deny", sel(), ingressOnly, nil, nil)})
	edges, err := cl.Matrix(map[string]Source{"db": FromPod(db)}, []*Pod{db})
	if err != nil {
		t.Fatal(err)
	}
	if len(edges) != 0 {
		t.Fatalf("replicas of db reach each other without a rule: %v", edges)
	}
}

func TestMatrix(t *testing.T) {
	cl := NewCluster(namespaces, []*networkingv1.NetworkPolicy{
		policy("db", sel("role", "db"), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "frontend")}}, Ports: []networkingv1.NetworkPolicyPort{numPort(6379)}}}, nil)})
	edges, err := cl.Matrix(map[string]Source{"frontend": FromPod(frontend), "other": FromPod(other)}, []*Pod{db})
	if err != nil {
		t.Fatal(err)
	}
	if len(edges) != 1 || edges[0].String() != "frontend -> db:6379/postgres" {
		t.Fatalf("edges %v", edges)
	}
}
