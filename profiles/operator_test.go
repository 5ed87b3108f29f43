package profiles

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	montools "github.com/iotstack/iotstack/monitoring/tools"
)

// TestOperatorOption: with monitoring.operator, the monitoring part runs
// no Prometheus or Alertmanager; it has a PodMonitor for every pod job of
// the bundled configuration (same job label, port, path, honor_labels)
// and one PrometheusRule with exactly the bundled rule file's groups,
// which promtool check rules accepts.
func TestOperatorOption(t *testing.T) {
	for _, name := range Names() {
		p, _ := Get(name)
		if p.Defaults().Base().Monitoring.Operator {
			t.Errorf("%s: monitoring.operator is on by default", name)
		}
		_, bundled := synthMonitoring(t, name)
		var ruleFile string
		for k, v := range bundled {
			if strings.HasSuffix(k, ".rules.yml") {
				ruleFile = v
			}
		}
		var cfg struct {
			ScrapeConfigs []struct {
				JobName     string `json:"job_name"`
				MetricsPath string `json:"metrics_path"`
				HonorLabels bool   `json:"honor_labels"`
				Relabel     []struct {
					Regex  string `json:"regex"`
					Action string `json:"action"`
				} `json:"relabel_configs"`
			} `json:"scrape_configs"`
		}
		if err := yaml.Unmarshal([]byte(bundled["prometheus.yml"]), &cfg); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, sc := range cfg.ScrapeConfigs {
			if sc.JobName == "kubelet" || sc.JobName == "cadvisor" || sc.JobName == "prometheus" || sc.JobName == "alertmanager" {
				continue // the operator's own and the kubelet's: not rendered
			}
			want[sc.JobName] = sc.Relabel[0].Regex + " " + sc.MetricsPath + " " + boolString(sc.HonorLabels)
		}

		v := p.Defaults()
		v.Base().Monitoring.Enabled = true
		v.Base().Monitoring.Operator = true
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		var rules map[string]any
		for _, part := range b.Parts {
			if part.Dir != MonitoringDir {
				continue
			}
			out, err := part.Stack.Synth()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Objects {
				switch r.Ref.Kind {
				case "StatefulSet":
					t.Errorf("%s: StatefulSet %s rendered with monitoring.operator", name, r.Ref.Name)
				case "PodMonitor":
					u := r.Object.(*unstructured.Unstructured)
					eps, _, _ := unstructured.NestedSlice(u.Object, "spec", "podMetricsEndpoints")
					ep := eps[0].(map[string]any)
					port, _ := ep["port"].(string)
					if n, ok := ep["portNumber"].(int64); ok {
						port = strconv.FormatInt(n, 10)
					}
					honor, _ := ep["honorLabels"].(bool)
					rl := ep["relabelings"].([]any)[0].(map[string]any)
					got[rl["replacement"].(string)] = port + " " + ep["path"].(string) + " " + boolString(honor)
				case "PrometheusRule":
					rules = r.Object.(*unstructured.Unstructured).Object["spec"].(map[string]any)
				}
			}
		}
		if strings.Join(mapLines(got), "\n") != strings.Join(mapLines(want), "\n") {
			t.Errorf("%s: PodMonitors (job: port path honorLabels)\n%s\nwant the bundled jobs\n%s", name, strings.Join(mapLines(got), "\n"), strings.Join(mapLines(want), "\n"))
		}
		var bundledRules map[string]any
		if err := yaml.Unmarshal([]byte(ruleFile), &bundledRules); err != nil {
			t.Fatal(err)
		}
		a, _ := yaml.Marshal(rules)
		w, _ := yaml.Marshal(bundledRules)
		if string(a) != string(w) {
			t.Errorf("%s: the PrometheusRule's groups differ from the bundled rule file", name)
		}
		t.Run(name+"/promtool", func(t *testing.T) {
			tl := montools.ForTest(t)
			f := filepath.Join(t.TempDir(), "rules.yml")
			write(t, f, string(a))
			run(t, tl.Promtool, "check", "rules", f)
		})
	}
}

func boolString(b bool) string {
	if b {
		return "honor"
	}
	return "-"
}

func mapLines(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return out
}

// TestMonitoringOptionsNeedEnabled: nodeExporter and operator without
// enabled, and receivers with operator, are refused with their paths.
func TestMonitoringOptionsNeedEnabled(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	for set, want := range map[string]string{
		"monitoring.nodeExporter=true": "monitoring.nodeExporter",
		"monitoring.operator=true":     "monitoring.operator",
	} {
		if _, err := p.Load(nil, []string{"monitoring.enabled=false", set}); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "needs enabled") {
			t.Errorf("--set %s: err = %v; want an error at %s", set, err, want)
		}
	}
	_, err := p.Load(nil, []string{"monitoring.enabled=true", "monitoring.operator=true", "monitoring.receivers.webhook=true"})
	if err == nil || !strings.Contains(err.Error(), "monitoring.receivers") {
		t.Errorf("receivers with operator: err = %v; want an error at monitoring.receivers", err)
	}
	if _, err := p.Load(nil, []string{"monitoring.enabled=true", "monitoring.operator=true", "monitoring.nodeExporter=true"}); err != nil {
		t.Errorf("enabled with both options: %v", err)
	}
}
