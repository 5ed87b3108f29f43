package profiles

import (
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"

	montools "github.com/iotstack/iotstack/monitoring/tools"
)

// pgBackupSets turn PostgreSQL backups on with a store, as a user would.
var pgBackupSets = []string{
	"backup.store.bucket=iot-backups", "backup.store.endpoint=http://s3.example.com",
	"postgres.backup.enabled=true",
}

// Every profile renders PostgreSQL backups with the store from
// backup.store (no golden file: backups are off by default, and dist/ does
// not change).
func TestPostgresBackupInEveryProfile(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			v, err := p.Load(nil, append(slices.Clone(pgBackupSets), "postgres.restore.enabled=true", "postgres.restore.targetTime=2026-12-01T09:30:00Z"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.BuildValues(v)
			if err != nil {
				t.Fatal(err)
			}
			out, err := b.Stack.Synth()
			if err != nil {
				t.Fatal(err)
			}
			ns := v.Base().Namespace
			var env map[string]string
			var drill *batchv1.CronJob
			egress := map[string]bool{}
			for _, o := range out.Objects {
				switch x := o.Object.(type) {
				case *networkingv1.NetworkPolicy:
					// The instances (wal-push, backup-push) and the drill
					// (backup-fetch, wal-fetch) reach the store on its
					// port: their egress must stay open (one empty rule).
					egress[x.Name] = len(x.Spec.Egress) == 1 && reflect.DeepEqual(x.Spec.Egress[0], networkingv1.NetworkPolicyEgressRule{})
				case *appsv1.StatefulSet:
					if x.Name != "postgres" {
						continue
					}
					env = map[string]string{}
					for _, e := range x.Spec.Template.Spec.Containers[0].Env {
						env[e.Name] = e.Value
					}
				case *batchv1.CronJob:
					if x.Name == "postgres-restore-drill" {
						drill = x
					}
				}
			}
			if env == nil || drill == nil {
				t.Fatalf("no postgres StatefulSet (%v) or restore drill (%v)", env != nil, drill != nil)
			}
			for _, np := range []string{"postgres", "postgres-restore-drill"} {
				if open, ok := egress[np]; !ok || !open {
					t.Errorf("NetworkPolicy %s (rendered %v) does not leave egress open to the object store", np, ok)
				}
			}
			prefix := "s3://iot-backups/" + ns + "/postgres/wal/17"
			for k, want := range map[string]string{
				"WALG_S3_PREFIX": prefix, "AWS_ENDPOINT": "http://s3.example.com", "USE_WALG_BACKUP": "true",
				"CLONE_WALG_S3_PREFIX": prefix, "CLONE_TARGET_TIME": "2026-12-01 09:30:00+00:00", "CLONE_METHOD": "CLONE_WITH_WALE",
			} {
				if env[k] != want {
					t.Errorf("%s = %q, want %q", k, env[k], want)
				}
			}
			var declared bool
			for _, s := range out.Secrets {
				declared = declared || s.Name == "postgres-backup-s3"
			}
			if !declared {
				t.Error("postgres-backup-s3 is not declared")
			}
		})
	}
}

// A backup or restore that is on without a bucket, or with a role, is a
// values error naming both paths.
func TestPostgresBackupValuesErrors(t *testing.T) {
	for _, name := range Names() {
		p, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			sets []string
			want []string
		}{
			{[]string{"postgres.backup.enabled=true"}, []string{"postgres.backup.enabled: true; backup.store.bucket is empty"}},
			{[]string{"postgres.restore.enabled=true"}, []string{"postgres.restore.enabled: true; backup.store.bucket is empty"}},
			{[]string{"backup.store.bucket=iot-backups", "backup.store.region=eu-west-1", "backup.store.roleARN=arn:aws:iam::123456789012:role/pg", "postgres.backup.enabled=true"},
				[]string{"postgres.backup.enabled: true; backup.store.roleARN", "wal-g/wal-g#1810"}},
			{append(slices.Clone(pgBackupSets), "postgres.backup.schedule=0 25 * * *"), []string{"postgres:", `backup.schedule "0 25 * * *"`}},
			{append(slices.Clone(pgBackupSets), "postgres.backup.retain=1001"), []string{"postgres.backup.retain", "1000"}},
			{append(slices.Clone(pgBackupSets), "postgres.restore.enabled=true", "postgres.restore.targetTime=2026-12-01T09:30:00"),
				[]string{`restore.targetTime "2026-12-01T09:30:00"`, "zone offset"}},
		} {
			_, err := p.Load(nil, tc.sets)
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s %v: error %v; want one containing %q", name, tc.sets, err, want)
				}
			}
		}
	}
}

