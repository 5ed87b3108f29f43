// Package thingsboard renders ThingsBoard CE as microservices — tb-core,
// tb-rule-engine, tb-js-executor, tb-web-ui, the MQTT and HTTP transports,
// tb-vc-executor and, optionally, the CoAP, LwM2M and SNMP transports —
// wired to the data tier only through the components' handles.
//
// What it reproduces: the minimal three-zone cluster of the ThingsBoard
// article "ThingsBoard k8s cluster - minimal design":
// its pod table (three replicas of each service, one per zone, with the
// table's CPU and memory limits, requests CPU/10 and memory 1:1), its
// tb-cluster-stack-config tuning (queue partitions, Kafka batching,
// 1M-device cache specs, transport limits, QUORUM consistency), the ALB
// routing and the MQTT NLB, the install step, and the performance test.
// Where the upstream images are concerned, the facts come from
// thingsboard/thingsboard v4.3.1 (start scripts, config files, poms) and
// thingsboard/thingsboard-ce-k8s at 4.3.1, cited where they are used.
//
// Where it differs:
//   - every connection string comes from a handle (Kafka bootstrap
//     servers, the ZooKeeper connect string, Cassandra contact points and
//     the keyspace it declares, Redis cluster nodes, the PgBouncer JDBC
//     URL of the database it declares); passwords come from Secret
//     references only, never from a ConfigMap;
//   - the schema install is a Job, named after the version, that waits
//     for the keyspace and the database and reads the version ThingsBoard
//     records in tb_schema_settings: it installs into an empty database,
//     upgrades from the recorded version when that is older, does nothing
//     when it is the same and refuses a downgrade; it fails when the
//     installer does not report success (the official scripts report
//     success after a failure). Every JVM service waits in an init
//     container (bounded, one hour) until the database records its
//     version, so new pods never start on an old schema. Versions must be
//     ThingsBoard release numbers (4.3.1, 4.3.1.3) for that comparison: a
//     custom tag such as 4.3.1-mine is refused;
//   - JAVA_OPTS heap is two thirds of each service's memory limit (the
//     ThingsBoard article's -Xmx2048M for 3 GiB, 1024M for the 1.5 GiB
//     transport);
//   - logs go to stdout only, through a logback configuration of ours;
//   - the JVM flags (G1, ExitOnOutOfMemoryError, heap dumps) are in the
//     file each image's start script sources, /config/${pkg.name}.conf:
//     thingsboard.conf for tb-node, tb-<t>-transport.conf and
//     tb-vc-executor.conf for the others (jvm.go), where the ThingsBoard article's
//     YAML gives only the MQTT and HTTP transports theirs;
//   - tb-js-executor gets the cluster's queue settings (replication
//     factor, topic properties, acks) like the official manifests, and
//     the ThingsBoard article's batching; compression goes through
//     TB_QUEUE_KAFKA_COMPRESSION, the name it reads (the ThingsBoard article's
//     TB_KAFKA_COMPRESSION_TYPE had no effect there); its script sandbox
//     stays on (upstream's default), where the ThingsBoard article turned it off
//     for speed: without it a tenant's script runs unconfined and without
//     a timeout;
//   - the MQTT NLB is internet-facing and handed to the AWS Load Balancer
//     Controller (type external, ip targets, client IP preserved) rather
//     than the legacy in-tree "nlb" type of thingsboard-ce-k8s; each ALB
//     backend Service carries its own health check path;
//   - MQTTS (8883) is served by tb-mqtt-transport from a kubernetes.io/tls
//     Secret or a cert-manager Certificate (Config.MQTTS); without it no
//     container, Service, load balancer or NetworkPolicy opens 8883. What
//     remains: the transport builds its SSL context once and keeps it
//     (common/transport/mqtt/.../MqttSslHandlerProvider.java, v4.3.1), so
//     a certificate renewed in the Secret is served only after
//     `kubectl rollout restart deployment/tb-mqtt-transport`, which must
//     happen before the old one expires; nothing here restarts it;
//   - tb-integration-executor is left out: it is a Professional Edition
//     service and this is CE;
//   - Deployments roll one pod at a time with no surge, since every pod
//     must land on its own node;
//   - network policy: each service admits only what exposes it (the
//     Ingress backends and the MQTT load balancer), the load test and the
//     monitoring namespace; tb-rule-engine, tb-js-executor and
//     tb-vc-executor admit only the scraper. What remains wide: every JVM
//     service and the install Job may open the whole data tier (Kafka,
//     ZooKeeper, Cassandra, Redis, the pooler), because they share one
//     configuration (tb-cluster-stack-config) that wires all of it; a
//     transport that needs only Kafka, ZooKeeper and Redis would need a
//     configuration of its own to be narrowed.
package thingsboard

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
)

// Version is the default ThingsBoard CE version: the one
// thingsboard-ce-k8s pins.
const Version = "4.3.1"

