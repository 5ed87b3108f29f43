package profiles

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/values"
)

// TestMQTTSCertificateExpiryRule: with MQTTS from cert-manager the rule
// file has MQTTSCertificateExpiresSoon, which fires on a certificate whose
// renewal failed (under 14 days left) whether the job honors labels or
// not, and stays silent for a certificate renewed on time, through the
// renewal itself; without cert-manager there is no such rule.
func TestMQTTSCertificateExpiryRule(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	rulesOf := func(doc string) string {
		t.Helper()
		v, err := p.Load([]values.Doc{{Name: "values.yaml", Data: []byte(doc)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range b.Parts {
			if part.Dir != MonitoringDir {
				continue
			}
			out, err := part.Stack.Synth()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range out.Files {
				if strings.Contains(string(f.Data), "thingsboard.rules.yml:") {
					return string(f.Data)
				}
			}
		}
		t.Fatal("no rule file")
		return ""
	}
	if strings.Contains(rulesOf("monitoring: {enabled: true}\n"), "MQTTSCertificateExpiresSoon") {
		t.Error("MQTTSCertificateExpiresSoon without cert-manager")
	}
	if !strings.Contains(rulesOf("monitoring: {enabled: true}\nthingsboard:\n  mqtts:\n    certManager: {issuer: letsencrypt, kind: ClusterIssuer, dnsNames: [mqtt.example.com]}\n"), "MQTTSCertificateExpiresSoon") {
		t.Fatal("no MQTTSCertificateExpiresSoon with cert-manager")
	}

	tl := montools.ForTest(t)
	v, err := p.Load([]values.Doc{{Name: "values.yaml", Data: []byte("monitoring: {enabled: true}\nthingsboard:\n  mqtts:\n    certManager: {issuer: letsencrypt, kind: ClusterIssuer, dnsNames: [mqtt.example.com]}\n")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	var rules string
	for _, part := range b.Parts {
		if part.Dir != MonitoringDir {
			continue
		}
		out, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Objects {
			if r.Ref.Kind == "ConfigMap" && strings.HasSuffix(r.Ref.Name, "-rules") {
				m, _ := yaml.Marshal(r.Object)
				var cm struct {
					Data map[string]string `json:"data"`
				}
				if err := yaml.Unmarshal(m, &cm); err != nil {
					t.Fatal(err)
				}
				rules = cm.Data["thingsboard.rules.yml"]
			}
		}
	}
	var rf struct {
		Groups []struct {
			Name  string           `json:"name"`
			Rules []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal([]byte(rules), &rf); err != nil {
		t.Fatal(err)
	}
	for gi := range rf.Groups {
		for _, r := range rf.Groups[gi].Rules {
			delete(r, "annotations")
		}
	}
	stripped, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yml"), string(stripped))
	// promtool's clock starts at 0: an expiry timestamp of D days is D days
	// left at the start.
	const day = 86400
	metric := `certmanager_certificate_expiration_timestamp_seconds{job="cert-manager",namespace="thingsboard",name="tb-mqtts",issuer_name="letsencrypt",issuer_kind="ClusterIssuer",issuer_group="cert-manager.io"}`
	exported := `certmanager_certificate_expiration_timestamp_seconds{job="cert-manager",namespace="cert-manager",exported_namespace="thingsboard",name="tb-mqtts",issuer_name="letsencrypt",issuer_kind="ClusterIssuer",issuer_group="cert-manager.io"}`
	want := map[string]any{"severity": "warning", "component": "tb-mqtt-transport", "namespace": "thingsboard", "job": "cert-manager", "name": "tb-mqtts",
		"issuer_name": "letsencrypt", "issuer_kind": "ClusterIssuer", "issuer_group": "cert-manager.io"}
	wantExported := map[string]any{}
	for k, v := range want {
		wantExported[k] = v
	}
	// The rule file sets namespace to the stack's on every alert.
	wantExported["exported_namespace"] = "thingsboard"
	cases := []struct {
		name, series, values string
		fires                map[string]any
	}{
		{"renewal failing, 10 days left", metric, itoaDays(10*day) + "x300", want},
		{"renewal failing, labels not honored", exported, itoaDays(10*day) + "x300", wantExported},
		{"renewed 30 days before the end, as cert-manager does", metric, itoaDays(30*day) + "x100 " + itoaDays(120*day) + "x200", nil},
		{"60 days left", metric, itoaDays(60*day) + "x300", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exp := []map[string]any{}
			if c.fires != nil {
				exp = append(exp, map[string]any{"exp_labels": c.fires})
			}
			var evals []map[string]any
			for _, at := range []string{"30m", "1h30m", "2h"} {
				e := exp
				if c.fires != nil && at != "2h" {
					continue
				}
				evals = append(evals, map[string]any{"eval_time": at, "alertname": "MQTTSCertificateExpiresSoon", "exp_alerts": e})
			}
			test := map[string]any{
				"rule_files":          []string{"rules.yml"},
				"evaluation_interval": "30s",
				"tests": []map[string]any{{
					"interval":        "30s",
					"input_series":    []map[string]string{{"series": c.series, "values": c.values}},
					"alert_rule_test": evals,
				}},
			}
			out, err := yaml.Marshal(test)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, strings.ReplaceAll(strings.ReplaceAll(c.name, " ", "-"), ",", "")+".yml")
			write(t, f, string(out))
			run(t, tl.Promtool, "test", "rules", f)
		})
	}
}

func itoaDays(n int) string {
	b, _ := yaml.Marshal(n)
	return strings.TrimSpace(string(b))
}
