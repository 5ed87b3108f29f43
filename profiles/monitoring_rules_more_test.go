package profiles

// moreRuleCases are the promtool cases of the alerts of issue 14's second
// increment (Kafka ISR shrunk to one replica, consumer lag, PodDisruptionBudgets, PgBouncer saturation), in a file of
// their own to keep merges simple; l builds the expected labels with the
// namespace.
func moreRuleCases(l func(kv ...string) map[string]string) []ruleCase {
	isr := func(v string) map[string]string {
		return map[string]string{
			`kafka_topic_partition_in_sync_replica{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="0"}`: v,
			`kafka_topic_partition_in_sync_replica{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="1"}`: "3x200",
			`kafka_topic_partition_replicas{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="0"}`:        "3x200",
			`kafka_topic_partition_replicas{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="1"}`:        "3x200",
		}
	}
	lag := func(v string) map[string]string {
		return map[string]string{
			`kafka_consumergroup_lag{job="kafka-exporter",namespace="thingsboard",consumergroup="tb-core",topic="tb_core",partition="0"}`: v,
			`kafka_consumergroup_lag{job="kafka-exporter",namespace="thingsboard",consumergroup="tb-core",topic="tb_core",partition="1"}`: "0x200",
		}
	}
	pdb := func(current string) map[string]string {
		return map[string]string{
			`kube_poddisruptionbudget_status_current_healthy{job="kube-state-metrics",namespace="thingsboard",poddisruptionbudget="zookeeper"}`: current,
			`kube_poddisruptionbudget_status_desired_healthy{job="kube-state-metrics",namespace="thingsboard",poddisruptionbudget="zookeeper"}`: "2x200",
		}
	}
	wait := func(v string) map[string]string {
		return map[string]string{
			`pgbouncer_pools_client_maxwait_seconds{job="postgres-pooler",namespace="thingsboard",pod="postgres-pooler-a",database="thingsboard",user="thingsboard"}`: v,
		}
	}
	clients := func(v string) map[string]string {
		return map[string]string{
			`pgbouncer_used_clients{job="postgres-pooler",namespace="thingsboard",pod="postgres-pooler-a"}`:                  v,
			`pgbouncer_config_max_client_connections{job="postgres-pooler",namespace="thingsboard",pod="postgres-pooler-a"}`: "1000x200",
		}
	}
	return []ruleCase{
		{"pool exhausted", "PgBouncerClientsWaiting", wait("0x2 8x60"), "20m",
			[]map[string]string{l("severity", "warning", "component", "postgres", "pod", "postgres-pooler-a", "database", "thingsboard")}},
		{"switchover in a rolling restart", "PgBouncerClientsWaiting", wait("0x2 30x2 0x60"), "20m", nil},
		{"zone drill failover", "PgBouncerClientsWaiting", wait("0x2 60x4 0x100"), "30m", nil},
		{"clients near max_client_conn", "PgBouncerClientConnectionsNearLimit", clients("500x2 950x60"), "20m",
			[]map[string]string{l("severity", "warning", "component", "postgres", "pod", "postgres-pooler-a")}},
		{"zone drill doubles the clients of a pooler for ten minutes", "PgBouncerClientConnectionsNearLimit", clients("500x2 950x20 500x100"), "30m", nil},

		{"two of three pods lost", "PodDisruptionBudgetAtRisk", pdb("3x2 1x60"), "20m",
			[]map[string]string{l("severity", "warning", "component", "kubernetes", "job", "kube-state-metrics", "poddisruptionbudget", "zookeeper")}},
		{"zone drill", "PodDisruptionBudgetAtRisk", pdb("3x2 2x20 3x100"), "30m", nil},
		{"rolling restart, the next pod stopped before the last is ready", "PodDisruptionBudgetAtRisk", pdb("3x2 2x4 1x2 2x4 1x2 2x4 3x100"), "30m", nil},

		{"two replicas out of the ISR", "KafkaISRShrunkToOne", isr("3x2 1x40"), "10m",
			[]map[string]string{l("severity", "critical", "component", "kafka", "topic", "tb_core")}},
		{"zone drill", "KafkaISRShrunkToOne", isr("3x2 2x20 3x100"), "30m", nil},
		{"rolling restart, a leader moving while the next broker stops", "KafkaISRShrunkToOne", isr("3x2 2x4 1x1 2x4 3x2 2x4 3x100"), "20m", nil},

		{"consumers falling behind", "KafkaConsumerGroupLag", lag("0+1000x100"), "40m",
			[]map[string]string{l("severity", "warning", "component", "kafka", "consumergroup", "tb-core", "topic", "tb_core")}},
		{"a steady backlog above the threshold, not growing", "KafkaConsumerGroupLag", lag("15000x100"), "45m", nil},
		{"rolling restart of the consumers", "KafkaConsumerGroupLag", lag("0x2 0+6000x5 30000-3000x10 0x100"), "30m", nil},
		{"zone drill", "KafkaConsumerGroupLag", lag("0x2 0+1000x20 20000-2000x10 0x100"), "40m", nil},
	}
}
