package profiles

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/kubestatemetrics"
)

// TestCassandraBackupNeedsStore: cassandra.backup.enabled without
// backup.store.bucket is a values error naming both paths; with a store,
// the stack renders the backups and the monitoring their alerts.
func TestCassandraBackupNeedsStore(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	v, err := p.Load(nil, []string{"cassandra.backup.enabled=true"})
	if err == nil {
		_, err = p.BuildValues(v)
	}
	if err == nil || !strings.Contains(err.Error(), "cassandra.backup.enabled") || !strings.Contains(err.Error(), "backup.store.bucket") {
		t.Fatalf("got %v; want an error naming cassandra.backup.enabled and backup.store.bucket", err)
	}
	v, err = p.Load(nil, []string{"cassandra.backup.enabled=true", "backup.store.bucket=iot-backups", "backup.store.endpoint=http://s3.example.com", "cassandra.backup.retain=14d", "monitoring.enabled=true"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, g := range b.Stack.Alerts("") {
		for _, r := range g.Rules {
			rules = append(rules, r.Alert)
		}
	}
	if got := strings.Join(rules, " "); !strings.Contains(got, "CassandraBackupStale") || !strings.Contains(got, "CassandraBackupFailed") {
		t.Errorf("alerts: %s", got)
	}
	// The alerts read kube-state-metrics' CronJob and Job series: it must
	// watch both kinds.
	if !slices.Contains(kubestatemetrics.Resources, "cronjobs") || !slices.Contains(kubestatemetrics.Resources, "jobs") {
		t.Errorf("kube-state-metrics watches %v: the backup alerts need cronjobs and jobs", kubestatemetrics.Resources)
	}
	out, err := b.Stack.Synth()
	if err != nil {
		t.Fatal(err)
	}
	// The backup and restore scripts pass the credential checks every
	// rendered script passes (TestNoCredentialInArgvOrLogs).
	var scripts int
	for _, o := range out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == "cassandra-backup" {
			for key, script := range cm.Data {
				scripts++
				for _, p := range checkScript(cm.Name+"/"+key, script) {
					t.Error(p)
				}
			}
		}
	}
	if scripts != 2 {
		t.Errorf("%d backup scripts; want backup.sh and restore.sh", scripts)
	}
}