// Deps are the data-tier handles ThingsBoard is wired from.
type Deps struct {
	Kafka     *kafka.Handle
	ZooKeeper *zookeeper.Handle
	Cassandra *cassandra.Handle
	Redis     *redis.Handle
	Postgres  *postgres.Handle
}

// ServiceConfig sizes one microservice.
type ServiceConfig struct {
	// Replicas; default 3 (one per zone), 0 keeps the default. Optional
	// transports are off unless Enabled.
	Replicas int32
	// Enabled turns an optional transport on.
	Enabled bool
	// Resources default to the pod table's limits.
	Resources stack.Resources
}

// Exposure selects how ThingsBoard is reached from outside.
type Exposure string

// The exposure variants.
const (
	// AWS: an ALB Ingress (AWS Load Balancer Controller) for HTTP and an
	// NLB Service for MQTT, as in the ThingsBoard article.
	AWS Exposure = "aws"
	// Generic: a plain Ingress and a LoadBalancer Service without cloud
	// annotations, for kind and other clusters.
	Generic Exposure = "generic"
)

// Config configures ThingsBoard. Zero fields take the defaults in Default.
type Config struct {
	// Version is the image tag of every thingsboard/* image; default Version.
	Version string
	// Registry prefixes the images; default "thingsboard".
	Registry string
	// Pool is the node pool the services run on.
	Pool string
	// Services overrides replicas and resources per service.
	Services map[Service]ServiceConfig
	// Keyspace and Database name the Cassandra keyspace and PostgreSQL
	// database; default "thingsboard" for both.
	Keyspace, Database string
	// KeyspaceReplication is the keyspace's replication factor; default 3 with
	// QUORUM reads and writes (the ThingsBoard article's fault-tolerance step).
	KeyspaceReplication int
	// QueueReplicationFactor is TB_QUEUE_KAFKA_REPLICATION_FACTOR; default
	// the Kafka cluster's default replication factor.
	QueueReplicationFactor int
	// Partitions is TB_QUEUE_CORE_PARTITIONS and TB_QUEUE_RE_*_PARTITIONS;
	// default 6 (the ThingsBoard article's).
	Partitions int
	// LoadDemo loads the demo tenant and devices at install.
	LoadDemo bool
	// UpgradeFrom is for recovery only. Left empty, the install Job of
	// Version reads the version the database records
	// (tb_schema_settings) and installs, upgrades from it, does nothing
	// or refuses a downgrade. Set, the Job (named
	// tb-upgrade-<from>-to-<version>) runs the upgrade even when the
	// record already says Version, with FROM_VERSION=UpgradeFrom and
	// ThingsBoard's schema version check skipped
	// (SKIP_SCHEMA_VERSION_CHECK): to rerun an upgrade whose data steps
	// must be repeated. ThingsBoard 4.x itself upgrades from the recorded
	// version and reads FROM_VERSION only for its
	// cassandra-latest-to-postgres migration (ThingsboardInstallService,
	// v4.3.1). It must be an earlier release than Version.
	UpgradeFrom string
	// Exposure is AWS (default) or Generic; Host is the HTTP host name
	// for the Ingress (empty: any host).
	Exposure Exposure
	Host     string
	// CertificateARN is the ACM certificate the AWS ALB serves HTTPS with
	// (listeners 80 and 443, HTTP redirected to HTTPS); empty serves HTTP
	// only, as the ThingsBoard article did. AWS exposure only.
	CertificateARN string
	// TLSSecret is the Secret (type kubernetes.io/tls, in the namespace)
	// the generic Ingress serves HTTPS for Host with; it needs Host.
	// Generic exposure only.
	TLSSecret string
	// MQTTS serves MQTT over TLS on port 8883 with a key pair from a
	// Secret or from cert-manager; zero serves plain MQTT (1883) only.
	MQTTS MQTTS
}

