package thingsboard

import (
	"fmt"
	"strings"
)

// clusterSettings is tb-cluster-stack-config: the ThingsBoard article's
// settings, with every address taken from a handle. No password is in it.
func clusterSettings(cfg Config, w wiring) map[string]string {
	d := w.deps
	var cassandraHosts []string
	cassandraHosts = append(cassandraHosts, d.Cassandra.ContactPoints...)
	p := fmt.Sprint(cfg.Partitions)
	return map[string]string{
		// PostgreSQL, through the pooler.
		"SPRING_JPA_DATABASE_PLATFORM":      "org.hibernate.dialect.PostgreSQLDialect",
		"SPRING_DRIVER_CLASS_NAME":          "org.postgresql.Driver",
		"SPRING_DATASOURCE_URL":             w.database.JDBCURL(),
		"SPRING_DATASOURCE_USERNAME":        w.database.User,
		"SQL_BATCH_SORT":                    "true",
		"SQL_TS_LATEST_BATCH_SIZE":          "1000",
		"SQL_TS_LATEST_BATCH_MAX_DELAY_MS":  "20",
		"SQL_TS_BATCH_MAX_DELAY_MS":         "20",
		"SQL_ATTRIBUTES_BATCH_MAX_DELAY_MS": "20",
		// Kafka.
		"TB_QUEUE_TYPE":                               "kafka",
		"TB_KAFKA_SERVERS":                            d.Kafka.BootstrapServers(),
		"TB_QUEUE_KAFKA_REPLICATION_FACTOR":           fmt.Sprint(cfg.QueueReplicationFactor),
		"TB_KAFKA_ACKS":                               kafkaAcks,
		"TB_KAFKA_BATCH_SIZE":                         "65536",
		"TB_KAFKA_LINGER_MS":                          "5",
		"TB_KAFKA_COMPRESSION_TYPE":                   kafkaCompression,
		"TB_QUEUE_KAFKA_MAX_POLL_RECORDS":             "4096",
		"TB_QUEUE_KAFKA_JE_TOPIC_PROPERTIES":          jsTopicProperties,
		"TB_QUEUE_KAFKA_TA_TOPIC_PROPERTIES":          "partitions:12;retention.ms:604800000;segment.bytes:26214400;retention.bytes:104857600",
		"TB_QUEUE_CORE_PARTITIONS":                    p,
		"TB_QUEUE_RE_MAIN_PARTITIONS":                 p,
		"TB_QUEUE_RE_HP_PARTITIONS":                   p,
		"TB_QUEUE_RE_SQ_PARTITIONS":                   p,
		"TB_QUEUE_RE_MAIN_PACK_PROCESSING_TIMEOUT_MS": "30000",
		"TB_QUEUE_CORE_PACK_PROCESSING_TIMEOUT_MS":    "20000",
		"TB_QUEUE_RE_MAIN_CONSUMER_PER_PARTITION":     "false",
		"TB_QUEUE_RE_HP_CONSUMER_PER_PARTITION":       "false",
		"TB_QUEUE_RE_SQ_CONSUMER_PER_PARTITION":       "false",
		"ACTORS_SYSTEM_RULE_DISPATCHER_POOL_SIZE":     "4",
		// ZooKeeper.
		"ZOOKEEPER_ENABLED": "true",
		"ZOOKEEPER_URL":     d.ZooKeeper.ConnectString(),
		// Cassandra.
		"DATABASE_TS_TYPE":                  "cassandra",
		"TS_KV_PARTITIONING":                "MONTHS",
		"USE_TS_KV_PARTITIONING_ON_READ":    "false",
		"PERSIST_STATE_TO_TELEMETRY":        "true",
		"CASSANDRA_URL":                     strings.Join(cassandraHosts, ","),
		"CASSANDRA_KEYSPACE_NAME":           w.keyspace.Name,
		"CASSANDRA_LOCAL_DATACENTER":        w.keyspace.Datacenter,
		"CASSANDRA_USE_CREDENTIALS":         "true",
		"CASSANDRA_USERNAME":                d.Cassandra.Username,
		"CASSANDRA_READ_CONSISTENCY_LEVEL":  string(w.keyspace.ReadConsistency),
		"CASSANDRA_WRITE_CONSISTENCY_LEVEL": string(w.keyspace.WriteConsistency),
		"CASSANDRA_QUERY_BUFFER_SIZE":       "1000000",
		"CASSANDRA_QUERY_CONCURRENT_LIMIT":  "500",
		"CASSANDRA_QUERY_POLL_MS":           "5",
		// Redis Cluster.
		"CACHE_TYPE":                             "redis",
		"REDIS_CONNECTION_TYPE":                  "cluster",
		"REDIS_NODES":                            d.Redis.SeedNodes(),
		"REDIS_USE_DEFAULT_POOL_CONFIG":          "false",
		"REDIS_POOL_CONFIG_BLOCK_WHEN_EXHAUSTED": "false",
		"REDIS_POOL_CONFIG_TEST_ON_BORROW":       "false",
		"REDIS_POOL_CONFIG_TEST_ON_RETURN":       "false",
		"CACHE_MAXIMUM_POOL_SIZE":                "50",
		// JS executors.
		"JS_EVALUATOR":                                 "remote",
		"REMOTE_JS_MAX_PENDING_REQUESTS":               "100000",
		"REMOTE_JS_MAX_EVAL_REQUEST_TIMEOUT":           "60000",
		"REMOTE_JS_MAX_REQUEST_TIMEOUT":                "60000",
		"REMOTE_JS_SANDBOX_MAX_ERRORS":                 "100000",
		"REMOTE_JS_SANDBOX_MAX_BLACKLIST_DURATION_SEC": "1",
		// Common.
		"HTTP_LOG_CONTROLLER_ERROR_STACK_TRACE": "false",
		"HTTP_BIND_PORT":                        "8080",
		"METRICS_ENABLED":                       "true",
		"METRICS_ENDPOINTS_EXPOSE":              "prometheus",
		// Cache specs sized for 1M devices.
		"CACHE_SPECS_DEVICES_MAX_SIZE":            "1048000",
		"CACHE_SPECS_DEVICE_CREDENTIALS_MAX_SIZE": "1048000",
		"CACHE_SPECS_SESSIONS_MAX_SIZE":           "1048000",
		"TS_KV_PARTITIONS_MAX_CACHE_SIZE":         "4194000",
		// Device state and transport limits.
		"DEFAULT_INACTIVITY_TIMEOUT":               "1800",
		"DEFAULT_STATE_CHECK_INTERVAL":             "900",
		"TB_TRANSPORT_SESSIONS_REPORT_TIMEOUT":     "60000",
		"TB_TRANSPORT_SESSIONS_INACTIVITY_TIMEOUT": "600000",
		"TB_QUEUE_TRANSPORT_MAX_PENDING_REQUESTS":  "1000000",
		"EDGES_ENABLED":                            "false",
		"JSON_TYPE_CAST_ENABLED":                   "false",
	}
}

// logbackXML sends every log line to stdout, where the cluster's log
// collector reads it.
const logbackXML = `<!DOCTYPE configuration>
<configuration scan="true" scanPeriod="10 seconds">
    <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
        <encoder>
            <pattern>%d{ISO8601} [%thread] %-5level %logger{36} - %msg%n</pattern>
        </encoder>
    </appender>
    <logger name="org.thingsboard.server" level="INFO"/>
    <logger name="org.apache.kafka.common.utils.AppInfoParser" level="WARN"/>
    <logger name="org.apache.kafka.clients" level="WARN"/>
    <root level="INFO">
        <appender-ref ref="STDOUT"/>
    </root>
</configuration>
`
