package profiles

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/iotstack/iotstack/values"
)

// TestMQTTSValues: thingsboard.mqtts from a values document turns MQTTS on
// (a user Secret or a cert-manager Certificate); bad input is refused with
// its values path; the default exposes no 8883.
func TestMQTTSValues(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	render := func(doc string) ([]any, error) {
		v, err := p.Load([]values.Doc{{Name: "values.yaml", Data: []byte(doc)}}, nil)
		if err != nil {
			return nil, err
		}
		b, err := p.BuildValues(v)
		if err != nil {
			return nil, err
		}
		out, err := b.Stack.Synth()
		if err != nil {
			return nil, err
		}
		var objs []any
		for _, o := range out.Objects {
			objs = append(objs, o.Object)
		}
		return objs, nil
	}
	lbPorts := func(objs []any) (ports []int32, secret string, cert *unstructured.Unstructured) {
		for _, o := range objs {
			switch x := o.(type) {
			case *corev1.Service:
				if x.Name == "tb-mqtt-loadbalancer" {
					for _, p := range x.Spec.Ports {
						ports = append(ports, p.Port)
					}
				}
			case *appsv1.Deployment:
				if x.Name == "tb-mqtt-transport" {
					for _, v := range x.Spec.Template.Spec.Volumes {
						if v.Secret != nil {
							secret = v.Secret.SecretName
						}
					}
				}
			case *unstructured.Unstructured:
				if x.GetKind() == "Certificate" {
					cert = x
				}
			}
		}
		return ports, secret, cert
	}
	objs, err := render("")
	if err != nil {
		t.Fatal(err)
	}
	if ports, secret, cert := lbPorts(objs); len(ports) != 1 || ports[0] != 1883 || secret != "" || cert != nil {
		t.Errorf("default: load balancer ports %v, Secret %q, Certificate %v", ports, secret, cert)
	}
	objs, err = render("thingsboard:\n  mqtts:\n    secret: mqtt-tls\n")
	if err != nil {
		t.Fatal(err)
	}
	if ports, secret, cert := lbPorts(objs); len(ports) != 2 || ports[1] != 8883 || secret != "mqtt-tls" || cert != nil {
		t.Errorf("secret: load balancer ports %v, Secret %q, Certificate %v", ports, secret, cert)
	}
	objs, err = render("thingsboard:\n  mqtts:\n    certManager: {issuer: letsencrypt, kind: ClusterIssuer, dnsNames: [mqtt.example.com]}\n")
	if err != nil {
		t.Fatal(err)
	}
	if ports, secret, cert := lbPorts(objs); len(ports) != 2 || secret != "tb-mqtts-tls" || cert == nil {
		t.Errorf("certManager: load balancer ports %v, Secret %q, Certificate %v", ports, secret, cert)
	}
	for doc, want := range map[string]string{
		"thingsboard:\n  mqtts:\n    certManager: {issuer: x, kind: Cluster, dnsNames: [a.example.com]}\n":               "thingsboard.mqtts.certManager.kind",
		"thingsboard:\n  mqtts:\n    certManager: {issuer: x, kind: Issuer}\n":                                           "mqtts.certManager.dnsNames",
		"thingsboard:\n  mqtts:\n    secret: Not_A_Name\n":                                                               "mqtts.secret",
		"thingsboard:\n  mqtts:\n    secret: a\n    certManager: {issuer: x, kind: Issuer, dnsNames: [a.example.com]}\n": "exclusive",
	} {
		if _, err := render(doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v; want an error naming %s", doc, err, want)
		}
	}
}
