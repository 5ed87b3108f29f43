package profiles

import (
	"path/filepath"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"

	montools "github.com/iotstack/iotstack/monitoring/tools"
)

// ruleCase is one promtool unit test of an alert: input series (promtool's
// expanding notation, one sample per 30 s), an evaluation time and the
// alerts expected then (none: the alert stays silent).
type ruleCase struct {
	name   string
	alert  string
	series map[string]string
	at     string
	fires  []map[string]string
}

// TestAlertRulesFireAndStaySilent runs promtool test rules on the rule file
// minimal-3az renders (it has every data-tier component): every alert
// fires on the failure it names and stays silent through a rolling
// restart, the zone drill (a zone down for ten minutes) or the normal
// event its window is sized for. Annotations are
// stripped from the tested copy (promtool compares them verbatim; check
// rules validates their templates on the real file).
func TestAlertRulesFireAndStaySilent(t *testing.T) {
	tl := montools.ForTest(t)
	_, files := synthMonitoring(t, Minimal3AZ)
	ns := "thingsboard"
	rules := files[ns+".rules.yml"]
	if rules == "" {
		t.Fatalf("no %s.rules.yml among %v", ns, keys(files))
	}
	l := func(kv ...string) map[string]string {
		m := map[string]string{"namespace": ns}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	zk := func(a, b, c string) map[string]string {
		return map[string]string{
			`up{job="zookeeper",namespace="thingsboard",pod="zookeeper-0"}`: a,
			`up{job="zookeeper",namespace="thingsboard",pod="zookeeper-1"}`: b,
			`up{job="zookeeper",namespace="thingsboard",pod="zookeeper-2"}`: c,
		}
	}
	pg := func(a, b, c string) map[string]string {
		return map[string]string{
			`pg_replication_is_replica{job="postgres",namespace="thingsboard",pod="postgres-0"}`: a,
			`pg_replication_is_replica{job="postgres",namespace="thingsboard",pod="postgres-1"}`: b,
			`pg_replication_is_replica{job="postgres",namespace="thingsboard",pod="postgres-2"}`: c,
		}
	}
	kafkaLeaders := func(p2 string) map[string]string {
		return map[string]string{
			`kafka_topic_partitions{job="kafka-exporter",namespace="thingsboard",topic="tb_core"}`:                            "3x200",
			`kafka_topic_partition_leader{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="0"}`:        "0x200",
			`kafka_topic_partition_leader{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="1"}`:        "1x200",
			`kafka_topic_partition_leader{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="2"}`:        p2,
			`kafka_topic_partitions{job="kafka-exporter",namespace="thingsboard",topic="tb_rule_engine"}`:                     "1x200",
			`kafka_topic_partition_leader{job="kafka-exporter",namespace="thingsboard",topic="tb_rule_engine",partition="0"}`: "2x200",
		}
	}
	pvc := `{job="kubelet",namespace="thingsboard",node="n1",persistentvolumeclaim="data-kafka-0"}`
	pvcSeries := func(used, avail string) map[string]string {
		return map[string]string{
			"kubelet_volume_stats_capacity_bytes" + pvc:  "100000000000x500",
			"kubelet_volume_stats_used_bytes" + pvc:      used,
			"kubelet_volume_stats_available_bytes" + pvc: avail,
		}
	}
	pvcLabels := l("job", "kubelet", "node", "n1", "persistentvolumeclaim", "data-kafka-0")
	cpu := func(perStep string) map[string]string {
		return map[string]string{
			`container_cpu_usage_seconds_total{job="cadvisor",namespace="thingsboard",pod="tb-core-0",container="tb-core"}`: "0+" + perStep + "x300",
			`machine_cpu_cores{job="cadvisor",node="n1"}`:                                                                   "1x300",
		}
	}
	crash := `kube_pod_container_status_waiting_reason{job="kube-state-metrics",namespace="thingsboard",pod="tb-core-0",container="tb-core",reason="CrashLoopBackOff"}`
	// A rolling restart at its worst: each server down for two minutes,
	// the next one stopped as soon as the previous one is back, so that
	// one server is missing for six minutes without a break.
	restart3 := []string{"1x9 0x3 1x100", "1x5 0x3 1x100", "1x1 0x3 1x100"}
	// The zone drill: the first zone's nodes drained for ten minutes (one
	// server, broker, rack and Redis node of each pair down), then back.
	drill := "1x2 0x20 1x100"
	cases := []ruleCase{
		{"zone drill", "ZooKeeperQuorumAtRisk", zk(drill, "1x122", "1x122"), "30m", nil},
		{"zone drill", "ZooKeeperQuorumLost", zk(drill, "1x122", "1x122"), "30m", nil},
		{"zone drill", "KafkaQuorumAtRisk", map[string]string{`kafka_brokers{job="kafka-exporter",namespace="thingsboard"}`: "3x2 2x20 3x100"}, "30m", nil},
		{"zone drill", "KafkaUnderReplicatedPartitions",
			map[string]string{`kafka_topic_partition_under_replicated_partition{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="0"}`: "0x2 1x22 0x100"}, "30m", nil},
		{"zone drill", "CassandraNodesDown", map[string]string{
			`cassandra_stats{job="cassandra",namespace="thingsboard",pod="cassandra-b-0",name="org:apache:cassandra:net:failuredetector:downendpointcount"}`: "0x2 1x20 0x100",
		}, "30m", nil},
		{"zone drill", "RedisMasterWithoutReplica", map[string]string{
			`redis_connected_slaves{job="redis",namespace="thingsboard",pod="redis-a-0"}`:            "1x2 0x22 1x100",
			`redis_instance_info{job="redis",namespace="thingsboard",pod="redis-a-0",role="master"}`: "1x124",
		}, "30m", nil},
		{"zone drill takes the primary", "PostgresNoLeader", pg("0x2 stale _x100", "1x3 0x100", "1x103"), "30m", nil},
		{"zone drill", "TargetDown", map[string]string{`up{job="zookeeper",namespace="thingsboard",pod="zookeeper-0"}`: drill}, "30m", nil},

		{"one server lost for good", "ZooKeeperQuorumAtRisk", zk("1x100", "1x100", "1x5 0x95"), "20m",
			[]map[string]string{l("severity", "warning", "component", "zookeeper")}},
		{"rolling restart", "ZooKeeperQuorumAtRisk", zk(restart3[0], restart3[1], restart3[2]), "20m", nil},
		{"two servers lost", "ZooKeeperQuorumLost", zk("1x100", "1x2 0x98", "1x2 0x98"), "5m",
			[]map[string]string{l("severity", "critical", "component", "zookeeper")}},
		{"rolling restart", "ZooKeeperQuorumLost", zk(restart3[0], restart3[1], restart3[2]), "8m", nil},

		{"a replica lagging for good", "KafkaUnderReplicatedPartitions",
			map[string]string{`kafka_topic_partition_under_replicated_partition{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="0"}`: "0x2 1x100"}, "20m",
			[]map[string]string{l("severity", "warning", "component", "kafka", "topic", "tb_core")}},
		{"broker restart", "KafkaUnderReplicatedPartitions",
			map[string]string{`kafka_topic_partition_under_replicated_partition{job="kafka-exporter",namespace="thingsboard",topic="tb_core",partition="0"}`: "0x2 1x10 0x100"}, "20m", nil},
		{"a partition without a leader", "KafkaOfflinePartitions", kafkaLeaders("2x2 stale _x100"), "5m",
			[]map[string]string{l("severity", "critical", "component", "kafka", "topic", "tb_core")}},
		{"leader election in a restart", "KafkaOfflinePartitions", kafkaLeaders("2x2 stale 0x100"), "5m", nil},
		{"a broker lost for good", "KafkaQuorumAtRisk",
			map[string]string{`kafka_brokers{job="kafka-exporter",namespace="thingsboard"}`: "3x2 2x100"}, "20m",
			[]map[string]string{l("severity", "warning", "component", "kafka", "job", "kafka-exporter")}},
		{"rolling restart", "KafkaQuorumAtRisk",
			map[string]string{`kafka_brokers{job="kafka-exporter",namespace="thingsboard"}`: "3x2 2x4 3x2 2x4 3x2 2x4 3x100"}, "20m", nil},

		{"cluster failed", "RedisClusterStateNotOK",
			map[string]string{`redis_cluster_state{job="redis",namespace="thingsboard",pod="redis-a-0"}`: "1x2 0x20"}, "5m",
			[]map[string]string{l("severity", "critical", "component", "redis", "job", "redis", "pod", "redis-a-0")}},
		{"failover", "RedisClusterStateNotOK",
			map[string]string{`redis_cluster_state{job="redis",namespace="thingsboard",pod="redis-a-0"}`: "1x2 0x1 1x20"}, "5m", nil},
		{"redis does not come back", "RedisDown",
			map[string]string{`redis_up{job="redis",namespace="thingsboard",pod="redis-b-0"}`: "1x2 0x30"}, "10m",
			[]map[string]string{l("severity", "warning", "component", "redis", "job", "redis", "pod", "redis-b-0")}},
		{"rolling restart", "RedisDown",
			map[string]string{`redis_up{job="redis",namespace="thingsboard",pod="redis-b-0"}`: "1x2 0x2 1x30"}, "10m", nil},
		{"replica gone", "RedisMasterWithoutReplica", map[string]string{
			`redis_connected_slaves{job="redis",namespace="thingsboard",pod="redis-a-0"}`:            "1x2 0x60",
			`redis_instance_info{job="redis",namespace="thingsboard",pod="redis-a-0",role="master"}`: "1x62",
		}, "20m", []map[string]string{l("severity", "warning", "component", "redis", "job", "redis", "pod", "redis-a-0")}},
		{"replica restart", "RedisMasterWithoutReplica", map[string]string{
			`redis_connected_slaves{job="redis",namespace="thingsboard",pod="redis-a-0"}`:            "1x2 0x6 1x60",
			`redis_instance_info{job="redis",namespace="thingsboard",pod="redis-a-0",role="master"}`: "1x70",
		}, "20m", nil},

		{"primary lost, nobody promoted", "PostgresNoLeader", pg("0x2 1x20", "1x22", "1x22"), "5m",
			[]map[string]string{l("severity", "critical", "component", "postgres")}},
		{"switchover in a rolling restart", "PostgresNoLeader", pg("0x2 1x40", "1x3 0x40", "1x43"), "5m", nil},
		{"replica behind for good", "PostgresReplicationLag",
			map[string]string{`pg_replication_lag_seconds{job="postgres",namespace="thingsboard",pod="postgres-1"}`: "0x2 120x40"}, "15m",
			[]map[string]string{l("severity", "warning", "component", "postgres", "job", "postgres", "pod", "postgres-1")}},
		{"replica catching up after a restart", "PostgresReplicationLag",
			map[string]string{`pg_replication_lag_seconds{job="postgres",namespace="thingsboard",pod="postgres-1"}`: "0x2 300x6 0x40"}, "15m", nil},

		{"a node down for good", "CassandraNodesDown", map[string]string{
			`cassandra_stats{job="cassandra",namespace="thingsboard",pod="cassandra-a-0",name="org:apache:cassandra:net:failuredetector:downendpointcount"}`: "0x2 1x60",
			`cassandra_stats{job="cassandra",namespace="thingsboard",pod="cassandra-b-0",name="org:apache:cassandra:net:failuredetector:downendpointcount"}`: "0x2 1x60",
		}, "20m", []map[string]string{l("severity", "warning", "component", "cassandra")}},
		{"rolling restart, one rack after the other", "CassandraNodesDown", map[string]string{
			`cassandra_stats{job="cassandra",namespace="thingsboard",pod="cassandra-a-0",name="org:apache:cassandra:net:failuredetector:downendpointcount"}`: "0x2 1x8 0x2 1x8 0x2 1x8 0x60",
		}, "30m", nil},
		{"compaction falling behind", "CassandraPendingCompactions", map[string]string{
			`cassandra_stats{job="cassandra",namespace="thingsboard",pod="cassandra-a-0",name="org:apache:cassandra:metrics:compaction:pendingtasks:value"}`: "5x2 250x100",
		}, "40m", []map[string]string{l("severity", "warning", "component", "cassandra", "job", "cassandra", "pod", "cassandra-a-0", "name", "org:apache:cassandra:metrics:compaction:pendingtasks:value")}},
		{"compactions after a repair", "CassandraPendingCompactions", map[string]string{
			`cassandra_stats{job="cassandra",namespace="thingsboard",pod="cassandra-a-0",name="org:apache:cassandra:metrics:compaction:pendingtasks:value"}`: "5x2 400-10x40 5x40",
		}, "40m", nil},

		{"always", "Watchdog", map[string]string{`up{job="prometheus",namespace="monitoring"}`: "1x4"}, "1m",
			[]map[string]string{l("severity", "none", "component", "watchdog")}},
		{"exporter down for good", "TargetDown",
			map[string]string{`up{job="cassandra",namespace="thingsboard",pod="cassandra-0"}`: "1x2 0x60"}, "20m",
			[]map[string]string{l("severity", "warning", "component", "kubernetes", "job", "cassandra", "pod", "cassandra-0")}},
		{"slow restart", "TargetDown",
			map[string]string{`up{job="cassandra",namespace="thingsboard",pod="cassandra-0"}`: "1x2 0x20 1x40"}, "20m", nil},
		{"claim at 90 %", "PersistentVolumeClaimAbove80Percent", pvcSeries("90000000000x100", "10000000000x100"), "20m",
			[]map[string]string{merge(pvcLabels, "severity", "warning", "component", "kubernetes")}},
		{"compaction spike", "PersistentVolumeClaimAbove80Percent", pvcSeries("50000000000x2 90000000000x10 50000000000x100", "50000000000x2 10000000000x10 50000000000x100"), "20m", nil},
		{"filling at 40 GB a day", "PersistentVolumeClaimFullIn24h", pvcSeries("60000000000+15000000x500", "40000000000-15000000x500"), "2h",
			[]map[string]string{merge(pvcLabels, "severity", "warning", "component", "kubernetes")}},
		{"steady at 60 %", "PersistentVolumeClaimFullIn24h", pvcSeries("60000000000x500", "40000000000x500"), "2h", nil},
		{"crash-looping", "PodCrashLooping", map[string]string{crash: "1x60"}, "20m",
			[]map[string]string{l("severity", "warning", "component", "kubernetes", "job", "kube-state-metrics", "pod", "tb-core-0", "container", "tb-core", "reason", "CrashLoopBackOff")}},
		{"backs off during a rollout", "PodCrashLooping", map[string]string{crash: "1x10 stale _x50"}, "20m", nil},
		{"job failed", "JobFailed",
			map[string]string{`kube_job_failed{job="kube-state-metrics",namespace="thingsboard",job_name="tb-install",condition="true"}`: "0x2 1x10"}, "2m",
			[]map[string]string{l("severity", "warning", "component", "kubernetes", "job", "kube-state-metrics", "job_name", "tb-install", "condition", "true")}},
		{"job running", "JobFailed",
			map[string]string{`kube_job_failed{job="kube-state-metrics",namespace="thingsboard",job_name="tb-install",condition="true"}`: "0x20"}, "5m", nil},
		{"70 % CPU on three zones", "CPUAboveZoneLossCapacity", cpu("21"), "40m",
			[]map[string]string{l("severity", "critical", "component", "capacity")}},
		{"60 % CPU", "CPUAboveZoneLossCapacity", cpu("18"), "40m", nil},
		{"55 % CPU for over an hour", "CPUAbove50Percent", cpu("16.5"), "80m",
			[]map[string]string{l("severity", "warning", "component", "capacity")}},
		{"45 % CPU", "CPUAbove50Percent", cpu("13.5"), "80m", nil},
	}
	cases = append(cases, moreRuleCases(l)...)
	cases = append(cases, reaperRuleCases(l)...)

	// Every alert of the rule file has a case that fires and one that stays silent.
	var rf struct {
		Groups []struct {
			Name  string           `json:"name"`
			Rules []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal([]byte(rules), &rf); err != nil {
		t.Fatal(err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		if len(c.fires) > 0 {
			fires[c.alert] = true
		} else {
			silent[c.alert] = true
		}
	}
	for gi := range rf.Groups {
		for _, r := range rf.Groups[gi].Rules {
			name, _ := r["alert"].(string)
			if !fires[name] {
				t.Errorf("alert %s (group %s) has no case where it fires", name, rf.Groups[gi].Name)
			}
			if !silent[name] && name != "Watchdog" {
				t.Errorf("alert %s (group %s) has no case where it stays silent", name, rf.Groups[gi].Name)
			}
			delete(r, "annotations")
		}
	}
	stripped, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "rules.yml"), string(stripped))
	runRuleCases(t, tl.Promtool, dir, "rules.yml", every30s, cases)
}

func merge(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