// The backups' alert rules in the rendered rule file pass promtool check
// rules, and each fires on the failure it names and stays silent through
// normal operation (promtool test rules).
func TestPostgresBackupAlertRules(t *testing.T) {
	tl := montools.ForTest(t)
	rules := monitoringRules(t, Minimal3AZ, nil, append(slices.Clone(pgBackupSets), "monitoring.enabled=true")...)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "full.yml"), rules)
	run(t, tl.Promtool, "check", "rules", filepath.Join(dir, "full.yml"))
	// The postgres group only, without annotations.
	stripped := withoutAnnotations(t, rules, func(g string) bool { return g == "postgres" })
	write(t, filepath.Join(dir, "rules.yml"), stripped)

	pgSel := `job="postgres",namespace="thingsboard",pod="postgres-0"`
	ksm := `job="kube-state-metrics",namespace="thingsboard"`
	l := func(kv ...string) map[string]string {
		m := map[string]string{"namespace": "thingsboard", "component": "postgres", "severity": "warning"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	// Writes on the primary: 10 rows a sample.
	writes := func(n int) map[string]string {
		return map[string]string{
			`pg_stat_database_tup_inserted{` + pgSel + `,datname="thingsboard"}`: "0+10x" + strconv.Itoa(n),
			`pg_stat_database_tup_updated{` + pgSel + `,datname="thingsboard"}`:  "0x" + strconv.Itoa(n),
			`pg_stat_database_tup_deleted{` + pgSel + `,datname="thingsboard"}`:  "0x" + strconv.Itoa(n),
			`pg_replication_is_replica{` + pgSel + `}`:                           "0x" + strconv.Itoa(n),
		}
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := maps.Clone(m)
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	// Samples every 30 s; the drill's CronJob created at t=0.
	day := 2880 // samples in a day
	drillOwner := `kube_job_owner{` + ksm + `,job_name="postgres-restore-drill-1",owner_kind="CronJob",owner_name="postgres-restore-drill",owner_is_controller="true"}`
	cases := []ruleCase{
		{"archive_command failing for good", "PostgresWALArchivingFailing",
			map[string]string{`pg_stat_archiver_failed_count{` + pgSel + `}`: "0x4 1+1x80"}, "40m",
			[]map[string]string{l("job", "postgres", "pod", "postgres-0")}},
		{"a store restart: three failed attempts", "PostgresWALArchivingFailing",
			map[string]string{`pg_stat_archiver_failed_count{` + pgSel + `}`: "0x4 1+1x2 3x80"}, "40m", nil},
		{"counter reset by a pod restart", "PostgresWALArchivingFailing",
			map[string]string{`pg_stat_archiver_failed_count{` + pgSel + `}`: "5x4 0x80"}, "40m", nil},

		{"primary writes, nothing archived for two hours", "PostgresWALArchiveStale",
			with(writes(400), `pg_stat_archiver_last_archive_age{`+pgSel+`}`, "0+30x400"), "3h",
			[]map[string]string{l("job", "postgres", "pod", "postgres-0")}},
		{"archived every 30 minutes while writing", "PostgresWALArchiveStale",
			with(writes(400), `pg_stat_archiver_last_archive_age{`+pgSel+`}`, "0+30x59 0+30x59 0+30x59 0+30x59 0+30x59 0+30x59 0+30x50"), "3h", nil},
		{"idle database", "PostgresWALArchiveStale", map[string]string{
			`pg_stat_archiver_last_archive_age{` + pgSel + `}`:                   "0+30x400",
			`pg_stat_database_tup_inserted{` + pgSel + `,datname="thingsboard"}`: "100x400",
			`pg_stat_database_tup_updated{` + pgSel + `,datname="thingsboard"}`:  "0x400",
			`pg_stat_database_tup_deleted{` + pgSel + `,datname="thingsboard"}`:  "0x400",
			`pg_replication_is_replica{` + pgSel + `}`:                           "0x400",
		}, "3h", nil},
		{"writes resume after a quiet day", "PostgresWALArchiveStale", map[string]string{
			// Idle for 2 h (age grows), writes from t=2h, a segment
			// archived 30 min later (archive_timeout).
			`pg_stat_archiver_last_archive_age{` + pgSel + `}`:                   "0+30x300 0+30x100",
			`pg_stat_database_tup_inserted{` + pgSel + `,datname="thingsboard"}`: "0x240 0+10x160",
			`pg_stat_database_tup_updated{` + pgSel + `,datname="thingsboard"}`:  "0x400",
			`pg_stat_database_tup_deleted{` + pgSel + `,datname="thingsboard"}`:  "0x400",
			`pg_replication_is_replica{` + pgSel + `}`:                           "0x400",
		}, "3h", nil},

		{"drill failed", "PostgresRestoreDrillFailed", map[string]string{
			`kube_job_status_start_time{` + ksm + `,job_name="postgres-restore-drill-1"}`:       "1000x40",
			`kube_job_failed{` + ksm + `,job_name="postgres-restore-drill-1",condition="true"}`: "0x4 1x36",
			drillOwner: "1x40",
			`kube_cronjob_status_last_successful_time{` + ksm + `,cronjob="postgres-restore-drill"}`: "500x40",
		}, "10m", []map[string]string{{"namespace": "thingsboard", "component": "postgres", "severity": "warning"}}},
		{"an old failed drill, a newer success", "PostgresRestoreDrillFailed", map[string]string{
			`kube_job_status_start_time{` + ksm + `,job_name="postgres-restore-drill-1"}`:       "1000x40",
			`kube_job_failed{` + ksm + `,job_name="postgres-restore-drill-1",condition="true"}`: "1x40",
			drillOwner: "1x40",
			`kube_cronjob_status_last_successful_time{` + ksm + `,cronjob="postgres-restore-drill"}`: "2000x40",
		}, "10m", nil},
		{"another Job failed", "PostgresRestoreDrillFailed", map[string]string{
			`kube_job_status_start_time{` + ksm + `,job_name="tb-install"}`:       "1000x40",
			`kube_job_failed{` + ksm + `,job_name="tb-install",condition="true"}`: "1x40",
		}, "10m", nil},

		{"the drill stopped succeeding", "PostgresRestoreDrillStale", map[string]string{
			// Last success at t=0 (epoch 0 in promtool's clock).
			`kube_cronjob_status_last_successful_time{` + ksm + `,cronjob="postgres-restore-drill"}`: "0x" + strconv.Itoa(2*day),
			`kube_cronjob_created{` + ksm + `,cronjob="postgres-restore-drill"}`:                     "0x" + strconv.Itoa(2*day),
		}, "31h", []map[string]string{{"namespace": "thingsboard", "component": "postgres", "severity": "warning"}}},
		{"the drill never succeeded", "PostgresRestoreDrillStale", map[string]string{
			`kube_cronjob_created{` + ksm + `,cronjob="postgres-restore-drill"}`: "0x" + strconv.Itoa(2*day),
		}, "31h", []map[string]string{{"namespace": "thingsboard", "component": "postgres", "severity": "warning"}}},
		{"daily successes", "PostgresRestoreDrillStale", map[string]string{
			`kube_cronjob_status_last_successful_time{` + ksm + `,cronjob="postgres-restore-drill"}`: "0x" + strconv.Itoa(day) + " 86400x" + strconv.Itoa(day),
			`kube_cronjob_created{` + ksm + `,cronjob="postgres-restore-drill"}`:                     "0x" + strconv.Itoa(2*day),
		}, "47h", nil},
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		if len(c.fires) > 0 {
			fires[c.alert] = true
		} else {
			silent[c.alert] = true
		}
	}
	for _, name := range []string{"PostgresWALArchivingFailing", "PostgresWALArchiveStale", "PostgresRestoreDrillFailed", "PostgresRestoreDrillStale"} {
		if !strings.Contains(stripped, "alert: "+name+"\n") {
			t.Errorf("alert %s is not in the rule file", name)
		}
		if !fires[name] || !silent[name] {
			t.Errorf("alert %s lacks a firing or a silent case", name)
		}
	}
	runRuleCases(t, tl.Promtool, dir, "rules.yml", every30s, cases)
}
