package profiles

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// ruleTiming is how a promtool unit test samples its series and
// evaluates the rules (interval), and how often a silent case is checked
// up to its time (step), so that an alert that fires and resolves during
// the event fails the test.
type ruleTiming struct {
	interval string
	step     time.Duration
}

// every30s samples every 30 s and checks silent cases every minute.
var every30s = ruleTiming{interval: "30s", step: time.Minute}

// monitoringRules renders the profile with the values and returns the
// rule file of its monitoring part (<namespace>.rules.yml).
func monitoringRules(t *testing.T, name string, docs []values.Doc, sets ...string) string {
	t.Helper()
	b, _ := render(t, name, docs, sets...)
	for _, part := range b.Parts {
		if part.Dir != MonitoringDir {
			continue
		}
		po, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range po.Objects {
			if cm, ok := r.Object.(*corev1.ConfigMap); ok && cm.Data[b.Stack.Namespace()+".rules.yml"] != "" {
				return cm.Data[b.Stack.Namespace()+".rules.yml"]
			}
		}
	}
	t.Fatalf("%s: no %s.rules.yml in the monitoring part", name, b.Stack.Namespace())
	return ""
}

// withoutAnnotations returns the rule file with only the groups keep
// accepts (nil: all), their annotations removed: promtool compares
// annotations verbatim, and check rules validates their templates on the
// real file.
func withoutAnnotations(t *testing.T, rules string, keep func(group string) bool) string {
	t.Helper()
	var rf struct {
		Groups []struct {
			Name  string           `json:"name"`
			Rules []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal([]byte(rules), &rf); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, g := range rf.Groups {
		if keep != nil && !keep(g.Name) {
			continue
		}
		for _, r := range g.Rules {
			delete(r, "annotations")
		}
		kept = append(kept, g)
	}
	out, err := yaml.Marshal(map[string]any{"groups": kept})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// runRuleCases runs promtool test rules for each case against the rule
// file dir/rules: a firing case is checked at its time, a silent one
// every timing.step up to it.
func runRuleCases(t *testing.T, promtool, dir, rules string, timing ruleTiming, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.alert+"/"+c.name, func(t *testing.T) {
			var series []map[string]string
			for _, k := range slices.Sorted(maps.Keys(c.series)) {
				series = append(series, map[string]string{"series": k, "values": c.series[k]})
			}
			exp := []map[string]any{}
			for _, f := range c.fires {
				l := map[string]string{}
				for k, v := range f {
					if k != "alertname" { // promtool adds it
						l[k] = v
					}
				}
				exp = append(exp, map[string]any{"exp_labels": l})
			}
			until, err := time.ParseDuration(c.at)
			if err != nil {
				t.Fatal(err)
			}
			evals := []map[string]any{{"eval_time": c.at, "alertname": c.alert, "exp_alerts": exp}}
			if len(c.fires) == 0 {
				evals = nil
				for at := timing.step; at <= until; at += timing.step {
					evals = append(evals, map[string]any{"eval_time": stack.PromDuration(at), "alertname": c.alert, "exp_alerts": exp})
				}
			}
			b, err := yaml.Marshal(map[string]any{
				"rule_files":          []string{rules},
				"evaluation_interval": timing.interval,
				"tests":               []map[string]any{{"interval": timing.interval, "input_series": series, "alert_rule_test": evals}},
			})
			if err != nil {
				t.Fatal(err)
			}
			file := strings.NewReplacer("/", "-", " ", "-", ",", "", ":", "", "%", "pct").Replace(c.alert + "-" + c.name + ".yml")
			write(t, filepath.Join(dir, file), string(b))
			run(t, promtool, "test", "rules", filepath.Join(dir, file))
		})
	}
}
