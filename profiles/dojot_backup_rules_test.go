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

	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/stack"
)

// TestDojotBackupAlerts runs promtool test rules on the rule file small
// renders with monitoring and both backups on: MongoDBBackupStale and
// MongoDBBackupFailing fire on a missed, failed or never successful backup of
// mongodb-backup (daily at 02:00, 60-minute deadline: stale past 25 h),
// and stay silent through normal days and a run that takes 50 minutes.
// Series are kube-state-metrics' (one sample per 30 s; promtool's clock
// starts at 0, so time() is the evaluation time in seconds).
func TestDojotBackupAlerts(t *testing.T) {
	tl := montools.ForTest(t)
	p, _ := Get(Small)
	v, err := p.Load(nil, []string{"monitoring.enabled=true", "mongodb.backup.enabled=true", "minio.backup.enabled=true",
		"backup.store.endpoint=http://s3.example.com", "backup.store.bucket=iot-backups"})
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
			if cm, ok := r.Object.(*corev1.ConfigMap); ok {
				if d, ok := cm.Data["dojot.rules.yml"]; ok {
					rules = d
				}
			}
		}
	}
	if !strings.Contains(rules, "cronjob=\"mongodb-backup\"") || !strings.Contains(rules, "cronjob=\"minio-backup\"") {
		t.Fatalf("the rule file lacks the backups' alerts:\n%s", rules)
	}
	// Annotations are stripped (promtool compares them verbatim; check
	// rules validates their templates on the real file).
	var rf map[string]any
	if err := yaml.Unmarshal([]byte(rules), &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			delete(r.(map[string]any), "annotations")
		}
	}
	stripped, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yml"), string(stripped))
	write(t, filepath.Join(dir, "real.yml"), rules)
	run(t, tl.Promtool, "check", "rules", filepath.Join(dir, "real.yml"))

	sel := `{job="kube-state-metrics",namespace="dojot",cronjob="mongodb-backup"}`
	fires := func(alert, severity string) []map[string]string {
		l := map[string]string{"alertname": alert, "severity": severity, "component": "mongodb-backup", "namespace": "dojot", "cronjob": "mongodb-backup"}
		return []map[string]string{l}
	}
	created := map[string]string{"kube_cronjob_created" + sel: "0x4000"}
	for _, c := range []ruleCase{
		{"last success 26 h ago", "MongoDBBackupStale", merge(created, "kube_cronjob_status_last_successful_time"+sel, "0x4000"), "26h", fires("MongoDBBackupStale", "critical")},
		{"never succeeded in 26 h", "MongoDBBackupStale", created, "26h", fires("MongoDBBackupStale", "critical")},
		{"a success every day", "MongoDBBackupStale", merge(created, "kube_cronjob_status_last_successful_time"+sel, "0x2880 86400x2000"), "30h", nil},
		{"last scheduled run failed", "MongoDBBackupFailing", merge(created, "kube_cronjob_status_last_schedule_time"+sel, "7200x3120 93600x400",
			"kube_cronjob_status_last_successful_time"+sel, "7500x3520"), "27h30m", fires("MongoDBBackupFailing", "warning")},
		{"first run never succeeded", "MongoDBBackupFailing", merge(created, "kube_cronjob_status_last_schedule_time"+sel, "7200x400"), "2h", fires("MongoDBBackupFailing", "warning")},
		{"a run that takes 50 minutes", "MongoDBBackupFailing", merge(created, "kube_cronjob_status_last_schedule_time"+sel, "7200x3120 93600x400",
			"kube_cronjob_status_last_successful_time"+sel, "7500x3220 96600x300"), "28h", nil},
	} {
		t.Run(c.alert+"/"+c.name, func(t *testing.T) {
			var series []map[string]string
			for _, k := range slices.Sorted(maps.Keys(c.series)) {
				series = append(series, map[string]string{"series": k, "values": c.series[k]})
			}
			exp := []map[string]any{}
			for _, f := range c.fires {
				l := map[string]string{}
				for k, v := range f {
					if k != "alertname" {
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
				for at := 5 * time.Minute; at <= until; at += 5 * time.Minute {
					evals = append(evals, map[string]any{"eval_time": stack.PromDuration(at), "alertname": c.alert, "exp_alerts": exp})
				}
			}
			test := map[string]any{"rule_files": []string{"rules.yml"}, "evaluation_interval": "30s",
				"tests": []map[string]any{{"interval": "30s", "input_series": series, "alert_rule_test": evals}}}
			out, err := yaml.Marshal(test)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.NewReplacer("/", "-", " ", "-").Replace(c.alert + "-" + c.name + ".yml")
			write(t, filepath.Join(dir, name), string(out))
			run(t, tl.Promtool, "test", "rules", filepath.Join(dir, name))
		})
	}
}