// Default fills zero fields with the defaults.
func (c *Config) Default(d Deps) {
	if c.Version == "" {
		c.Version = Version
	}
	if c.Registry == "" {
		c.Registry = "thingsboard"
	}
	if c.Keyspace == "" {
		c.Keyspace = "thingsboard"
	}
	if c.Database == "" {
		c.Database = "thingsboard"
	}
	if c.KeyspaceReplication == 0 {
		c.KeyspaceReplication = 3
	}
	if c.QueueReplicationFactor == 0 && d.Kafka != nil {
		c.QueueReplicationFactor = d.Kafka.ReplicationFactor
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.Exposure == "" {
		c.Exposure = AWS
	}
	c.MQTTS.defaults()
	services := map[Service]ServiceConfig{}
	for s, sc := range c.Services {
		services[s] = sc // unknown names stay, for Validate to report
	}
	for _, s := range Services {
		sc := c.Services[s]
		if sc.Replicas == 0 {
			sc.Replicas = 3
		}
		if sc.Resources.IsZero() {
			sc.Resources = DefaultResources(s)
		}
		if !s.Optional() {
			sc.Enabled = true
		}
		services[s] = sc
	}
	c.Services = services
}

// Validate checks a defaulted Config against the dependencies.
func (c Config) Validate(d Deps) error {
	if d.Kafka == nil || d.ZooKeeper == nil || d.Cassandra == nil || d.Redis == nil || d.Postgres == nil {
		return fmt.Errorf("thingsboard: deps: Kafka, ZooKeeper, Cassandra, Redis and Postgres handles are all required")
	}
	if c.CertificateARN != "" && (c.Exposure != AWS || !strings.HasPrefix(c.CertificateARN, "arn:") || strings.ContainsAny(c.CertificateARN, " \t\n,")) {
		return fmt.Errorf("thingsboard: certificateARN %q; an ACM certificate ARN (arn:aws:acm:...), with AWS exposure only", c.CertificateARN)
	}
	if c.TLSSecret != "" {
		if errs := validation.IsDNS1123Subdomain(c.TLSSecret); len(errs) > 0 || c.Exposure != Generic || c.Host == "" {
			return fmt.Errorf("thingsboard: tlsSecret %q; a Secret name, with generic exposure and a host", c.TLSSecret)
		}
	}
	if err := c.MQTTS.validate(); err != nil {
		return err
	}
	if errs := validation.IsValidLabelValue(c.Version); len(errs) > 0 || c.Version == "" || c.Version == "latest" {
		return fmt.Errorf("thingsboard: version %q; must be a pinned image tag such as %s", c.Version, Version)
	}
	want, err := SchemaVersion(c.Version)
	if err != nil { // the install Job and the services compare it with ThingsBoard's record
		return fmt.Errorf("thingsboard: %w", err)
	}
	for s := range c.Services {
		if _, ok := specs[s]; !ok {
			return fmt.Errorf("thingsboard: services: unknown service %q; known: %v", s, Services)
		}
	}
	for _, s := range Services {
		sc := c.Services[s]
		if sc.Replicas < 1 || sc.Replicas > 50 {
			return fmt.Errorf("thingsboard: services[%s].replicas %d; allowed 1 to 50", s, sc.Replicas)
		}
		if err := sc.Resources.Validate(fmt.Sprintf("thingsboard.services[%s].resources", s)); err != nil {
			return err
		}
	}
	if n := len(d.Kafka.Brokers); c.QueueReplicationFactor < 1 || c.QueueReplicationFactor > n {
		return fmt.Errorf("thingsboard: queueReplicationFactor %d; must be 1 to %d (the Kafka brokers)", c.QueueReplicationFactor, n)
	}
	if c.Partitions < 1 || c.Partitions > 1000 {
		return fmt.Errorf("thingsboard: partitions %d; allowed 1 to 1000", c.Partitions)
	}
	switch c.Exposure {
	case AWS, Generic:
	default:
		return fmt.Errorf("thingsboard: exposure %q; allowed %q, %q", c.Exposure, AWS, Generic)
	}
	if c.Host != "" {
		if errs := validation.IsDNS1123Subdomain(c.Host); len(errs) > 0 {
			return fmt.Errorf("thingsboard: host %q is not a DNS name (%s)", c.Host, strings.Join(errs, "; "))
		}
	}
	if c.UpgradeFrom != "" {
		if from, err := SchemaVersion(c.UpgradeFrom); err != nil || from >= want {
			return fmt.Errorf("thingsboard: upgradeFrom %q; must be an earlier ThingsBoard release than version %s (or empty: the upgrade starts from the version the database records)", c.UpgradeFrom, c.Version)
		}
	}
	return nil
}

// Handle is what the load test and other dependents wire from.
type Handle struct {
	// Core is the tb-core Service (REST API, UI backend) on port 8080.
	Core string
	// MQTT is the MQTT transport Service on 1883; HTTP the HTTP transport
	// Service on 8080.
	MQTT, HTTP string
	// RESTURL is tb-core's REST API URL; MQTTHost the MQTT transport's
	// fully qualified host, for clients in other stacks (the load test).
	RESTURL, MQTTHost string
	// Components by service, for DependsOn.
	Components map[Service]*stack.Component
	// ingress is the HTTP Ingress, which ShareIngress joins.
	ingress *networkingv1.Ingress
}

// RESTEndpoint is tb-core's HTTP port (RESTURL), for a consumer's Uses;
// zero (Endpoint.IsZero) on a Handle built without components.
func (h *Handle) RESTEndpoint() stack.Endpoint { return h.Components[Core].Pods("").Port("http") }

// MQTTEndpoint is the MQTT transport's plain MQTT port (MQTTHost:1883),
// for a consumer's Uses; zero on a Handle built without components.
func (h *Handle) MQTTEndpoint() stack.Endpoint {
	return h.Components[MQTTTransport].Pods("").Port("mqtt")
}
