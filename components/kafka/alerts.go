package kafka

import (
	"fmt"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// alerts are Kafka's alert rules, on the series of the kafka_exporter
// Deployment (job <name>-exporter). The metric names are those of
// danielqsj/kafka_exporter v1.9.0 (ExporterImage), kafka_exporter.go:
// namespace "kafka" and BuildFQName(namespace, "", "brokers"),
// (namespace, "topic", "partition_leader") (emitted only for partitions
// whose leader sarama's client.Leader returns, so a partition without a
// leader has no series), (namespace, "topic",
// "partition_under_replicated_partition"); kafka_topic_partitions is
// (namespace, "topic", "partitions") in the same file.
func alerts(c *stack.Component, brokers int32) []stack.AlertRule {
	sel := c.JobSelector("exporter")
	rules := []stack.AlertRule{{
		Alert:    "KafkaUnderReplicatedPartitions",
		Expr:     fmt.Sprintf(`sum by (topic) (kafka_topic_partition_under_replicated_partition{%s}) > 0`, sel),
		For:      15 * time.Minute,
		Why:      "a broker restarted in a rolling restart, or lost in the zone drill, leaves its partitions under-replicated until it is back and has caught up (Strimzi #3749); only replicas lagging for longer than that are news",
		Severity: stack.SeverityWarning,
		Summary:  "Kafka topic {{ $labels.topic }} has {{ $value }} under-replicated partitions",
		Runbook:  "kafka-topics.sh --describe --under-replicated-partitions; find the broker missing from the ISR, check its pod, disk and network",
	}, {
		Alert: "KafkaOfflinePartitions",
		Expr: fmt.Sprintf(`sum by (topic) (kafka_topic_partitions{%[1]s}) - (count by (topic) (kafka_topic_partition_leader{%[1]s}) or sum by (topic) (kafka_topic_partitions{%[1]s}) * 0) > 0`,
			sel),
		For:      2 * time.Minute,
		Why:      "a leader election after a broker restart completes in seconds; partitions still without a leader after two minutes are unavailable to producers and consumers",
		Severity: stack.SeverityCritical,
		Summary:  "Kafka topic {{ $labels.topic }} has {{ $value }} partitions without a leader",
		Runbook:  "kafka-topics.sh --describe --unavailable-partitions; bring back the brokers holding the partition's replicas; never enable unclean leader election without deciding to lose data",
	}}
	if brokers >= 3 {
		quorum := brokers/2 + 1
		rules = append(rules, stack.AlertRule{
			Alert:    "KafkaQuorumAtRisk",
			Expr:     fmt.Sprintf(`kafka_brokers{%s} <= %d`, sel, quorum),
			For:      15 * time.Minute,
			Why:      "every broker is also a KRaft controller voter here (combined mode), so a broker missing from the metadata is a voter down; a rolling restart or the zone drill takes one down for minutes, longer is news",
			Severity: stack.SeverityWarning,
			Summary:  fmt.Sprintf("Kafka %s: {{ $value }} of %d brokers (and KRaft voters) in the metadata; one more loss breaks the controller quorum of %d", c.Name(), brokers, quorum),
			Runbook:  fmt.Sprintf("kubectl -n %s get pods -l app.kubernetes.io/name=%s,app.kubernetes.io/component=broker -o wide; bring the missing broker back; kafka-metadata-quorum.sh describe --status", c.Namespace(), c.Meta().App),
		})
	}
	return rules
}
