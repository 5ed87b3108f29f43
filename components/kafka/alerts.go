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
// (namespace, "topic", "partitions") in the same file, as are
// (namespace, "topic", "partition_in_sync_replica") {topic, partition} and
// (namespace, "consumergroup", "lag") {consumergroup, topic, partition}.
//
// ISR shrinking: the broker's own IsrShrinksPerSec meter is a JMX metric
// that kafka_exporter (which reads cluster metadata and offsets only)
// does not expose, and no JMX agent runs here. A shrink by one replica is
// KafkaUnderReplicatedPartitions (fifteen minutes); a shrink to a single
// in-sync replica, where one more loss takes the partition offline (or,
// with min.insync.replicas 2, producers with acks=all are refused), is
// KafkaISRShrunkToOne (five minutes). kafka_topic_partition_replicas is
// (namespace, "topic", "partition_replicas") in the same file.
// consumerLagMessages is the lag, in messages summed over a topic's
// partitions, above which a growing lag is news: half a second of the
// ThingsBoard article's load at 100k devices (20k data points per second).
const consumerLagMessages = 10000

func alerts(c *stack.Component, brokers int32, minISR int) []stack.AlertRule {
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
	consequence := "one more broker lost takes them offline"
	if minISR >= 2 {
		consequence = fmt.Sprintf("below min.insync.replicas (%d), producers with acks=all are refused", minISR)
	}
	rules = append(rules, stack.AlertRule{
		Alert:    "KafkaISRShrunkToOne",
		Expr:     fmt.Sprintf(`count by (topic) (kafka_topic_partition_in_sync_replica{%[1]s} < 2 and on (topic, partition) kafka_topic_partition_replicas{%[1]s} > 1) > 0`, sel),
		For:      5 * time.Minute,
		Why:      "a rolling restart or the zone drill takes one replica of each partition out of the ISR, which leaves two of three and stays silent (that is KafkaUnderReplicatedPartitions' window); one replica left means two are gone, and five minutes rule out the seconds of a leader moving while the next broker restarts",
		Severity: stack.SeverityCritical,
		Summary:  "Kafka topic {{ $labels.topic }} has {{ $value }} partitions with a single in-sync replica: " + consequence,
		Runbook:  "kafka-topics.sh --describe --under-min-isr-partitions (and --under-replicated-partitions); two brokers holding the partition are down or lagging: bring them back before restarting anything else",
	})
	rules = append(rules, stack.AlertRule{
		Alert: "KafkaConsumerGroupLag",
		Expr: fmt.Sprintf(`sum by (consumergroup, topic) (kafka_consumergroup_lag{%[1]s}) > %[2]d and sum by (consumergroup, topic) (delta(kafka_consumergroup_lag{%[1]s}[15m])) > 0`,
			sel, consumerLagMessages),
		For:      15 * time.Minute,
		Why:      "ThingsBoard's consumers (tb-core, the rule engine, the transports) stop for a few minutes each in a rolling restart or the zone drill and the lag they build drains once they are back; a lag above the threshold that still grows after fifteen minutes means the queue's consumers fall behind the load",
		Severity: stack.SeverityWarning,
		Summary:  "Kafka consumer group {{ $labels.consumergroup }} is {{ $value }} messages behind on {{ $labels.topic }} and falling further behind",
		Runbook:  "kafka-consumer-groups.sh --describe --group {{ $labels.consumergroup }}; are its pods running and not throttled (CPU at its limit)? Add consumers (ThingsBoard partitions per queue) or CPU",
	})
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
