package redis

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// alerts are the Redis Cluster's alert rules, on the series of the
// redis_exporter sidecar of every node (job <name>). Metric names are those
// of oliver006/redis_exporter v1.67.0 (ExporterImage): metric namespace
// "redis" (main.go, flag namespace); exporter/exporter.go registers "up"
// and "instance_info" (label role) and maps INFO's connected_slaves to
// "connected_slaves"; exporter/info.go extractClusterInfoMetrics turns
// every CLUSTER INFO field into a gauge (includeMetric keeps cluster_*),
// and exporter/metrics.go parseAndRegisterConstMetric maps the value "ok"
// to 1 and "fail" to 0, so cluster_state:ok is redis_cluster_state 1.
func alerts(c *stack.Component, replicas int) []stack.AlertRule {
	sel := c.JobSelector("")
	rules := []stack.AlertRule{{
		Alert:    "RedisClusterStateNotOK",
		Expr:     fmt.Sprintf(`redis_cluster_state{%s} == 0`, sel),
		For:      2 * time.Minute,
		Why:      "a failover after a master is lost takes cluster-node-timeout plus an election, seconds; a node that still sees the cluster failed after two minutes means hash slots are not served",
		Severity: stack.SeverityCritical,
		Summary:  "Redis node {{ $labels.pod }} reports cluster_state fail",
		Runbook:  "redis-cli -a \"$REDIS_PASSWORD\" cluster info / cluster nodes on the pod; find the slots without a master, bring back the lost node or fail over its replica",
	}, {
		Alert:    "RedisDown",
		Expr:     fmt.Sprintf(`redis_up{%s} == 0`, sel),
		For:      5 * time.Minute,
		Why:      "a rolling restart stops each node for well under a minute while its sidecar exporter keeps answering; five minutes is a node that does not come back",
		Severity: stack.SeverityWarning,
		Summary:  "Redis on {{ $labels.pod }} does not answer its exporter",
		Runbook:  "kubectl describe pod and logs of the redis container; check its volume and memory limit",
	}}
	if replicas > 0 {
		rules = append(rules, stack.AlertRule{
			Alert:    "RedisMasterWithoutReplica",
			Expr:     fmt.Sprintf(`redis_connected_slaves{%[1]s} == 0 and on (pod) redis_instance_info{%[1]s,role="master"}`, sel),
			For:      15 * time.Minute,
			Why:      "a replica restarting in a rolling restart or lost with its zone in the drill reconnects and resyncs within minutes; a master alone for longer loses its shard with its next failure",
			Severity: stack.SeverityWarning,
			Summary:  "Redis master {{ $labels.pod }} has no connected replica",
			Runbook:  "redis-cli cluster nodes: find the master's replica; restart it or add one with cluster replicate",
		})
	}
	return rules
}
