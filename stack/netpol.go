package stack

import (
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// networkPolicies returns, per component with pods, one NetworkPolicy
// that admits: every pod of the stack's namespace, on any port; anyone,
// on the ports a LoadBalancer or NodePort Service or an Ingress exposes to
// the outside; any namespace, on the Prometheus scrape port. Egress stays
// open (DNS, the API server, peers in other namespaces): the policy
// declares it so that it is explicit, not forgotten.
func (s *Stack) networkPolicies(comps []*Component) map[*Component][]Object {
	type podOf struct {
		c      *Component
		labels map[string]string
		spec   *corev1.PodSpec
		scrape string
	}
	var pods []podOf
	var services []*corev1.Service
	ingressBackends := map[string]bool{} // Service name/port name or number
	for _, c := range comps {
		for _, o := range c.objects {
			if isNil(o) {
				continue // reported by validation
			}
			switch x := o.(type) {
			case *appsv1.Deployment:
				pods = append(pods, podOf{c, x.Spec.Template.Labels, &x.Spec.Template.Spec, x.Spec.Template.Annotations["prometheus.io/port"]})
			case *appsv1.StatefulSet:
				pods = append(pods, podOf{c, x.Spec.Template.Labels, &x.Spec.Template.Spec, x.Spec.Template.Annotations["prometheus.io/port"]})
			case *appsv1.DaemonSet:
				pods = append(pods, podOf{c, x.Spec.Template.Labels, &x.Spec.Template.Spec, x.Spec.Template.Annotations["prometheus.io/port"]})
			case *batchv1.Job:
				pods = append(pods, podOf{c, x.Spec.Template.Labels, &x.Spec.Template.Spec, ""})
			case *corev1.Service:
				services = append(services, x)
			case *networkingv1.Ingress:
				for _, r := range x.Spec.Rules {
					if r.HTTP == nil {
						continue
					}
					for _, p := range r.HTTP.Paths {
						if b := p.Backend.Service; b != nil {
							ingressBackends[b.Name+"/"+b.Port.Name+strconv.Itoa(int(b.Port.Number))] = true
						}
					}
				}
			}
		}
	}
	out := map[*Component][]Object{}
	done := map[*Component]bool{}
	for _, p := range pods {
		if done[p.c] {
			continue
		}
		done[p.c] = true
		sel := map[string]string{LabelName: p.c.meta.App, LabelInstance: s.opts.Name}
		ports := map[string]networkingv1.NetworkPolicyPort{}
		scrape := map[string]networkingv1.NetworkPolicyPort{}
		for _, q := range pods {
			if q.c != p.c {
				continue
			}
			for _, svc := range services {
				if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(q.labels)) {
					continue
				}
				for _, sp := range svc.Spec.Ports {
					external := svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort ||
						ingressBackends[svc.Name+"/"+sp.Name+"0"] || ingressBackends[svc.Name+"/"+strconv.Itoa(int(sp.Port))]
					if !external {
						continue
					}
					target := sp.TargetPort
					if target.Type == intstr.Int && target.IntVal == 0 {
						target = intstr.FromInt32(sp.Port)
					}
					proto := sp.Protocol
					if proto == "" {
						proto = corev1.ProtocolTCP
					}
					ports[target.String()+"/"+string(proto)] = networkingv1.NetworkPolicyPort{Protocol: ptr.To(proto), Port: ptr.To(target)}
				}
			}
			if q.scrape != "" {
				if n, err := strconv.Atoi(q.scrape); err == nil {
					scrape[q.scrape] = networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(int32(n)))}
				}
			}
		}
		np := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: p.c.name},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: sel},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
			},
		}
		if len(ports) > 0 {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: sortedPorts(ports)})
		}
		if len(scrape) > 0 {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
				From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}, Ports: sortedPorts(scrape)})
		}
		out[p.c] = append(out[p.c], np)
	}
	return out
}

func sortedPorts(m map[string]networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyPort {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]networkingv1.NetworkPolicyPort, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
