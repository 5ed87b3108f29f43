package thingsboard

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestShareIngress: another stack's Service joins the HTTP Ingress' host
// and, on AWS, its ALB through the IngressGroup, set on both only once
// ShareIngress is called; a bad path is refused.
func TestShareIngress(t *testing.T) {
	_, h, _ := build(t, Config{Pool: "main", Exposure: AWS, Host: "iot.example.com", CertificateARN: "arn:aws:acm:eu-west-1:123456789012:certificate/abc"})
	if _, ok := h.ingress.Annotations[albGroupName]; ok {
		t.Fatal("the Ingress is in an IngressGroup before anything shares it")
	}
	ing, err := h.ShareIngress("grafana", "/grafana/", "grafana", "http", "/grafana/api/health")
	if err != nil {
		t.Fatal(err)
	}
	if g := h.ingress.Annotations[albGroupName]; g == "" || ing.Annotations[albGroupName] != g {
		t.Errorf("group: stack %q, shared %q", g, ing.Annotations[albGroupName])
	}
	for k, want := range map[string]string{albGroupOrder: "-1", "alb.ingress.kubernetes.io/healthcheck-path": "/grafana/api/health",
		"alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc", "alb.ingress.kubernetes.io/target-type": "ip"} {
		if ing.Annotations[k] != want {
			t.Errorf("annotation %s=%q; want %q", k, ing.Annotations[k], want)
		}
	}
	r := ing.Spec.Rules[0]
	if r.Host != "iot.example.com" || r.HTTP.Paths[0].Path != "/grafana/" || *r.HTTP.Paths[0].PathType != networkingv1.PathTypePrefix || r.HTTP.Paths[0].Backend.Service.Name != "grafana" {
		t.Errorf("rule %+v", r)
	}
	for _, bad := range []string{"grafana", "/grafana", "/"} {
		if _, err := h.ShareIngress("x", bad, "grafana", "http", "/"); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("path %q: %v", bad, err)
		}
	}
	// A generic controller merges one host's rules itself: no ALB annotations.
	_, g, _ := build(t, Config{Pool: "main", Exposure: Generic})
	ing, err = g.ShareIngress("grafana", "/grafana/", "grafana", "http", "/grafana/api/health")
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.Annotations) != 0 || len(g.ingress.Annotations) != 0 {
		t.Errorf("generic exposure got annotations %v / %v", ing.Annotations, g.ingress.Annotations)
	}
}
