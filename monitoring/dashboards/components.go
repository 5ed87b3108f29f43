package dashboards

import (
	"fmt"

	"github.com/iotstack/iotstack/stack"
)

// up is the scrape health of every target of the jobs (Prometheus' own
// series, one per target).
func up(sel string) panel {
	return panel{title: "Targets up", stat: true, queries: []query{{fmt.Sprintf(`sum(up{%s})`, sel), "up"}},
		description: "Scraped targets answering; fewer than the replicas means a pod or its exporter is down."}
}

// zookeeper: the servers serve /metrics themselves (PrometheusMetricsProvider,
// components/zookeeper), each gauge under the name it is registered with:
// zookeeper-server/src/main/java/org/apache/zookeeper/server/
// ZooKeeperServer.java registerMetrics registers avg_latency,
// num_alive_connections, outstanding_requests and znode_count (read in
// ZooKeeper's sources on GitHub, not checked against a running 3.9 server).
func zookeeper(ts []stack.ScrapeTarget) spec {
	sel := jobs(ts)
	return spec{uid: "zookeeper", title: "ZooKeeper", tags: []string{"zookeeper"}, panels: []panel{
		up(sel),
		{title: "Servers up by pod", queries: []query{{fmt.Sprintf(`up{%s}`, sel), "{{pod}}"}}},
		{title: "Client connections", queries: []query{{fmt.Sprintf(`num_alive_connections{%s}`, sel), "{{pod}}"}}},
		{title: "Outstanding requests", description: "Requests queued in a server; a growing queue means it cannot keep up.",
			queries: []query{{fmt.Sprintf(`outstanding_requests{%s}`, sel), "{{pod}}"}}},
		{title: "Average latency", unit: "ms", queries: []query{{fmt.Sprintf(`avg_latency{%s}`, sel), "{{pod}}"}}},
		{title: "Znodes", queries: []query{{fmt.Sprintf(`znode_count{%s}`, sel), "{{pod}}"}}},
	}}
}

// kafka: danielqsj/kafka_exporter v1.9.0 (components/kafka ExporterImage),
// kafka_exporter.go: kafka_brokers, kafka_topic_partitions{topic},
// kafka_topic_partition_under_replicated_partition{topic,partition},
// kafka_topic_partition_current_offset{topic,partition} and
// kafka_consumergroup_lag{consumergroup,topic,partition}.
func kafka(ts []stack.ScrapeTarget) spec {
	sel := jobs(ts)
	return spec{uid: "kafka", title: "Kafka", tags: []string{"kafka"}, panels: []panel{
		up(sel),
		{title: "Brokers", stat: true, queries: []query{{fmt.Sprintf(`max(kafka_brokers{%s})`, sel), "brokers"}}},
		{title: "Under-replicated partitions", stat: true, queries: []query{{fmt.Sprintf(`sum(kafka_topic_partition_under_replicated_partition{%s}) or vector(0)`, sel), "partitions"}}},
		{title: "Partitions by topic", stat: true, queries: []query{{fmt.Sprintf(`sum(kafka_topic_partitions{%s})`, sel), "partitions"}}},
		{title: "Messages in per topic", unit: "short", queries: []query{{fmt.Sprintf(`sum by (topic) (rate(kafka_topic_partition_current_offset{%s}[5m]))`, sel), "{{topic}}"}}},
		{title: "Consumer lag per group and topic", unit: "short", description: "ThingsBoard's queues: a lag that grows means its consumers do not keep up.",
			queries: []query{{fmt.Sprintf(`sum by (consumergroup, topic) (kafka_consumergroup_lag{%s})`, sel), "{{consumergroup}} {{topic}}"}}},
	}}
}

