package prometheus

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// Rule groups Prometheus contributes itself. Each is a group of its own
// with its own component label, so that the critical-over-warning
// inhibition stays within a concern: a critical capacity alert silences
// the CPU warning, not a claim filling up or a target down.
const (
	// GroupWatchdog holds the always-firing Watchdog.
	GroupWatchdog = "watchdog"
	// GroupKubernetes holds the rules on the stack's pods, Jobs, claims
	// and targets.
	GroupKubernetes = "kubernetes"
	// GroupCapacity holds the ThingsBoard article's CPU capacity rules.
	GroupCapacity = "capacity"
)

// clusterRules are the rules about the target stack as Kubernetes sees it
// and about the cluster's capacity, contributed by Prometheus itself, by
// group.
//
// Metric names and labels, by source:
//   - up: Prometheus' own series per target.
//   - kubelet_volume_stats_{capacity,available,used}_bytes{namespace,
//     persistentvolumeclaim}: the kubelet's volume statistics collector
//     (kubernetes pkg/kubelet/metrics/collectors/volume_stats.go), scraped
//     by the kubelet job with honor_labels.
//   - container_cpu_usage_seconds_total and machine_cpu_cores: cAdvisor's
//     container and machine collectors, which the kubelet serves on
//     /metrics/cadvisor (kubernetes pkg/kubelet/server/server.go registers
//     cadvisor's NewPrometheusMachineCollector there). Read in the
//     kubelet's sources on GitHub, not at a pinned release: unverified for
//     a given Kubernetes minor.
//   - from kube-state-metrics v2.20.0 (components/kubestatemetrics), as
//     listed in its docs/metrics at that tag:
//     kube_pod_container_status_waiting_reason{namespace,pod,container,
//     reason} (workload/pod-metrics.md, STABLE), kube_job_failed{namespace,
//     job_name,condition} (workload/job-metrics.md, STABLE; condition
//     "true" when the Job's Failed condition is True) and
//     kube_poddisruptionbudget_status_current_healthy and
//     _status_desired_healthy{namespace,poddisruptionbudget}
//     (policy/poddisruptionbudget-metrics.md, STABLE). Scraped with
//     honor_labels, so namespace is the object's.
func clusterRules(target *stack.Stack) []stack.AlertGroup {
	ns := fmt.Sprintf(`namespace=%q`, target.Namespace())
	watchdog := []stack.AlertRule{{
		Alert:    "Watchdog",
		Expr:     "vector(1)",
		Why:      "always firing, by design: the heartbeat receiver outside the cluster raises the alarm when it stops hearing it",
		Severity: stack.SeverityNone,
		Summary:  "The alerting pipeline works (always firing)",
		Runbook:  "if the outside heartbeat stops, Prometheus or Alertmanager or their network is down: check both StatefulSets in the monitoring namespace",
	}}
	kube := []stack.AlertRule{{
		Alert:    "TargetDown",
		Expr:     fmt.Sprintf(`up{%s} == 0`, ns),
		For:      15 * time.Minute,
		Why:      "a pod restarting in a rolling restart or rescheduled in the zone drill fails its scrapes for minutes (slow starters such as Cassandra's exporter longer); fifteen minutes is a target that stays down (the OpenShift lesson: shorter windows page on every node upgrade)",
		Severity: stack.SeverityWarning,
		Summary:  "{{ $labels.job }} target {{ $labels.pod }} is down",
		Runbook:  "kubectl describe pod {{ $labels.pod }}; is the exporter container ready, does the NetworkPolicy admit the monitoring namespace on the scrape port?",
	}, {
		Alert:    "PersistentVolumeClaimAbove80Percent",
		Expr:     fmt.Sprintf(`kubelet_volume_stats_used_bytes{%[1]s} / kubelet_volume_stats_capacity_bytes{%[1]s} > 0.8`, ns),
		For:      15 * time.Minute,
		Why:      "compactions (Cassandra, Kafka segment rolls) raise usage for minutes and give it back; fifteen minutes above 80 % is a trend",
		Severity: stack.SeverityWarning,
		Summary:  "Claim {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full",
		Runbook:  "expand the claim (allowVolumeExpansion) or shorten the data's retention before it fills",
	}, {
		Alert:    "PersistentVolumeClaimFullIn24h",
		Expr:     fmt.Sprintf(`predict_linear(kubelet_volume_stats_available_bytes{%[1]s}[6h], 24 * 3600) < 0 and kubelet_volume_stats_used_bytes{%[1]s} / kubelet_volume_stats_capacity_bytes{%[1]s} > 0.5`, ns),
		For:      1 * time.Hour,
		Why:      "a linear prediction over six hours swings with bulk loads and compactions; an hour of a consistent prediction is worth waking for a day ahead, and the 50 % floor keeps fresh volumes quiet",
		Severity: stack.SeverityWarning,
		Summary:  "Claim {{ $labels.persistentvolumeclaim }} will be full within 24 hours at its current rate",
		Runbook:  "find what writes (kubectl exec ... du); expand the claim or fix retention now",
	}, {
		Alert:    "PodCrashLooping",
		Expr:     fmt.Sprintf(`max_over_time(kube_pod_container_status_waiting_reason{%s,reason="CrashLoopBackOff"}[5m]) >= 1`, ns),
		For:      15 * time.Minute,
		Why:      "a pod that starts before its dependencies (Kafka before its quorum, ThingsBoard before PostgreSQL) backs off a few times during a rollout or the zone drill and then runs; fifteen minutes of back-off is a pod that will not start",
		Severity: stack.SeverityWarning,
		Summary:  "Container {{ $labels.container }} of {{ $labels.pod }} is crash-looping",
		Runbook:  "kubectl logs --previous {{ $labels.pod }} -c {{ $labels.container }}; kubectl describe pod for OOMKilled or probe failures",
	}, {
		Alert:    "JobFailed",
		Expr:     fmt.Sprintf(`kube_job_failed{%s,condition="true"} == 1`, ns),
		For:      0,
		Why:      "a Job's Failed condition is final (its back-off limit or deadline is spent): no window is needed, and the schema and bootstrap Jobs do not run in a rolling restart",
		Severity: stack.SeverityWarning,
		Summary:  "Job {{ $labels.job_name }} failed",
		Runbook:  "kubectl logs job/{{ $labels.job_name }}; fix the cause, delete the Job and re-apply",
	}, {
		Alert:    "PodDisruptionBudgetAtRisk",
		Expr:     fmt.Sprintf(`kube_poddisruptionbudget_status_current_healthy{%[1]s} < kube_poddisruptionbudget_status_desired_healthy{%[1]s}`, ns),
		For:      15 * time.Minute,
		Why:      "a rolling restart or the zone drill takes down at most what each budget allows (one pod, or one zone's rack for Cassandra), which leaves exactly the desired number healthy and stays silent; fewer than that is one more pod lost, and fifteen minutes let a pod rescheduled in the drill start",
		Severity: stack.SeverityWarning,
		Summary:  "PodDisruptionBudget {{ $labels.poddisruptionbudget }} has fewer healthy pods than it requires: node drains are blocked and one more loss may break the service",
		Runbook:  "kubectl get pdb {{ $labels.poddisruptionbudget }}; kubectl get pods -o wide for the budget's selector: find the pods not ready and why (pending for lack of a node in their zone, crash-looping)",
	}}
	var capacity []stack.AlertRule
	cpu := `sum(rate(container_cpu_usage_seconds_total{job="cadvisor",container!="",pod!=""}[5m])) / sum(machine_cpu_cores{job="cadvisor"})`
	if z := len(target.Topology().Zones); z >= 2 {
		level := float64(z-1) / float64(z)
		capacity = append(capacity, stack.AlertRule{
			Alert:    "CPUAboveZoneLossCapacity",
			Expr:     fmt.Sprintf(`%s > %.4f`, cpu, level),
			For:      30 * time.Minute,
			Why:      "the ThingsBoard article's peak-load test and the zone drill's rescheduling raise the average for minutes; half an hour above the level means the cluster lives there",
			Severity: stack.SeverityCritical,
			Summary:  fmt.Sprintf("Average CPU use is {{ $value | humanizePercentage }}: above %d/%d, the surviving zones could not absorb a lost zone", z-1, z),
			Runbook:  "add nodes in every zone now (node group desired size); the ThingsBoard article's rule: on three zones stay below 2/3",
		})
	}
	capacity = append(capacity, stack.AlertRule{
		Alert:    "CPUAbove50Percent",
		Expr:     fmt.Sprintf(`%s > 0.5`, cpu),
		For:      1 * time.Hour,
		Why:      "a daily peak crosses 50 % for a while; an hour above it is the ThingsBoard article's \"time to add CPUs\"",
		Severity: stack.SeverityWarning,
		Summary:  "Average CPU use is {{ $value | humanizePercentage }}: time to add CPUs",
		Runbook:  "plan more nodes (or larger instance types) per zone before the zone-loss level is reached",
	})
	group := func(name string, rules []stack.AlertRule) stack.AlertGroup {
		return stack.AlertGroup{Component: name, Namespace: target.Namespace(), Rules: rules}
	}
	return []stack.AlertGroup{group(GroupKubernetes, kube), group(GroupCapacity, capacity), group(GroupWatchdog, watchdog)}
}
