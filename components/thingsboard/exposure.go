package thingsboard

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/stack"
)

// ingress routes HTTP as the ThingsBoard article's ALB does: /api/v1/ to the
// HTTP transport, /static/rulenode/ to tb-core, /static/ and /index.html to the
// web UI, everything else to tb-core.
func ingress(cfg Config) *networkingv1.Ingress {
	path := func(p string, t networkingv1.PathType, svc Service) networkingv1.HTTPIngressPath {
		return networkingv1.HTTPIngressPath{Path: p, PathType: ptr.To(t), Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: string(svc), Port: networkingv1.ServiceBackendPort{Name: "http"}}}}
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "tb-http-loadbalancer"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: cfg.Host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
				path("/api/v1/", networkingv1.PathTypePrefix, HTTPTransport),
				path("/static/rulenode/", networkingv1.PathTypePrefix, Core),
				path("/static/", networkingv1.PathTypePrefix, WebUI),
				path("/index.html", networkingv1.PathTypeExact, WebUI),
				path("/", networkingv1.PathTypePrefix, Core),
			}}},
		}}},
	}
	if cfg.Exposure == AWS {
		ing.Spec.IngressClassName = ptr.To("alb")
		ing.Annotations = map[string]string{
			"alb.ingress.kubernetes.io/scheme":           "internet-facing",
			"alb.ingress.kubernetes.io/target-type":      "ip",
			"alb.ingress.kubernetes.io/healthcheck-path": "/login",
		}
		if cfg.CertificateARN != "" {
			// AWS Load Balancer Controller annotations (docs:
			// guide/ingress/annotations.md, v2.x): HTTPS with the ACM
			// certificate, HTTP answered with a redirect to HTTPS.
			ing.Annotations["alb.ingress.kubernetes.io/certificate-arn"] = cfg.CertificateARN
			ing.Annotations["alb.ingress.kubernetes.io/listen-ports"] = `[{"HTTP": 80}, {"HTTPS": 443}]`
			ing.Annotations["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
		}
	}
	if cfg.TLSSecret != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{cfg.Host}, SecretName: cfg.TLSSecret}}
	}
	return ing
}

// mqttLoadBalancer exposes MQTT 1883 and MQTTS 8883 (TLS passed through to
// the transport): an NLB with cross-zone balancing and source-IP
// stickiness on AWS, a plain LoadBalancer elsewhere; traffic stays on the
// node that received it so device addresses are preserved.
func mqttLoadBalancer(cfg Config, mqtt *stack.Component) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "tb-mqtt-loadbalancer"},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Selector:              mqtt.SelectorLabels(),
			Ports: []corev1.ServicePort{
				{Name: "mqtt", Port: 1883, TargetPort: intstr.FromString("mqtt")},
				{Name: "mqtts", Port: 8883, TargetPort: intstr.FromString("mqtts")},
			},
		},
	}
	if cfg.Exposure == AWS {
		svc.Annotations = map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":                              "nlb",
			"service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
			"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes":           "stickiness.enabled=true,stickiness.type=source_ip",
		}
	}
	return svc
}
