package postgres

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// alerts are PostgreSQL's alert rules, on the series of the
// postgres_exporter sidecar of every instance (job <name>). Metric names
// are those of prometheus-community/postgres_exporter v0.17.1
// (ExporterImage): collector/collector.go namespace "pg";
// collector/pg_replication.go (registered defaultEnabled) exports
// pg_replication_is_replica (1 when pg_is_in_recovery()) and
// pg_replication_lag_seconds (0 on a primary and on a replica that has
// replayed all it received, else now() - pg_last_xact_replay_timestamp()).
// Patroni's own /metrics (port 8008) is not scraped yet: the leader is
// read from the exporter as "no instance out of recovery".
//
// PgBouncer's saturation comes from the pgbouncer_exporter sidecar of the
// pooler (job <name>-pooler; postgres_exporter has no PgBouncer support).
// Names from prometheus-community/pgbouncer_exporter v0.12.1
// (PoolerExporterImage), collector.go: "<namespace>_<list>_<metric>"
// with namespace "pgbouncer": pgbouncer_pools_client_waiting_connections
// {database,user} (SHOW POOLS cl_waiting) and
// pgbouncer_pools_client_maxwait_seconds (maxwait), and
// BuildFQName(namespace, "config", "max_client_connections") (SHOW
// CONFIG max_client_conn) and (namespace, "", "used_clients") (SHOW
// LISTS).
func alerts(c *stack.Component, instances int32) []stack.AlertRule {
	sel := c.JobSelector("")
	rules := []stack.AlertRule{{
		Alert:    "PostgresNoLeader",
		Expr:     fmt.Sprintf(`(count(pg_replication_is_replica{%s} == 0) or vector(0)) == 0`, sel),
		For:      2 * time.Minute,
		Why:      "Patroni promotes a replica within its TTL (30 s) plus a loop (10 s) after the leader is lost, and a switchover in a rolling restart within seconds; no primary after two minutes means writes fail",
		Severity: stack.SeverityCritical,
		Summary:  fmt.Sprintf("PostgreSQL %s has no primary (no instance out of recovery)", c.Name()),
		Runbook:  "patronictl list in any instance; read Patroni's log for why no member takes the leader lock (DCS access, pg_rewind, timeline)",
	}}
	pooler := c.JobSelector("pooler")
	rules = append(rules, stack.AlertRule{
		Alert:    "PgBouncerClientsWaiting",
		Expr:     fmt.Sprintf(`max by (pod, database) (pgbouncer_pools_client_maxwait_seconds{%s}) >= 5`, pooler),
		For:      10 * time.Minute,
		Why:      "a switchover in a rolling restart or a failover in the zone drill holds clients for the seconds to a minute Patroni takes, while the pool reconnects to the new primary; clients still waiting five seconds or more for a server connection after ten minutes mean the pool (default_pool_size) is exhausted",
		Severity: stack.SeverityWarning,
		Summary:  "PgBouncer {{ $labels.pod }}: clients wait {{ $value }} s for a server connection to {{ $labels.database }}",
		Runbook:  "SHOW POOLS on the pooler's admin console (cl_waiting, sv_active); look for long transactions on the primary (pg_stat_activity); raise postgres.poolSize within max_connections",
	}, stack.AlertRule{
		Alert:    "PgBouncerClientConnectionsNearLimit",
		Expr:     fmt.Sprintf(`max by (pod) (pgbouncer_used_clients{%[1]s}) / max by (pod) (pgbouncer_config_max_client_connections{%[1]s}) > 0.9`, pooler),
		For:      15 * time.Minute,
		Why:      "in the zone drill the clients of the lost pooler reconnect to the others for as long as the zone is down; above 90 % of max_client_conn for fifteen minutes, new clients are about to be refused",
		Severity: stack.SeverityWarning,
		Summary:  "PgBouncer {{ $labels.pod }} holds {{ $value | humanizePercentage }} of max_client_conn",
		Runbook:  "raise postgres.maxClientConnections or postgres.poolerReplicas; find the client that leaks connections (SHOW CLIENTS)",
	})
	if instances > 1 {
		rules = append(rules, stack.AlertRule{
			Alert:    "PostgresReplicationLag",
			Expr:     fmt.Sprintf(`pg_replication_lag_seconds{%s} > 60`, sel),
			For:      10 * time.Minute,
			Why:      "a replica restarted in a rolling restart or back from the zone drill replays the WAL it missed within minutes; lag sustained for ten minutes means a failover would lose that much or wait",
			Severity: stack.SeverityWarning,
			Summary:  "PostgreSQL replica {{ $labels.pod }} is {{ $value | humanizeDuration }} behind the primary",
			Runbook:  "patronictl list (Lag in MB); check the replica's disk, CPU and network; a replica far behind can be reinitialised with patronictl reinit",
		})
	}
	return rules
}
