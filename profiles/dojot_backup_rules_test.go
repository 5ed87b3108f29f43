package profiles

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	montools "github.com/iotstack/iotstack/monitoring/tools"
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
	rules := monitoringRules(t, Small, nil, "monitoring.enabled=true", "mongodb.backup.enabled=true", "minio.backup.enabled=true",
		"backup.store.endpoint=http://s3.example.com", "backup.store.bucket=iot-backups")
	if !strings.Contains(rules, "cronjob=\"mongodb-backup\"") || !strings.Contains(rules, "cronjob=\"minio-backup\"") {
		t.Fatalf("the rule file lacks the backups' alerts:\n%s", rules)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yml"), withoutAnnotations(t, rules, nil))
	write(t, filepath.Join(dir, "real.yml"), rules)
	run(t, tl.Promtool, "check", "rules", filepath.Join(dir, "real.yml"))

	sel := `{job="kube-state-metrics",namespace="dojot",cronjob="mongodb-backup"}`
	fires := func(alert, severity string) []map[string]string {
		l := map[string]string{"alertname": alert, "severity": severity, "component": "mongodb-backup", "namespace": "dojot", "cronjob": "mongodb-backup"}
		return []map[string]string{l}
	}
	created := map[string]string{"kube_cronjob_created" + sel: "0x4000"}
	cases := []ruleCase{
		{"last success 26 h ago", "MongoDBBackupStale", merge(created, "kube_cronjob_status_last_successful_time"+sel, "0x4000"), "26h", fires("MongoDBBackupStale", "critical")},
		{"never succeeded in 26 h", "MongoDBBackupStale", created, "26h", fires("MongoDBBackupStale", "critical")},
		{"a success every day", "MongoDBBackupStale", merge(created, "kube_cronjob_status_last_successful_time"+sel, "0x2880 86400x2000"), "30h", nil},
		{"last scheduled run failed", "MongoDBBackupFailing", merge(created, "kube_cronjob_status_last_schedule_time"+sel, "7200x3120 93600x400",
			"kube_cronjob_status_last_successful_time"+sel, "7500x3520"), "27h30m", fires("MongoDBBackupFailing", "warning")},
		{"first run never succeeded", "MongoDBBackupFailing", merge(created, "kube_cronjob_status_last_schedule_time"+sel, "7200x400"), "2h", fires("MongoDBBackupFailing", "warning")},
		{"a run that takes 50 minutes", "MongoDBBackupFailing", merge(created, "kube_cronjob_status_last_schedule_time"+sel, "7200x3120 93600x400",
			"kube_cronjob_status_last_successful_time"+sel, "7500x3220 96600x300"), "28h", nil},
	}
	runRuleCases(t, tl.Promtool, dir, "rules.yml", ruleTiming{interval: "30s", step: 5 * time.Minute}, cases)
}
