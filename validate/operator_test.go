package validate

import (
	"strings"
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

// TestOperatorSchemas: the PodMonitor and PrometheusRule schemas of
// crds/ accept what iotstack renders and refuse a typo or a wrong value.
func TestOperatorSchemas(t *testing.T) {
	dirs := schemaDirs(t)
	const pm = "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata:\n  name: kafka-exporter\nspec:\n  namespaceSelector:\n    matchNames:\n    - thingsboard\n  podMetricsEndpoints:\n  - path: /metrics\n    port: metrics\n    relabelings:\n    - replacement: kafka-exporter\n      targetLabel: job\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: kafka\n"
	const pr = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: thingsboard-rules\nspec:\n  groups:\n  - name: kafka\n    rules:\n    - alert: KafkaOfflinePartitions\n      expr: up == 0\n      for: 2m\n      labels:\n        severity: critical\n"
	checkSchemaCases(t, dirs, []schemaCase{
		{"PodMonitor", pm, ""},
		{"PodMonitor by port number", strings.Replace(pm, "port: metrics", "portNumber: 9308", 1), ""},
		{"PodMonitor field typo", strings.Replace(pm, "podMetricsEndpoints", "podMetricEndpoints", 1), "podMetricEndpoints"},
		{"PodMonitor endpoint typo", strings.Replace(pm, "    port: metrics\n", "    port: metrics\n    honorLabel: true\n", 1), "honorLabel"},
		{"PodMonitor without port", strings.Replace(pm, "    port: metrics\n", "", 1), "podMetricsEndpoints"},
		{"PodMonitor port out of range", strings.Replace(pm, "port: metrics", "portNumber: 70000", 1), "podMetricsEndpoints"},
		{"PrometheusRule", pr, ""},
		{"PrometheusRule field typo", strings.Replace(pr, "expr:", "expression:", 1), "expression"},
		{"PrometheusRule bad for", strings.Replace(pr, "for: 2m", "for: two minutes", 1), "for"},
	})
}

// TestOperatorMonitoringClean: with monitoring.operator (and the node
// exporter), every profile's monitoring part passes every rule and the
// schemas, its CRDs declared external.
func TestOperatorMonitoringClean(t *testing.T) {
	dirs := schemaDirs(t)
	for _, name := range profiles.Names() {
		p, err := profiles.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		v := p.Defaults()
		v.Base().Monitoring.Enabled = true
		v.Base().Monitoring.Operator = true
		v.Base().Monitoring.NodeExporter = true
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range b.Parts {
			r, err := CheckStack(name+"/"+part.Dir, part.Stack, dirs)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range r.Findings {
				t.Errorf("%s", f)
			}
		}
	}
}
