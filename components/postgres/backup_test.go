package postgres

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var testStore = backup.Store{Bucket: "iot-backups", Endpoint: "http://s3.example.com"}

func withBackup(cfg Config) Config {
	cfg.Backup.Enabled = true
	cfg.Backup.Store = testStore
	return cfg
}

// env returns the postgres container's variables by name (value, or
// secret/key for a Secret reference).
func env(t *testing.T, out *stack.Output) map[string]string {
	t.Helper()
	for _, o := range out.Objects {
		if set, ok := o.Object.(*appsv1.StatefulSet); ok {
			m := map[string]string{}
			for _, e := range set.Spec.Template.Spec.Containers[0].Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					m[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
				} else {
					m[e.Name] = e.Value
				}
			}
			return m
		}
	}
	t.Fatal("no StatefulSet")
	return nil
}

func only(m map[string]string, prefixes ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v
			}
		}
	}
	return out
}

var backupVars = []string{"USE_WALG", "WALG_", "WALE_", "AWS_", "BACKUP_", "CLONE_", "WAL_"}

// Spilo's variables, exactly as configure_spilo.py (4.0-p3) reads them,
// with a store set as a profile sets it (no golden file: backups are off
// in every profile's defaults).
func TestBackupRendersSpiloVariables(t *testing.T) {
	_, _, out := synth(t, withBackup(Config{}))
	got := only(env(t, out), backupVars...)
	want := map[string]string{
		"USE_WALG_BACKUP":       "true",
		"USE_WALG_RESTORE":      "true",
		"WALG_S3_PREFIX":        "s3://iot-backups/iot/postgres/wal/17",
		"AWS_ENDPOINT":          "http://s3.example.com",
		"AWS_REGION":            "us-east-1",
		"AWS_ACCESS_KEY_ID":     "secret:postgres-backup-s3/access-key-id",
		"AWS_SECRET_ACCESS_KEY": "secret:postgres-backup-s3/secret-access-key",
		"BACKUP_SCHEDULE":       "0 1 * * *",
		"BACKUP_NUM_TO_RETAIN":  "5",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("backup variables (-want +got):\n%s", d)
	}
	var declared bool
	for _, s := range out.Secrets {
		if s.Name == "postgres-backup-s3" {
			declared = true
			for _, k := range s.Keys {
				if k.Kind != stack.UserProvided {
					t.Errorf("key %s is %s; the store's keys are the user's", k.Key, k.Kind)
				}
			}
		}
	}
	if !declared {
		t.Error("the credentials Secret postgres-backup-s3 is not declared")
	}
	stacktest.CheckScripts(t, out)

	// AWS S3 (no endpoint), another schedule, retention, a replica.
	cfg := Config{Name: "pg", Backup: Backup{Enabled: true, Schedule: "0 */6 * * *", Retain: 9, FromReplica: true,
		Store: backup.Store{Bucket: "iot-backups", Region: "eu-west-1", Prefix: "iot/prod"}}}
	_, _, out = synth(t, cfg)
	got = only(env(t, out), backupVars...)
	want = map[string]string{
		"USE_WALG_BACKUP":          "true",
		"USE_WALG_RESTORE":         "true",
		"WALG_S3_PREFIX":           "s3://iot-backups/iot/prod/pg/wal/17",
		"AWS_REGION":               "eu-west-1",
		"AWS_ACCESS_KEY_ID":        "secret:pg-backup-s3/access-key-id",
		"AWS_SECRET_ACCESS_KEY":    "secret:pg-backup-s3/secret-access-key",
		"BACKUP_SCHEDULE":          "0 */6 * * *",
		"BACKUP_NUM_TO_RETAIN":     "9",
		"WALG_BACKUP_FROM_REPLICA": "true",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("backup variables (-want +got):\n%s", d)
	}
}

// Off (the default), nothing of the backups renders: no variable, no
// Secret, no drill, no alert.
func TestBackupOffRendersNothing(t *testing.T) {
	s, _, out := synth(t, Config{})
	if got := only(env(t, out), backupVars...); len(got) > 0 {
		t.Errorf("backup variables with backups off: %v", got)
	}
	for _, sec := range out.Secrets {
		if strings.Contains(sec.Name, "backup") {
			t.Errorf("Secret %s declared with backups off", sec.Name)
		}
	}
	for _, o := range out.Objects {
		if strings.Contains(o.Object.GetName(), "drill") {
			t.Errorf("%s rendered with backups off", o.Object.GetName())
		}
	}
	for _, g := range s.Alerts("") {
		for _, r := range g.Rules {
			if strings.Contains(r.Alert, "WAL") || strings.Contains(r.Alert, "Drill") {
				t.Errorf("alert %s with backups off", r.Alert)
			}
		}
	}
}

