package reaper

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// alerts are Reaper's rules. Its metrics are Dropwizard metrics exported
// by the Prometheus client's DropwizardExports with Reaper's name mapping
// (metrics/PrometheusMetricsConfiguration.java at 4.2.3):
// io.cassandrareaper.service.RepairScheduleService.unfulfilledRepairSchedule
// and .millisSinceLastRepairForSchedule with labels cluster, keyspace and
// scheduleid, whose dots the client turns into underscores.
// unfulfilledRepairSchedule is 1 when a schedule's last completed repair
// is older than its days between runs plus a tenth
// (RepairScheduleService.getUnfulfilledRepairSchedule). Read in the
// sources; not checked against a running Reaper here.
func alerts(c *stack.Component, cfg Config) []stack.AlertRule {
	sel := c.JobSelector("")
	schedules := fmt.Sprintf(`io_cassandrareaper_service_RepairScheduleService_millisSinceLastRepairForSchedule{%s}`, sel)
	return []stack.AlertRule{{
		Alert:    "ReaperDown",
		Expr:     fmt.Sprintf(`max(up{%[1]s}) == 0 or absent(up{%[1]s})`, sel),
		For:      30 * time.Minute,
		Why:      "Reaper is one pod on a zonal volume: it is down while its node drains and for the whole zone drill, and repairs only wait; half an hour is longer than a drain or the drill, and a repair cycle has days of slack before gc_grace_seconds",
		Severity: stack.SeverityWarning,
		Summary:  "Cassandra Reaper is down: no repair runs",
		Runbook:  "kubectl describe pod -l app.kubernetes.io/name=" + c.Name() + "; its volume is in one zone: a pod Pending there waits for that zone's node",
	}, {
		Alert:    "CassandraRepairOverdue",
		Expr:     fmt.Sprintf(`max by (cluster, keyspace) (io_cassandrareaper_service_RepairScheduleService_unfulfilledRepairSchedule{%s}) == 1`, sel),
		For:      time.Hour,
		Why:      fmt.Sprintf("Reaper raises this once a keyspace's last completed repair is older than its %d days plus a tenth; an hour more lets a run that is finishing complete. Beyond 10 days (gc_grace_seconds) deleted data may come back", cfg.DaysBetween),
		Severity: stack.SeverityWarning,
		Summary:  "Keyspace {{ $labels.keyspace }} has not been repaired within its schedule",
		Runbook:  "open the Reaper UI (kubectl port-forward svc/" + c.Name() + " 8080, http://localhost:8080/webui/): is the run paused, postponed (a node down, too many pending compactions) or failing segments? Run nodetool repair -pr on each node if Reaper cannot",
	}, {
		// unfulfilledRepairSchedule ignores a schedule that never
		// completed a run: its millisSinceLastRepairForSchedule is then the
		// milliseconds since 1970 (getMillisSinceLastRepairForScheduleAsLong
		// falls back to now), above a year.
		Alert:    "CassandraRepairNeverCompleted",
		Expr:     fmt.Sprintf(`max by (cluster, keyspace) (%s) > %d`, schedules, int64(365*24*3600)*1000),
		For:      time.Duration(cfg.DaysBetween+2) * 24 * time.Hour,
		Why:      fmt.Sprintf("a new schedule's first run starts within hours (auto-scheduling spreads new schedules over six hours) and completes within its %d-day cycle; two days more mean it never completes. Prometheus restores the pending state of so long a window after a restart (ALERTS_FOR_STATE)", cfg.DaysBetween),
		Severity: stack.SeverityWarning,
		Summary:  "Keyspace {{ $labels.keyspace }} has a repair schedule whose runs never complete",
		Runbook:  "open the Reaper UI (kubectl port-forward svc/" + c.Name() + " 8080, http://localhost:8080/webui/): which segments fail or stay postponed, and why (a node down, pending compactions, JMX errors)?",
	}, {
		Alert:    "ReaperNoRepairSchedule",
		Expr:     fmt.Sprintf(`(max(up{%s}) == 1) unless on () count(%s)`, sel, schedules),
		For:      2 * time.Hour,
		Why:      "the registration sidecar retries every thirty seconds and Reaper schedules new keyspaces within minutes (its auto-scheduling polls every ten); two hours without any schedule means the cluster is not registered (JMX refused, wrong password) or holds no table yet",
		Severity: stack.SeverityWarning,
		Summary:  "Cassandra Reaper runs but has no repair schedule: no keyspace is being repaired",
		Runbook:  "kubectl logs -l app.kubernetes.io/name=" + c.Name() + " -c register; check that Reaper reaches the nodes' JMX port (7199) with controlRole",
	}}
}
