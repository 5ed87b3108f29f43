package thingsboard

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Queue settings tb-js-executor shares with the JVM services (the same
// value in tb-cluster-stack-config and in tb-js-executor's environment).
const (
	// kafkaAcks is TB_KAFKA_ACKS: the ThingsBoard article's acks=1.
	kafkaAcks = "1"
	// kafkaCompression is the ThingsBoard article's producer compression.
	kafkaCompression = "gzip"
	// jsTopicProperties is TB_QUEUE_KAFKA_JE_TOPIC_PROPERTIES, the
	// ThingsBoard article's: 12 partitions of js_eval.requests (a multiple of the
	// tb-js-executor replicas), a week's retention capped at 100 MB.
	jsTopicProperties = "partitions:12;retention.ms:604800000;segment.bytes:26214400;retention.bytes:104857600"
)

// jsExecutorEnv is tb-js-executor's environment: the cluster's queue
// settings, as the official manifests give it (thingsboard-ce-k8s
// aws/microservices/tb-services.yml at 4.3.1: envFrom tb-kafka-config with
// TB_QUEUE_TYPE, TB_KAFKA_SERVERS, TB_QUEUE_KAFKA_REPLICATION_FACTOR,
// TB_KAFKA_ACKS) and the ThingsBoard article's producer and script settings. Every
// name is a key of msa/js-executor/config/custom-environment-variables.yml
// (thingsboard/thingsboard v4.3.1); the defaults quoted are its
// config/default.yml's.
func jsExecutorEnv(cfg Config, sc ServiceConfig, w wiring) []corev1.EnvVar {
	return []corev1.EnvVar{
		// queue_type (default "kafka").
		{Name: "TB_QUEUE_TYPE", Value: "kafka"},
		// kafka.bootstrap.servers.
		{Name: "TB_KAFKA_SERVERS", Value: w.deps.Kafka.BootstrapServers()},
		// kafka.replication_factor (default "1"): the replication of
		// js_eval.requests when tb-js-executor creates it before tb-core
		// does (queue/kafkaTemplate.ts createTopic).
		{Name: "TB_QUEUE_KAFKA_REPLICATION_FACTOR", Value: fmt.Sprint(cfg.QueueReplicationFactor)},
		// kafka.topic_properties (default partitions:100, a week): the
		// topic's config entries; kafkaTemplate.ts takes "partitions"
		// out of it as the partition count.
		{Name: "TB_QUEUE_KAFKA_JE_TOPIC_PROPERTIES", Value: jsTopicProperties},
		// kafka.acks (default "1").
		{Name: "TB_KAFKA_ACKS", Value: kafkaAcks},
		// kafka.batch_size (default "128"): a number of messages here,
		// not bytes (kafkaTemplate.ts sends when batchMessages.length
		// reaches it); the ThingsBoard article's 250.
		{Name: "TB_KAFKA_BATCH_SIZE", Value: "250"},
		// kafka.linger_ms (default "5"): the ThingsBoard article's 10.
		{Name: "TB_KAFKA_LINGER_MS", Value: "10"},
		// kafka.compression (default "none"; kafkaTemplate.ts uses GZIP
		// only for "gzip"). The ThingsBoard article set TB_KAFKA_COMPRESSION_TYPE,
		// the JVM services' name, which tb-js-executor does not read.
		{Name: "TB_QUEUE_KAFKA_COMPRESSION", Value: kafkaCompression},
		// request_topic (default "js_eval.requests").
		{Name: "REMOTE_JS_EVAL_REQUEST_TOPIC", Value: "js_eval.requests"},
		// http_port (default "8888"): /livenessProbe.
		{Name: "HTTP_PORT", Value: "8888"},
		// kafka.client_id: the pod name, to find the client in consumer
		// group listings.
		{Name: "KAFKA_CLIENT_ID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		// script.use_sandbox (default "true"): kept on, unlike the
		// ThingsBoard article's "false". With the sandbox, api/jsExecutor.ts runs a
		// tenant's script in a new vm context with a timeout; without it,
		// as a plain Function in the executor's own context, with access
		// to the process and no timeout.
		{Name: "SCRIPT_USE_SANDBOX", Value: "true"},
		// script.slow_query_log_ms, slow_query_log_body,
		// stat_print_frequency, script_body_trace_frequency: the
		// ThingsBoard article's.
		{Name: "SLOW_QUERY_LOG_MS", Value: "100.000"},
		{Name: "SLOW_QUERY_LOG_BODY", Value: "false"},
		{Name: "SCRIPT_STAT_PRINT_FREQUENCY", Value: "10000"},
		{Name: "SCRIPT_BODY_TRACE_FREQUENCY", Value: "1000000"},
		// Node's heap: 60 % of the memory limit.
		{Name: "NODE_OPTIONS", Value: fmt.Sprintf("--max-old-space-size=%d", sc.Resources.HeapMiB(60))},
		// logger.level (default "info"); the image sets DOCKER_MODE=true
		// (msa/js-executor/docker/Dockerfile), so config/logger.ts logs to
		// the console.
		{Name: "LOGGER_LEVEL", Value: "info"},
	}
}
