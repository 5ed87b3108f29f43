package postgres

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/stack"
)

// backupAlerts are the freshness rules of the backups, added when
// backups are on.
//
// Archiving, from the postgres_exporter sidecar (ExporterImage, v0.17.1,
// cmd/postgres_exporter/postgres_exporter.go builtinMetricMaps
// "pg_stat_archiver", queries.go): pg_stat_archiver_failed_count
// (counter) and pg_stat_archiver_last_archive_age (gauge, seconds since
// last_archived_time; NaN on a replica, which archives nothing), and the
// writes of collector/pg_stat_database.go (defaultEnabled):
// pg_stat_database_tup_{inserted,updated,deleted}{datname}. Spilo
// 4.0-p3's configure_spilo.py template sets archive_timeout 1800s: a
// primary that writes switches to a new WAL segment, and so archives one,
// at least every 30 minutes.
//
// The restore drill, from kube-state-metrics v2.20.0
// (docs/metrics/workload/cronjob-metrics.md and job-metrics.md):
// kube_cronjob_status_last_successful_time{cronjob} (absent until a Job
// of the CronJob succeeded), kube_cronjob_created{cronjob},
// kube_job_failed{job_name,condition}, kube_job_status_start_time and
// kube_job_owner{owner_kind,owner_name}. kube-state-metrics watches
// cronjobs for these (components/kubestatemetrics).
func backupAlerts(c *stack.Component, cfg Config) []stack.AlertRule {
	sel := c.JobSelector("")
	ns := c.NamespaceSelector()
	drill := drillName(cfg)
	drillEvery, _ := backup.MaxInterval(cfg.Backup.DrillSchedule) // validated
	stale := drillEvery + drillDeadline
	failed := fmt.Sprintf(`max by (namespace) (
  kube_job_status_start_time{%[1]s}
  * on (namespace, job_name) group_left () (kube_job_failed{%[1]s,condition="true"} == 1)
  * on (namespace, job_name) group_left () (kube_job_owner{%[1]s,owner_kind="CronJob",owner_name=%[2]q} == 1)
)`, ns, drill)
	lastOK := fmt.Sprintf(`max by (namespace) (kube_cronjob_status_last_successful_time{%s,cronjob=%q})`, ns, drill)
	return []stack.AlertRule{{
		Alert:    "PostgresWALArchivingFailing",
		Expr:     fmt.Sprintf(`increase(pg_stat_archiver_failed_count{%s}[10m]) > 0`, sel),
		For:      15 * time.Minute,
		Why:      "PostgreSQL retries a failed segment until it is archived, so a restart of the object store or a network break in the zone drill costs a few failed attempts and then archiving resumes; failures throughout 25 minutes mean WAL piles up in pg_wal and point-in-time recovery stops at the last archived segment",
		Severity: stack.SeverityWarning,
		Summary:  "PostgreSQL {{ $labels.pod }} fails to archive WAL to the object store",
		Runbook:  "kubectl logs {{ $labels.pod }} -c postgres | grep wal-push for WAL-G's error (credentials in Secret " + cfg.Name + "-backup-s3, bucket, endpoint); SELECT * FROM pg_stat_archiver for the failing segment; watch the data volume's free space",
	}, {
		Alert: "PostgresWALArchiveStale",
		Expr: fmt.Sprintf(`pg_stat_archiver_last_archive_age{%[1]s} > 3600
and on (pod) (pg_replication_is_replica{%[1]s} == 0)
and on (pod) (sum by (pod) (increase(pg_stat_database_tup_inserted{%[1]s}[1h]) + increase(pg_stat_database_tup_updated{%[1]s}[1h]) + increase(pg_stat_database_tup_deleted{%[1]s}[1h])) > 0)`, sel),
		For:      45 * time.Minute,
		Why:      "a primary that writes archives a segment at least every 30 minutes (Spilo's archive_timeout), so an hour without one while rows change means archiving stalls (a hung wal-push, archive_command not set); writes that resume after a quiet hour hold the age above the threshold for up to one archive_timeout, which 45 minutes outlast, and a replica or an idle database never fires",
		Severity: stack.SeverityWarning,
		Summary:  "PostgreSQL primary {{ $labels.pod }} archived no WAL for {{ $value | humanizeDuration }} while it writes",
		Runbook:  "SELECT * FROM pg_stat_archiver on the primary; SHOW archive_command (Spilo sets it from WALG_S3_PREFIX); kubectl logs {{ $labels.pod }} -c postgres for wal-push",
	}, {
		Alert: "PostgresRestoreDrillFailed",
		Expr: fmt.Sprintf(`(%[1]s > on (namespace) %[2]s)
or on (namespace) (%[1]s unless on (namespace) %[2]s)`, failed, lastOK),
		For:      0,
		Why:      "a drill Job's Failed condition is final (it does not retry: a failed restore is a finding), and it stays silent once a later run succeeded",
		Severity: stack.SeverityWarning,
		Summary:  "The restore drill of PostgreSQL " + cfg.Name + " failed: the newest base backup is too old, or it could not be restored",
		Runbook:  "kubectl logs job/<the failed " + drill + " Job> for the step that failed (no backup, too old, backup-fetch, recovery); then kubectl create job --from=cronjob/" + drill + " " + drill + "-manual to run it again",
	}, {
		Alert: "PostgresRestoreDrillStale",
		Expr: fmt.Sprintf(`(time() - %[2]s > %[3]d)
or on (namespace) ((time() - max by (namespace) (kube_cronjob_created{%[1]s,cronjob=%[4]q}) > %[3]d) unless on (namespace) %[2]s)`,
			ns, lastOK, int64(stale/time.Second), drill),
		For:      10 * time.Minute,
		Why:      fmt.Sprintf("the drill runs on %q and may take up to %s, so no success for %s means it is not running (suspended, unschedulable, failing); ten minutes ride out kube-state-metrics being rescheduled", cfg.Backup.DrillSchedule, stack.PromDuration(drillDeadline), stack.PromDuration(stale)),
		Severity: stack.SeverityWarning,
		Summary:  "The restore drill of PostgreSQL " + cfg.Name + " has not succeeded for longer than its schedule allows",
		Runbook:  "kubectl get cronjob " + drill + " (suspended? last schedule?); kubectl get jobs,pods -l for the drill's pods (Pending for lack of ephemeral storage?)",
	}}
}
