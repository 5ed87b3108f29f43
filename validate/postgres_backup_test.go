package validate

import (
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

// TestPostgresBackupClean: every profile with PostgreSQL backups, a
// point-in-time restore and the monitoring on passes every rule and the
// schemas (the restore drill CronJob, its ConfigMap, the backup
// variables), and so does its monitoring part (kube-state-metrics
// watching cronjobs, the backups' alert rules).
func TestPostgresBackupClean(t *testing.T) {
	dirs := schemaDirs(t)
	sets := []string{
		"backup.store.bucket=iot-backups", "backup.store.endpoint=http://s3.example.com",
		"postgres.backup.enabled=true", "postgres.restore.enabled=true", "postgres.restore.targetTime=2026-12-01T09:30:00+01:00",
		"monitoring.enabled=true",
	}
	for _, name := range profiles.Names() {
		p, err := profiles.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Load(nil, sets)
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
			t.Errorf("%s", f)
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