// redis: names checked against testdata/redis_exporter.txt (the redis
// exporter against a real Redis).
func redis(ts []stack.ScrapeTarget) spec {
	sel := jobs(ts)
	return spec{uid: "redis", title: "Redis", tags: []string{"redis"}, panels: []panel{
		up(sel),
		{title: "Nodes up", stat: true, queries: []query{{fmt.Sprintf(`sum(redis_up{%s})`, sel), "up"}}},
		{title: "Masters without a replica", stat: true, queries: []query{{fmt.Sprintf(`count(redis_connected_slaves{%[1]s} == 0 and on (pod) redis_instance_info{%[1]s,role="master"}) or vector(0)`, sel), "masters"}}},
		{title: "Commands per second", unit: "ops", queries: []query{{fmt.Sprintf(`rate(redis_commands_processed_total{%s}[5m])`, sel), "{{pod}}"}}},
		{title: "Memory used against maxmemory", unit: "bytes", queries: []query{
			{fmt.Sprintf(`redis_memory_used_bytes{%s}`, sel), "{{pod}} used"},
			{fmt.Sprintf(`redis_memory_max_bytes{%s} > 0`, sel), "{{pod}} max"}}},
		{title: "Clients", queries: []query{{fmt.Sprintf(`redis_connected_clients{%s}`, sel), "{{pod}}"}}},
		{title: "Keyspace hit ratio", unit: "percentunit", queries: []query{{fmt.Sprintf(`rate(redis_keyspace_hits_total{%[1]s}[5m]) / (rate(redis_keyspace_hits_total{%[1]s}[5m]) + rate(redis_keyspace_misses_total{%[1]s}[5m]))`, sel), "{{pod}}"}}},
		{title: "Keys", queries: []query{{fmt.Sprintf(`sum by (pod) (redis_db_keys{%s})`, sel), "{{pod}}"}}},
	}}
}

// cassandra: criteo cassandra_exporter 2.3.8 (components/cassandra
// ExporterImage) exports the gauge cassandra_stats{name=...}, the JMX
// object name in lower case with ':' separators
// (src/main/java/com/criteo/nosql/cassandra/exporter/JmxScraper.java), the
// names used by components/cassandra/alerts.go.
func cassandra(ts []stack.ScrapeTarget) spec {
	sel := jobs(ts)
	return spec{uid: "cassandra", title: "Cassandra", tags: []string{"cassandra"}, panels: []panel{
		up(sel),
		{title: "Nodes seen down", stat: true, queries: []query{{fmt.Sprintf(`max(cassandra_stats{%s,name="org:apache:cassandra:net:failuredetector:downendpointcount"})`, sel), "down"}}},
		{title: "Pending compactions", queries: []query{{fmt.Sprintf(`cassandra_stats{%s,name="org:apache:cassandra:metrics:compaction:pendingtasks:value"}`, sel), "{{pod}}"}}},
	}}
}

// postgres: names checked against testdata/postgres_exporter.txt (the
// postgres exporter against a real PostgreSQL 15); the replica flag is
// pg_replication_is_replica, as in components/postgres/alerts.go
// (postgres_exporter collector/pg_replication.go), which the snapshot of
// a primary without the replication collector's extended queries lacks.
func postgres(ts []stack.ScrapeTarget) spec {
	sel := jobs(ts)
	return spec{uid: "postgres", title: "PostgreSQL", tags: []string{"postgres"}, panels: []panel{
		up(sel),
		{title: "Instances up", stat: true, queries: []query{{fmt.Sprintf(`sum(pg_up{%s})`, sel), "up"}}},
		{title: "Connections against max_connections", unit: "percentunit", queries: []query{{fmt.Sprintf(`sum by (pod) (pg_stat_activity_count{%[1]s}) / on (pod) max by (pod) (pg_settings_max_connections{%[1]s})`, sel), "{{pod}}"}}},
		{title: "Transactions per second", unit: "ops", queries: []query{
			{fmt.Sprintf(`sum by (pod) (rate(pg_stat_database_xact_commit{%s}[5m]))`, sel), "{{pod}} commit"},
			{fmt.Sprintf(`sum by (pod) (rate(pg_stat_database_xact_rollback{%s}[5m]))`, sel), "{{pod}} rollback"}}},
		{title: "Cache hit ratio", unit: "percentunit", queries: []query{{fmt.Sprintf(`sum by (pod) (rate(pg_stat_database_blks_hit{%[1]s}[5m])) / (sum by (pod) (rate(pg_stat_database_blks_hit{%[1]s}[5m])) + sum by (pod) (rate(pg_stat_database_blks_read{%[1]s}[5m])))`, sel), "{{pod}}"}}},
		{title: "Database size", unit: "bytes", queries: []query{{fmt.Sprintf(`pg_database_size_bytes{%s}`, sel), "{{pod}} {{datname}}"}}},
		{title: "Deadlocks", queries: []query{{fmt.Sprintf(`sum by (pod) (increase(pg_stat_database_deadlocks{%s}[1h]))`, sel), "{{pod}}"}}},
	}}
}

