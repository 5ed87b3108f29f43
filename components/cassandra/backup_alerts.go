package cassandra

import (
	"fmt"
	"strings"
	"time"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/stack"
)

// backupAlerts are the backup rules, on kube-state-metrics' CronJob and
// Job series (v2.20.0, docs/metrics/workload/cronjob-metrics.md and
// job-metrics.md, all STABLE): kube_cronjob_status_last_successful_time
// and kube_cronjob_created{namespace,cronjob} (Unix seconds),
// kube_job_failed{namespace,job_name,condition} (condition "true" once
// the Job's Failed condition is set: its retries are spent, so a pod that
// failed and was retried successfully does not count, unlike
// kube_job_status_failed, which counts failed pods),
// kube_job_owner{namespace,job_name,owner_kind,owner_name} and
// kube_job_status_start_time{namespace,job_name}.
func backupAlerts(c *stack.Component, jobs []BackupJob, b Backup) []stack.AlertRule {
	var names []string
	for _, j := range jobs {
		names = append(names, j.Backup.Name)
	}
	if len(names) == 0 {
		return nil
	}
	ns := c.NamespaceSelector()
	match := fmt.Sprintf(`%s,cronjob=~%q`, ns, strings.Join(names, "|"))
	gap, err := backup.MaxInterval(jobs[0].Backup.Spec.Schedule)
	if err != nil {
		gap = 24 * time.Hour // unreachable: the schedule was validated
	}
	// Late: the longest gap between two runs, plus the run itself (its
	// deadline, the stagger) and an hour for a slow start or a retry.
	late := gap + time.Duration(b.StaggerMinutes)*time.Minute + time.Hour
	lastOK := fmt.Sprintf(`max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{%s})`, match)
	created := fmt.Sprintf(`max by (namespace, cronjob) (kube_cronjob_created{%s})`, match)
	// The start time of each failed Job of the backup CronJobs, by CronJob.
	failed := fmt.Sprintf(`max by (namespace, cronjob) (label_replace((kube_job_failed{%[1]s,condition="true"} == 1) * on (namespace, job_name) group_left (owner_name) kube_job_owner{%[1]s,owner_kind="CronJob",owner_name=~%[2]q} * on (namespace, job_name) group_left () kube_job_status_start_time{%[1]s}, "cronjob", "$1", "owner_name", "(.+)"))`,
		ns, strings.Join(names, "|"))
	secs := int64(late / time.Second)
	return []stack.AlertRule{{
		Alert: "CassandraBackupStale",
		Expr: fmt.Sprintf(`(time() - %[1]s > %[3]d) or ((time() - %[2]s > %[3]d) unless on (namespace, cronjob) %[1]s)`,
			lastOK, created, secs),
		For:      10 * time.Minute,
		Why:      fmt.Sprintf("the threshold (%s) already allows the longest gap between two scheduled runs, the run itself and an hour for a slow start or a retry; ten minutes more ride over a kube-state-metrics restart", stack.PromDuration(late)),
		Severity: stack.SeverityWarning,
		Summary:  "Cassandra backup {{ $labels.cronjob }} has not succeeded for {{ $value | humanizeDuration }}",
		Runbook:  "kubectl get jobs -l app.kubernetes.io/component=backup; kubectl logs job/<the latest {{ $labels.cronjob }} Job>; a Pending pod means its node's Cassandra pod is not running (the backup runs on its host)",
	}, {
		Alert:    "CassandraBackupFailed",
		Expr:     fmt.Sprintf(`(%[1]s > on (namespace, cronjob) group_left () %[2]s) or (%[1]s unless on (namespace, cronjob) %[2]s)`, failed, lastOK),
		For:      0,
		Why:      "a failed Job is final (its retry and deadline are spent) and newer than the last success: no window is needed; a later success silences it",
		Severity: stack.SeverityWarning,
		Summary:  "The last Cassandra backup of {{ $labels.cronjob }} failed",
		Runbook:  "kubectl logs job/<the failed {{ $labels.cronjob }} Job>; check the store's credentials Secret and reachability, and that the node's Cassandra pod was up; then kubectl create job --from=cronjob/{{ $labels.cronjob }} <name> to back up now",
	}}
}
