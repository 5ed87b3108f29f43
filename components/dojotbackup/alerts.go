package dojotbackup

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/stack"
)

// The freshness alerts read kube-state-metrics' CronJob series
// (docs/metrics/workload/cronjob-metrics.md at v2.20.0, STABLE, labels
// namespace and cronjob): kube_cronjob_status_last_successful_time (the
// completion time of the last successful Job; absent until one
// succeeded), kube_cronjob_status_last_schedule_time (when the last Job
// was started) and kube_cronjob_created. A Job started by hand (kubectl
// create job --from) changes neither.

// Alerts are the freshness alerts of the CronJob cronjob in namespace ns
// running schedule with runs bounded by deadline, named after the
// datastore (as the PostgreSQL backup's, PostgresWALArchiveStale):
//   - <Datastore>BackupStale (critical): no successful backup for longer
//     than the schedule's longest interval (backup.MaxInterval) plus the
//     deadline (a backup missed or failed for a whole period), or none
//     ever, that long after the CronJob was created.
//   - <Datastore>BackupFailing (warning): the last scheduled run has not
//     succeeded within its deadline (it failed, or never started), or no
//     run has ever succeeded since the first was scheduled.
//
// A schedule MaxInterval refuses gives no alerts (Config.Validate refuses
// it first).
func Alerts(datastore, ns, cronjob, schedule string, deadline time.Duration) []stack.AlertRule {
	interval, err := backup.MaxInterval(schedule)
	if err != nil {
		return nil
	}
	sel := fmt.Sprintf(`{namespace=%q,cronjob=%q}`, ns, cronjob)
	maxAge := interval + deadline
	on := "on(namespace, cronjob)"
	// max by (namespace, cronjob): one series per CronJob, the same
	// labels whichever branch holds.
	stale := fmt.Sprintf(`max by (namespace, cronjob) (
  time() - kube_cronjob_status_last_successful_time%[1]s > %[2]d
  or (time() - kube_cronjob_created%[1]s > %[2]d unless %[3]s kube_cronjob_status_last_successful_time%[1]s)
)`, sel, int64(maxAge.Seconds()), on)
	failing := fmt.Sprintf(`max by (namespace, cronjob) (
  kube_cronjob_status_last_schedule_time%[1]s > %[2]s kube_cronjob_status_last_successful_time%[1]s
  or (kube_cronjob_status_last_schedule_time%[1]s unless %[2]s kube_cronjob_status_last_successful_time%[1]s)
)`, sel, on)
	return []stack.AlertRule{{
		Alert:    datastore + "BackupStale",
		Expr:     stale,
		For:      15 * time.Minute,
		Why:      "the age threshold already includes a whole schedule interval and the run's deadline; 15 minutes more rides out a kube-state-metrics restart",
		Severity: stack.SeverityCritical,
		Summary:  fmt.Sprintf("No successful %s for over %s", cronjob, stack.PromDuration(maxAge)),
		Description: fmt.Sprintf("The CronJob %s/%s has not completed a backup for longer than its schedule %q allows (%s between runs plus the %s deadline): a restore would lose everything since the last good backup.",
			ns, cronjob, schedule, stack.PromDuration(interval), stack.PromDuration(deadline)),
		Runbook: fmt.Sprintf("kubectl -n %s get cronjob %s and kubectl -n %s get jobs; read the last Job's logs (kubectl -n %s logs job/<job> --all-containers); check the store's credentials Secret and bucket; run one now with kubectl -n %s create job --from=cronjob/%s %s-manual", ns, cronjob, ns, ns, ns, cronjob, cronjob),
	}, {
		Alert:    datastore + "BackupFailing",
		Expr:     failing,
		For:      deadline + 10*time.Minute,
		Why:      "a run may take up to its deadline (activeDeadlineSeconds) before it counts as failed; 10 minutes more for the status to reach kube-state-metrics",
		Severity: stack.SeverityWarning,
		Summary:  fmt.Sprintf("The last scheduled %s did not succeed", cronjob),
		Description: fmt.Sprintf("The last Job the CronJob %s/%s started has not succeeded within its deadline: the newest backup in the store is older than the schedule says.",
			ns, cronjob),
		Runbook: fmt.Sprintf("kubectl -n %s get jobs; kubectl -n %s logs job/<the last %s Job> --all-containers; fix the cause (store credentials, bucket, the datastore's password), then kubectl -n %s create job --from=cronjob/%s %s-manual", ns, ns, cronjob, ns, cronjob, cronjob),
	}}
}