// The restore turns into Spilo's CLONE_* variables; the target time
// keeps its offset in a form PostgreSQL reads (the restore drill test
// recovers to a time in this form).
func TestRestoreRendersCloneVariables(t *testing.T) {
	cfg := Config{Restore: Restore{Enabled: true, FromCluster: "old-pg", FromPrefix: "prod", TargetTime: "2026-12-01T09:30:00.5+01:00"}}
	cfg.Backup.Store = testStore
	_, _, out := synth(t, cfg)
	got := only(env(t, out), backupVars...)
	want := map[string]string{
		"CLONE_METHOD":                "CLONE_WITH_WALE",
		"CLONE_SCOPE":                 "old-pg",
		"CLONE_USE_WALG_RESTORE":      "true",
		"CLONE_WALG_S3_PREFIX":        "s3://iot-backups/prod/old-pg/wal/17",
		"CLONE_AWS_ENDPOINT":          "http://s3.example.com",
		"CLONE_AWS_REGION":            "us-east-1",
		"CLONE_AWS_ACCESS_KEY_ID":     "secret:postgres-backup-s3/access-key-id",
		"CLONE_AWS_SECRET_ACCESS_KEY": "secret:postgres-backup-s3/secret-access-key",
		"CLONE_TARGET_TIME":           "2026-12-01 09:30:00.5+01:00",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("clone variables (-want +got):\n%s", d)
	}
	// Defaults: this cluster's name and the stack's prefix (namespace);
	// no target time recovers to the end of the archive.
	cfg = Config{Restore: Restore{Enabled: true}}
	cfg.Backup.Store = testStore
	_, _, out = synth(t, cfg)
	got = only(env(t, out), "CLONE_SCOPE", "CLONE_WALG_S3_PREFIX", "CLONE_TARGET_TIME")
	want = map[string]string{"CLONE_SCOPE": "postgres", "CLONE_WALG_S3_PREFIX": "s3://iot-backups/iot/postgres/wal/17"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("clone defaults (-want +got):\n%s", d)
	}
}

func TestBackupRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no bucket", Config{Backup: Backup{Enabled: true}}, "backup.enabled is true but the object store has no bucket (backup.store.bucket)"},
		{"restore without bucket", Config{Restore: Restore{Enabled: true}}, "restore.enabled is true but the object store has no bucket"},
		{"bad bucket", Config{Backup: Backup{Enabled: true, Store: backup.Store{Bucket: "Bad_Bucket", Region: "us-east-1"}}}, `backup.store: bucket: "Bad_Bucket"`},
		{"role", Config{Backup: Backup{Enabled: true, Store: backup.Store{Bucket: "iot-backups", Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/pg"}}}, "wal-g/wal-g#1810"},
		{"schedule", withBackup(Config{Backup: Backup{Schedule: "0 25 * * *"}}), `backup.schedule "0 25 * * *": not a cron schedule`},
		{"schedule never runs", withBackup(Config{Backup: Backup{Schedule: "0 0 30 2 *"}}), `backup.schedule "0 0 30 2 *": schedule "0 0 30 2 *" never runs`},
		{"time zone prefix", withBackup(Config{Backup: Backup{Schedule: "TZ=Europe/Berlin 0 1 * * *"}}), "a time zone prefix is not allowed"},
		{"retain negative", withBackup(Config{Backup: Backup{Retain: -1}}), "backup.retain -1; allowed 1 to 1000"},
		{"retain too many", withBackup(Config{Backup: Backup{Retain: 1001}}), "backup.retain 1001; allowed 1 to 1000"},
		{"from replica without one", withBackup(Config{Instances: 1, Backup: Backup{FromReplica: true}}), "backup.fromReplica with instances 1: there is no replica"},
		{"drill schedule", withBackup(Config{Backup: Backup{DrillSchedule: "daily"}}), `backup.drillSchedule "daily": not a cron schedule`},
		{"target time without zone", withBackup(Config{Restore: Restore{Enabled: true, TargetTime: "2026-12-01T09:30:00"}}),
			`restore.targetTime "2026-12-01T09:30:00": not an RFC 3339 time with a zone offset`},
		{"target time as a date", withBackup(Config{Restore: Restore{Enabled: true, TargetTime: "2026-12-01"}}), `restore.targetTime "2026-12-01"`},
		{"from cluster", withBackup(Config{Restore: Restore{Enabled: true, FromCluster: "Old_PG"}}), `restore.fromCluster "Old_PG"`},
		{"from prefix", withBackup(Config{Restore: Restore{Enabled: true, FromPrefix: "/prod/"}}), `restore.fromPrefix "/prod/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, tc.cfg); return err }, tc.want)
		})
	}
	// Retain 1 is allowed (Spilo keeps two anyway).
	if err := withBackup(Config{Backup: Backup{Retain: 1}}).Validate(); err != nil {
		t.Errorf("retain 1: %v", err)
	}
	// Validate, which the values walk runs on postgres without the store
	// (json:"-"), checks the fields alone: the bucket is New's and the
	// profile's to check.
	if err := (Config{Backup: Backup{Enabled: true}, Restore: Restore{Enabled: true}}).Validate(); err != nil {
		t.Errorf("Validate without a store: %v", err)
	}
	if err := (Config{Backup: Backup{Enabled: true, Retain: -1}}).Validate(); err == nil || !strings.Contains(err.Error(), "backup.retain -1") {
		t.Errorf("Validate(retain -1) = %v", err)
	}
}

// The restore drill: a CronJob in the Spilo image that never retries,
// never runs twice at once, reads the same archive as the instances with
// the same credentials, on a scratch volume the size of the data volume.
func TestRestoreDrillCronJob(t *testing.T) {
	_, _, out := synth(t, withBackup(Config{Pool: "main"}))
	var cron *batchv1.CronJob
	var script *corev1.ConfigMap
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *batchv1.CronJob:
			cron = x
		case *corev1.ConfigMap:
			if x.Name == "postgres-restore-drill" {
				script = x
			}
		}
	}
	if cron == nil || script == nil {
		t.Fatal("no restore drill CronJob or ConfigMap")
	}
	if cron.Name != "postgres-restore-drill" || cron.Spec.Schedule != "0 5 * * *" || cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || *cron.Spec.TimeZone != "Etc/UTC" {
		t.Errorf("cron %s: schedule %q, concurrency %s", cron.Name, cron.Spec.Schedule, cron.Spec.ConcurrencyPolicy)
	}
	js := cron.Spec.JobTemplate.Spec
	if *js.BackoffLimit != 0 || js.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || *js.ActiveDeadlineSeconds != 6*3600 {
		t.Errorf("drill Job retries: backoffLimit %d, restartPolicy %s, deadline %d", *js.BackoffLimit, js.Template.Spec.RestartPolicy, *js.ActiveDeadlineSeconds)
	}
	c := js.Template.Spec.Containers[0]
	if c.Image != Image {
		t.Errorf("drill image %s, want the instances' %s", c.Image, Image)
	}
	got := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			got[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		} else {
			got[e.Name] = e.Value
		}
	}
	want := map[string]string{
		"WALG_S3_PREFIX":          "s3://iot-backups/iot/postgres/wal/17",
		"AWS_ENDPOINT":            "http://s3.example.com",
		"AWS_REGION":              "us-east-1",
		"AWS_S3_FORCE_PATH_STYLE": "true",
		"AWS_ACCESS_KEY_ID":       "secret:postgres-backup-s3/access-key-id",
		"AWS_SECRET_ACCESS_KEY":   "secret:postgres-backup-s3/secret-access-key",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("drill env (-want +got):\n%s", d)
	}
	for _, v := range js.Template.Spec.Volumes {
		if v.Name == "work" && (v.EmptyDir == nil || v.EmptyDir.SizeLimit.String() != "30Gi") {
			t.Errorf("work volume %+v; want an emptyDir limited to the data volume's 30Gi", v)
		}
	}
	// 24 h between daily backups plus 3 h for the backup to run.
	if !strings.Contains(script.Data["drill.sh"], "MAX_AGE=97200\n") {
		t.Errorf("drill.sh lacks MAX_AGE=97200:\n%s", script.Data["drill.sh"])
	}
	conf := script.Data["postgresql.conf"]
	for _, line := range []string{"archive_mode = off", "listen_addresses = ''", `restore_command = 'wal-g wal-fetch "%f" "%p"'`, "hot_standby = off"} {
		if !strings.Contains(conf, line+"\n") {
			t.Errorf("drill postgresql.conf lacks %q:\n%s", line, conf)
		}
	}
}

// Whatever backup and restore settings New accepts synthesize.
func FuzzBackupConfig(f *testing.F) {
	f.Add(true, "0 1 * * *", 5, "0 5 * * *", "iot-backups", "http://s3.example.com", "", "", true, "old", "prod", "2026-12-01T09:30:00+01:00")
	f.Add(true, "", 0, "", "", "", "", "", false, "", "", "")
	f.Add(true, "@hourly", 1, "*/5 * * * *", "a.b-c", "", "eu-west-1", "x/y", true, "Bad", "/p", "2026-12-01T09:30:00")
	f.Fuzz(func(t *testing.T, enabled bool, schedule string, retain int, drill, bucket, endpoint, region, prefix string, restore bool, from, fromPrefix, target string) {
		cfg := Config{
			Backup:  Backup{Enabled: enabled, Schedule: schedule, Retain: retain, DrillSchedule: drill, Store: backup.Store{Bucket: bucket, Endpoint: endpoint, Region: region, Prefix: prefix}},
			Restore: Restore{Enabled: restore, FromCluster: from, FromPrefix: fromPrefix, TargetTime: target},
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}
