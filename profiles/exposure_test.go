package profiles

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestExposureTLS: HTTPS on the ALB from an ACM certificate ARN, on the
// generic Ingress from a TLS Secret; each refused where it cannot apply.
func TestExposureTLS(t *testing.T) {
	ingressOf := func(sets ...string) (*networkingv1.Ingress, error) {
		_, out, err := renderValues(Minimal3AZ, nil, sets...)
		if err != nil {
			return nil, err
		}
		for _, o := range out.Objects {
			if ing, ok := o.Object.(*networkingv1.Ingress); ok {
				return ing, nil
			}
		}
		t.Fatal("no Ingress")
		return nil, nil
	}
	arn := "arn:aws:acm:us-east-1:123456789012:certificate/abc"
	ing, err := ingressOf("thingsboard.certificateARN=" + arn)
	if err != nil {
		t.Fatal(err)
	}
	if ing.Annotations["alb.ingress.kubernetes.io/certificate-arn"] != arn || ing.Annotations["alb.ingress.kubernetes.io/ssl-redirect"] != "443" ||
		!strings.Contains(ing.Annotations["alb.ingress.kubernetes.io/listen-ports"], "HTTPS") {
		t.Errorf("ALB annotations: %v", ing.Annotations)
	}
	ing, err = ingressOf("topology.loadBalancer=generic", "thingsboard.host=tb.example.com", "thingsboard.tlsSecret=tb-tls")
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "tb-tls" || ing.Spec.TLS[0].Hosts[0] != "tb.example.com" {
		t.Errorf("Ingress TLS: %+v", ing.Spec.TLS)
	}
	for _, bad := range [][]string{
		{"thingsboard.certificateARN=not-an-arn"},
		{"topology.loadBalancer=generic", "thingsboard.certificateARN=" + arn},
		{"thingsboard.tlsSecret=tb-tls"},
		{"topology.loadBalancer=generic", "thingsboard.tlsSecret=tb-tls"},
	} {
		if _, err := ingressOf(bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
