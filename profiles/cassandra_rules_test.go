package profiles

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/stack"
)

// TestCassandraBackupRules runs promtool test rules on the Cassandra backup
// alerts of minimal-3az with backups on (they are not in the default rule
// file): stale fires when a zone's backup has not succeeded for longer
// than its schedule allows or never did, failed fires when a zone's last
// run failed; both stay silent with daily successes, a failure followed
// by a success, and a pod that failed once and was retried successfully.
// Samples every five minutes over two days; a silent case is checked
// every half hour up to its time.
func TestCassandraBackupRules(t *testing.T) {
	tl := montools.ForTest(t)
	p, _ := Get(Minimal3AZ)
	v, err := p.Load(nil, []string{"cassandra.backup.enabled=true", "backup.store.bucket=iot-backups", "backup.store.region=eu-west-1", "monitoring.enabled=true"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	var groups []stack.AlertGroup
	for _, g := range b.Stack.Alerts("") {
		var keep []stack.AlertRule
		for _, r := range g.Rules {
			if strings.HasPrefix(r.Alert, "CassandraBackup") {
				r.Summary, r.Runbook, r.Why, r.Description = "s", "", "w", ""
				keep = append(keep, r)
			}
		}
		if len(keep) > 0 {
			groups = append(groups, stack.AlertGroup{Component: g.Component, Namespace: g.Namespace, Rules: keep})
		}
	}
	rules, err := stack.RuleFile(groups)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rules), "alert: "); n != 2 {
		t.Fatalf("%d backup rules:\n%s", n, rules)
	}
	var rf map[string][]map[string]any
	yaml.Unmarshal(rules, &rf)
	for _, g := range rf["groups"] {
		for _, r := range g["rules"].([]any) {
			delete(r.(map[string]any), "annotations")
		}
	}
	stripped, _ := yaml.Marshal(rf)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yml"), string(stripped))

	const ksm = `job="kube-state-metrics",namespace="thingsboard"`
	ok := `kube_cronjob_status_last_successful_time{` + ksm + `,cronjob="cassandra-backup-a-0"}`
	created := func(cj string) string {
		return `kube_cronjob_created{` + ksm + `,cronjob="` + cj + `"}`
	}
	job := func(name, failed, start string) map[string]string {
		return map[string]string{
			`kube_job_failed{` + ksm + `,job_name="` + name + `",condition="true"}`:                                                                 failed,
			`kube_job_owner{` + ksm + `,job_name="` + name + `",owner_kind="CronJob",owner_name="cassandra-backup-a-0",owner_is_controller="true"}`: "1x600",
			`kube_job_status_start_time{` + ksm + `,job_name="` + name + `"}`:                                                                       start,
		}
	}
	fire := func(cj string) []map[string]string {
		return []map[string]string{{"severity": "warning", "component": "cassandra", "namespace": "thingsboard", "cronjob": cj}}
	}
	daily := "3600x288 90000x288 176400x24"
	cases := []ruleCase{
		{"no success for 27 hours", "CassandraBackupStale", map[string]string{created("cassandra-backup-a-0"): "0x600", ok: "3600x600"}, "28h", fire("cassandra-backup-a-0")},
		{"never succeeded", "CassandraBackupStale", map[string]string{created("cassandra-backup-b-0"): "0x600"}, "27h", fire("cassandra-backup-b-0")},
		{"daily successes", "CassandraBackupStale", map[string]string{created("cassandra-backup-a-0"): "0x600", ok: daily}, "50h", nil},
		{"created a day ago, first run pending", "CassandraBackupStale", map[string]string{created("cassandra-backup-c-0"): "0x600"}, "25h", nil},
		{"last run failed", "CassandraBackupFailed", merge(job("cassandra-backup-a-0-100", "0x2 1x300", "7200x300"), ok, "3600x300"), "1h", fire("cassandra-backup-a-0")},
		{"failed and never succeeded", "CassandraBackupFailed", job("cassandra-backup-a-0-100", "1x300", "600x300"), "1h", fire("cassandra-backup-a-0")},
		{"a failure, then a success", "CassandraBackupFailed", merge(job("cassandra-backup-a-0-100", "1x300", "600x300"), ok, "3600x300"), "24h", nil},
		{"a pod retried successfully", "CassandraBackupFailed", merge(job("cassandra-backup-a-0-100", "0x300", "600x300"), ok, "900x300"), "24h", nil},
	}
	runRuleCases(t, tl.Promtool, dir, "rules.yml", ruleTiming{interval: "5m", step: 30 * time.Minute}, cases)
}
