package thingsboard

import (
	"fmt"
	"strings"

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
		// The health check path is each backend Service's own
		// (albHealthCheck), not one path for all.
		ing.Annotations = map[string]string{
			"alb.ingress.kubernetes.io/scheme":      "internet-facing",
			"alb.ingress.kubernetes.io/target-type": "ip",
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

// albHealthChecks are the paths the ALB checks each Ingress backend on,
// one a path the service answers 200 on without authentication, on its
// traffic port (target-type ip):
//   - tb-core: /login, which application/.../config/WebConfig.java
//     (thingsboard v4.3.1) forwards to the UI's index.html, as the
//     readiness probe of tb-node in thingsboard-ce-k8s
//     aws/microservices/tb-services.yml (4.3.1) asks;
//   - tb-web-ui: /index.html, served from the UI's files by
//     msa/web-ui/server.ts (v4.3.1), as tb-web-ui's liveness probe in
//     tb-services.yml;
//   - tb-http-transport: /actuator/prometheus. Its device API
//     (/api/v1/{token}/...) needs a device token, so no path under it
//     answers 200; the metrics endpoint is served on the same port
//     (transport/http/.../tb-http-transport.yml: server.port
//     HTTP_BIND_PORT, management.endpoints.web.exposure.include
//     METRICS_ENDPOINTS_EXPOSE, "prometheus" in tb-cluster-stack-config)
//     and is not routed by the Ingress, so the check reaches it only
//     from inside the VPC.
var albHealthChecks = map[Service]string{
	Core:          "/login",
	WebUI:         "/index.html",
	HTTPTransport: "/actuator/prometheus",
}

// albHealthCheck annotates an ALB backend Service with its health check
// path (AWS Load Balancer Controller: the health check annotations may be
// set on the Service, where they take precedence over the Ingress's;
// guide/ingress/annotations.md, v2.x). Nil for the other services and for
// generic exposure.
func albHealthCheck(cfg Config, svc Service) map[string]string {
	path, ok := albHealthChecks[svc]
	if !ok || cfg.Exposure != AWS {
		return nil
	}
	return map[string]string{"alb.ingress.kubernetes.io/healthcheck-path": path}
}

// mqttLoadBalancer exposes MQTT 1883 and, with MQTTS configured, 8883 (TLS
// passed through to the transport); nothing else, so no port is open that
// nothing serves. Traffic stays on the node that received it so device
// addresses are preserved.
//
// On AWS it is an internet-facing NLB owned by the AWS Load Balancer
// Controller, with the annotations of thingsboard-ce-k8s
// aws/microservices/receipts/mqtt-load-balancer.yml (cross-zone, source-IP
// stickiness, the ThingsBoardClusterELB tag, scheme internet-facing), in
// the controller's form (docs guide/service/nlb.md and annotations.md,
// v2.5+): type "external" with nlb-target-type "ip" hands the Service to
// the controller, which provisions an internal NLB unless the scheme says
// internet-facing. With ip targets an NLB keeps the client's address only
// with preserve_client_ip.enabled (off by default for TCP ip target
// groups, AWS NLB target group attributes).
func mqttLoadBalancer(cfg Config, mqtt *stack.Component) *corev1.Service {
	ports := []corev1.ServicePort{{Name: "mqtt", Port: 1883, TargetPort: intstr.FromString("mqtt")}}
	if cfg.MQTTS.Enabled() {
		ports = append(ports, corev1.ServicePort{Name: "mqtts", Port: 8883, TargetPort: intstr.FromString("mqtts")})
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "tb-mqtt-loadbalancer"},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Selector:              mqtt.SelectorLabels(),
			Ports:                 ports,
		},
	}
	if cfg.Exposure == AWS {
		svc.Annotations = map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":                              "external",
			"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type":                   "ip",
			"service.beta.kubernetes.io/aws-load-balancer-scheme":                            "internet-facing",
			"service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
			"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes":           "stickiness.enabled=true,stickiness.type=source_ip,preserve_client_ip.enabled=true",
			"service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags":          "ThingsBoardClusterELB=ThingsBoardMqtt",
		}
	}
	return svc
}

// ALB IngressGroup annotations (AWS Load Balancer Controller v2.x,
// docs/guide/ingress/annotations.md): Ingresses with the same group.name,
// in any namespace, share one ALB; group.order (-1000 to 1000, default 0)
// orders their rules, lower first.
const (
	albGroupName  = "alb.ingress.kubernetes.io/group.name"
	albGroupOrder = "alb.ingress.kubernetes.io/group.order"
)

// ShareIngress returns an Ingress that serves a Service of another stack
// (Grafana in the monitoring namespace) under pathPrefix on the host and
// load balancer of the stack's HTTP Ingress: an Ingress routes only to
// Services of its own namespace, so the other stack adds the returned
// Ingress to itself. It copies the class, host, TLS and the ALB
// annotations; on AWS it puts both Ingresses in the IngressGroup named
// after the stack's namespace (setting the annotation on the stack's
// Ingress now, so call it before synthesis), ordered first so that the
// prefix wins over the catch-all "/", with the ALB health check on
// healthPath. A generic ingress controller (ingress-nginx) merges the
// rules of one host across Ingresses by itself.
func (h *Handle) ShareIngress(name, pathPrefix, service, port, healthPath string) (*networkingv1.Ingress, error) {
	if h == nil || h.ingress == nil {
		return nil, fmt.Errorf("thingsboard: ShareIngress %s: the handle has no HTTP Ingress", name)
	}
	if !strings.HasPrefix(pathPrefix, "/") || !strings.HasSuffix(pathPrefix, "/") || pathPrefix == "/" {
		return nil, fmt.Errorf("thingsboard: ShareIngress %s: path %q; allowed a prefix like /grafana/ (starting and ending in /, not /)", name, pathPrefix)
	}
	src := h.ingress
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingv1.IngressSpec{
			IngressClassName: src.Spec.IngressClassName,
			TLS:              src.Spec.TLS,
			Rules: []networkingv1.IngressRule{{Host: src.Spec.Rules[0].Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: pathPrefix, PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Name: port}}},
				}}}}}},
		},
	}
	if src.Spec.IngressClassName != nil && *src.Spec.IngressClassName == "alb" {
		group := h.Components[Core].Namespace()
		src.Annotations[albGroupName] = group
		ing.Annotations = map[string]string{}
		for k, v := range src.Annotations {
			ing.Annotations[k] = v
		}
		ing.Annotations[albGroupOrder] = "-1"
		ing.Annotations["alb.ingress.kubernetes.io/healthcheck-path"] = healthPath
	}
	return ing, nil
}