// thingsboard: the services serve Spring Boot's /actuator/prometheus
// (Micrometer): jvm_memory_used_bytes{area} and jvm_memory_max_bytes
// (micrometer-core binder/jvm/JvmMemoryMetrics.java, "jvm.memory.used" and
// "jvm.memory.max" in bytes), process_cpu_usage (binder/system/
// ProcessorMetrics.java, "process.cpu.usage"). ThingsBoard's own counters
// are not used: their names were not checked against a running node.
func thingsboard(ts []stack.ScrapeTarget) spec {
	sel := jobs(ts)
	return spec{uid: "thingsboard", title: "ThingsBoard", tags: []string{"thingsboard"}, panels: []panel{
		up(sel),
		{title: "Targets up by service", queries: []query{{fmt.Sprintf(`sum by (job) (up{%s})`, sel), "{{job}}"}}},
		{title: "Process CPU", unit: "percentunit", queries: []query{{fmt.Sprintf(`process_cpu_usage{%s}`, sel), "{{pod}}"}}},
		{title: "Heap used against max", unit: "bytes", queries: []query{
			{fmt.Sprintf(`sum by (pod) (jvm_memory_used_bytes{%s,area="heap"})`, sel), "{{pod}} used"},
			{fmt.Sprintf(`sum by (pod) (jvm_memory_max_bytes{%s,area="heap"})`, sel), "{{pod}} max"}}},
	}}
}

// overview shows the ThingsBoard article's pod table live. Sources:
// cAdvisor's container_cpu_usage_seconds_total,
// container_memory_working_set_bytes and machine_cpu_cores through the
// kubelet (job cadvisor, components/prometheus keeps exactly these);
// kube-state-metrics v2.19.1 kube_pod_info{namespace,pod,node}
// (internal/store/pod.go), kube_pod_container_resource_limits{resource,unit}
// (internal/store/pod.go) and kube_node_labels (internal/store/node.go),
// whose label_topology_kubernetes_io_zone needs kube-state-metrics to
// allow that node label (--metric-labels-allowlist=nodes=[topology.kubernetes.io/zone]).
func overview(target *stack.Stack) spec {
	ns := fmt.Sprintf(`namespace=%q`, target.Namespace())
	zones := len(target.Topology().Zones)
	zone := `label_replace(kube_node_labels{label_topology_kubernetes_io_zone!=""}, "zone", "$1", "label_topology_kubernetes_io_zone", "(.+)")`
	cpu := `sum(rate(container_cpu_usage_seconds_total{job="cadvisor",container!="",pod!=""}[5m]))`
	p := []panel{
		{title: "Pods per zone", description: "The ThingsBoard article's pod table: how many of the stack's pods run in each zone.",
			queries: []query{{fmt.Sprintf(`count by (zone) (kube_pod_info{%s} * on (node) group_left (zone) %s)`, ns, zone), "{{zone}}"}}},
		{title: "CPU used against limits by pod", unit: "percentunit", queries: []query{{fmt.Sprintf(
			`sum by (pod) (rate(container_cpu_usage_seconds_total{job="cadvisor",%[1]s,container!=""}[5m])) / sum by (pod) (kube_pod_container_resource_limits{%[1]s,resource="cpu"})`, ns), "{{pod}}"}}},
		{title: "Memory used against limits by pod", unit: "percentunit", queries: []query{{fmt.Sprintf(
			`sum by (pod) (container_memory_working_set_bytes{job="cadvisor",%[1]s,container!=""}) / sum by (pod) (kube_pod_container_resource_limits{%[1]s,resource="memory"})`, ns), "{{pod}}"}}},
		{title: "Cluster CPU use", unit: "percentunit", stat: true, queries: []query{{fmt.Sprintf(`%s / sum(machine_cpu_cores{job="cadvisor"})`, cpu), "used"}}},
	}
	if zones >= 2 {
		p = append(p, panel{title: "Headroom for a zone loss", unit: "percentunit", stat: true,
			description: fmt.Sprintf("Share of the CPU of the surviving %d zones left if one of %d zones is lost; below zero the survivors cannot absorb it.", zones-1, zones),
			queries:     []query{{fmt.Sprintf(`1 - %s / (sum(machine_cpu_cores{job="cadvisor"}) * %d / %d)`, cpu, zones-1, zones), "headroom"}}})
	}
	return spec{uid: "overview", title: "Cluster overview", tags: []string{"overview"}, panels: p}
}
