package cassandra

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// alerts are Cassandra's alert rules, on the series of the
// cassandra_exporter sidecar of every node (job <name>). criteo's
// cassandra_exporter 2.3.8 (ExporterImage) exports one gauge,
// cassandra_stats{cluster,datacenter,keyspace,table,name}
// (src/main/java/com/criteo/nosql/cassandra/exporter/JmxScraper.java), whose
// name label is the MBean's object name with ".", ":type=" and ",<key>="
// replaced by ":", then ":" and the attribute, lower-cased (getMetricPath):
// org.apache.cassandra.metrics:type=Compaction,name=PendingTasks, attribute
// Value, is org:apache:cassandra:metrics:compaction:pendingtasks:value, and
// org.apache.cassandra.net:type=FailureDetector, attribute
// DownEndpointCount, is org:apache:cassandra:net:failuredetector:downendpointcount.
// Neither is in the exporter configuration's blacklist (config.go). The
// attribute names are Cassandra's MBeans (CompactionMetrics, FailureDetectorMBean),
// read in Cassandra's sources, not checked against a running 5.0 node here.
func alerts(c *stack.Component) []stack.AlertRule {
	sel := c.JobSelector("")
	return []stack.AlertRule{{
		Alert:    "CassandraNodesDown",
		Expr:     fmt.Sprintf(`max(cassandra_stats{%s,name="org:apache:cassandra:net:failuredetector:downendpointcount"}) > 0`, sel),
		For:      15 * time.Minute,
		Why:      "a rolling restart drains and restarts one node at a time, each seen down by its peers for a few minutes, and the zone drill takes a rack down for its duration; fifteen minutes is a node that does not come back, with QUORUM one more loss away",
		Severity: stack.SeverityWarning,
		Summary:  fmt.Sprintf("Cassandra %s: peers see {{ $value }} node(s) down", c.Name()),
		Runbook:  "nodetool status on any node; bring the DN node back; if it is gone for good, nodetool removenode and add a new one",
	}, {
		Alert:    "CassandraPendingCompactions",
		Expr:     fmt.Sprintf(`cassandra_stats{%s,name="org:apache:cassandra:metrics:compaction:pendingtasks:value"} > 100`, sel),
		For:      30 * time.Minute,
		Why:      "a node back from a restart or a repair streams SSTables that compact for a while; half an hour above 100 pending tasks means compaction does not keep up with writes (reads slow, disk grows)",
		Severity: stack.SeverityWarning,
		Summary:  "Cassandra node {{ $labels.pod }} has {{ $value }} pending compactions",
		Runbook:  "nodetool compactionstats; check disk and CPU; raise compaction_throughput or add nodes",
	}}
}
