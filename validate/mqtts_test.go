package validate

import (
	"testing"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/values"
)

// TestMinimal3AZWithMQTTS: minimal-3az with MQTTS from a user Secret and
// from cert-manager passes every rule and the schemas (the Certificate
// against crds/certificate-cert-manager-v1.json).
func TestMinimal3AZWithMQTTS(t *testing.T) {
	dirs := schemaDirs(t)
	p, err := profiles.Get(profiles.Minimal3AZ)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"secret":       "thingsboard:\n  mqtts:\n    secret: mqtt-tls\n",
		"cert-manager": "thingsboard:\n  mqtts:\n    certManager: {issuer: letsencrypt, kind: ClusterIssuer, dnsNames: [mqtt.example.com]}\n",
	} {
		v, err := p.Load([]values.Doc{{Name: name + ".yaml", Data: []byte(doc)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		r, err := CheckStack(name, b.Stack, dirs)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Findings {
			t.Errorf("%s: %s", name, f)
		}
	}
}
