package zookeeper

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// alerts are ZooKeeper's alert rules. They use only Prometheus' own `up`
// series of the zookeeper job: the servers serve /metrics themselves
// (metricsProvider.className=PrometheusMetricsProvider on port 7000,
// zookeeper.go), so a target down is a server down.
func alerts(c *stack.Component, replicas int32) []stack.AlertRule {
	if replicas < 3 {
		return nil // one server has no quorum to put at risk; TargetDown covers it
	}
	quorum := replicas/2 + 1
	sel := c.JobSelector("")
	live := fmt.Sprintf(`(count(up{%s} == 1) or vector(0))`, sel)
	return []stack.AlertRule{{
		Alert:    "ZooKeeperQuorumAtRisk",
		Expr:     fmt.Sprintf(`%s <= %d`, live, quorum),
		For:      15 * time.Minute,
		Why:      "a rolling restart takes one server down at a time, each for a minute or two, and the zone drill takes one zone down for its duration; only a server down for longer than a restart is news",
		Severity: stack.SeverityWarning,
		Summary:  fmt.Sprintf("ZooKeeper %s: {{ $value }} of %d servers up; one more loss breaks the quorum of %d", c.Name(), replicas, quorum),
		Runbook:  fmt.Sprintf("kubectl -n %s get pods -l app.kubernetes.io/name=%s -o wide; find the missing server's zone and node, read its events and logs, bring it back before anything else restarts", c.Namespace(), c.Meta().App),
	}, {
		Alert:    "ZooKeeperQuorumLost",
		Expr:     fmt.Sprintf(`%s < %d`, live, quorum),
		For:      2 * time.Minute,
		Why:      "fewer servers than a quorum never happens in a rolling restart (the PDB allows one down) nor in the zone drill (one zone of three); two minutes rides over a scrape gap",
		Severity: stack.SeverityCritical,
		Summary:  fmt.Sprintf("ZooKeeper %s has lost its quorum: {{ $value }} of %d servers up, %d needed", c.Name(), replicas, quorum),
		Runbook:  "clients cannot write; restore servers until a quorum is up (kubectl get pods, describe, logs); do not delete data volumes",
	}}
}
