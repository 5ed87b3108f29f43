package profiles

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/reaper"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/values"
)

// Minimal3AZValues is everything a user may change of minimal-3az. Its
// defaults (Minimal3AZDefaults) reproduce dist/minimal-3az/ byte for
// byte. In the component sections a zero value (0, "", an empty
// resources block) means the component's own default, which each field's
// documentation gives. The defaults are the cluster of the ThingsBoard
// article "ThingsBoard k8s cluster - minimal design", which the field
// documentation calls the ThingsBoard article.
type Minimal3AZValues struct {
	Common
	// ZooKeeper is the coordination ensemble (ThingsBoard's cluster
	// membership).
	ZooKeeper zookeeper.Config `json:"zookeeper"`
	// Kafka is the queue (KRaft).
	Kafka kafka.Config `json:"kafka"`
	// Redis is the cache (Redis Cluster on Valkey).
	Redis redis.Config `json:"redis"`
	// Cassandra stores time series.
	Cassandra cassandra.Config `json:"cassandra"`
	// Reaper repairs Cassandra's keyspaces on a schedule (the ThingsBoard
	// article's Cassandra-reaper row); on by default.
	Reaper reaper.Config `json:"reaper"`
	// Postgres stores entities (Patroni on Spilo, PgBouncer in front).
	Postgres postgres.Config `json:"postgres"`
	// ThingsBoard is the platform's microservices.
	ThingsBoard ThingsBoardValues `json:"thingsboard"`
	// LoadTest is the ThingsBoard article's performance test, rendered into
	// loadtest/ and applied separately.
	LoadTest thingsboard.LoadTestConfig `json:"loadTest"`
	// Credentials name existing Secrets to use instead of generated ones.
	Credentials Credentials `json:"credentials"`
	// UI is the operators' web UIs: Kafka UI (on by default), pgAdmin and
	// RedisInsight.
	UI UIs `json:"ui"`
}

// ThingsBoardValues are ThingsBoard's settings in minimal-3az.
type ThingsBoardValues struct {
	// Version is the ThingsBoard release of every service (a release
	// number such as 4.3.1 or 4.3.1.3, compared with the version the
	// database records). Changing it renders the Job of the new version,
	// which upgrades from the version the database records (ThingsBoard's
	// tb_schema_settings) and refuses a downgrade; the services of the new
	// version wait until the database records it. Upgrade one supported
	// step at a time (ThingsBoard 4.3.1 upgrades from 4.2.1.x and 4.2.2.x)
	// and take a backup first: schema upgrades are one-way.
	Version string `json:"version"`
	// UpgradeFrom is for recovery only: set, the Job reruns the upgrade to
	// version even when the database records version already, with
	// FROM_VERSION set to it and ThingsBoard's schema version check
	// skipped. Empty (the default): the upgrade starts from the recorded
	// version. Must be an earlier release than version.
	UpgradeFrom string `json:"upgradeFrom"`
	// Registry is the image repository prefix of the ThingsBoard images
	// (default thingsboard, Docker Hub's).
	Registry string `json:"registry"`
	// Services override replicas and resources per service (tb-core,
	// tb-rule-engine, tb-js-executor, tb-web-ui, tb-mqtt-transport,
	// tb-http-transport, tb-vc-executor, tb-coap-transport,
	// tb-lwm2m-transport, tb-snmp-transport); optional transports run
	// only when enabled.
	Services map[string]thingsboard.ServiceConfig `json:"services"`
	// Demo loads ThingsBoard's demo tenant at install.
	Demo bool `json:"demo"`
	// QueueReplicationFactor is the replication of ThingsBoard's topics;
	// 0 takes Kafka's default replication factor.
	QueueReplicationFactor int `json:"queueReplicationFactor"`
	// Partitions of ThingsBoard's topics; 0 is the component's default.
	Partitions int `json:"partitions"`
	// Host is the public DNS name of the web UI and API (Ingress host);
	// empty serves any host.
	Host string `json:"host"`
	// CertificateARN is the ACM certificate the ALB serves HTTPS with
	// (HTTP redirected to HTTPS); topology.loadBalancer aws only. Empty
	// serves HTTP only, as the ThingsBoard article did.
	CertificateARN string `json:"certificateARN"`
	// TLSSecret is the kubernetes.io/tls Secret the generic Ingress serves
	// HTTPS for host with; topology.loadBalancer generic only.
	TLSSecret string `json:"tlsSecret"`
	// MQTTS serves MQTT over TLS on port 8883 (passed through the
	// load balancer to tb-mqtt-transport) with a key pair from an
	// existing kubernetes.io/tls Secret ({secret: NAME}) or issued by
	// cert-manager ({certManager: {issuer: NAME, kind: ClusterIssuer,
	// dnsNames: [mqtt.example.com]}}). Empty: plain MQTT on 1883 only,
	// and port 8883 is exposed nowhere.
	MQTTS thingsboard.MQTTS `json:"mqtts"`
}

// Credentials replace generated Secrets with Secrets the user provides.
type Credentials struct {
	// ExistingSecrets maps a Secret the stack declares (kafka-kraft,
	// postgres-auth, ...; iotstack secrets PROFILE lists them) to the
	// name of an existing Secret in the namespace with the same keys.
	// The stack then references that Secret and apply never generates
	// the declared one.
	ExistingSecrets map[string]string `json:"existingSecrets"`
}

// Minimal3AZDefaults are minimal-3az's values as the ThingsBoard article has
// them.
func Minimal3AZDefaults() *Minimal3AZValues {
	st := func(size string) resource.Quantity { return resource.MustParse(size) }
	v := &Minimal3AZValues{
		Common: Common{
			Namespace:           "thingsboard",
			Topology:            topologyValues(Minimal3AZTopology()),
			RequestScale:        1,
			MonitoringNamespace: "monitoring",
			Monitoring:          Monitoring{Enabled: true},
			// The ThingsBoard article's cost is for 100k devices per cluster.
			Plan:    DefaultPlan(100000),
			Cluster: minimal3AZCluster(),
		},
		ZooKeeper: zookeeper.Config{Pool: minimal3AZPool},
		Kafka:     kafka.Config{Pool: minimal3AZPool, DefaultReplicationFactor: 2, MinInsyncReplicas: 1},
		Redis:     redis.Config{Pool: minimal3AZPool},
		Cassandra: cassandra.Config{Pool: minimal3AZPool},
		Reaper:    reaper.Config{Enabled: true, Pool: minimal3AZPool},
		Postgres:  postgres.Config{Pool: minimal3AZPool},
		ThingsBoard: ThingsBoardValues{
			Version:  thingsboard.Version,
			Registry: "thingsboard",
		},
		LoadTest: thingsboard.LoadTestConfig{Pool: clientPool},
	}
	v.UI.Kafka.Enabled = true // the ThingsBoard article's pod table runs kafka-ui
	v.Topology.StorageClass = StorageClass{Name: gp3, Create: true, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"type": "gp3", "fsType": "ext4"}}
	v.Topology.LoadBalancer = "aws"
	v.ZooKeeper.Data.Size, v.ZooKeeper.Log.Size = st("1Gi"), st("1Gi")
	v.Kafka.Data.Size = st("20Gi")
	v.Redis.Data.Size = st("2Gi")
	v.Cassandra.Data.Size = st("50Gi")
	v.Postgres.Data.Size = st("30Gi")
	return v
}

// Validate checks what tags cannot. The components' own Config
// validations run when the stack is built, with the topology.
func (v *Minimal3AZValues) Validate() []values.FieldError {
	errs := v.Common.Validate()
	known := map[string]bool{}
	var names []string
	for _, s := range thingsboard.Services {
		known[string(s)] = true
		names = append(names, string(s))
	}
	for _, name := range slices.Sorted(maps.Keys(v.ThingsBoard.Services)) {
		svc := v.ThingsBoard.Services[name]
		if !known[name] {
			errs = append(errs, values.Errorf("thingsboard.services."+name, name, "unknown service; allowed: %s", strings.Join(names, ", ")))
		}
		if svc.Replicas < 0 {
			errs = append(errs, values.Errorf(fmt.Sprintf("thingsboard.services.%s.replicas", name), svc.Replicas, "allowed 0 (the default) or more"))
		}
	}
	errs = append(errs, postgresBackupErrors(&v.Common, v.Postgres)...)
	errs = append(errs, checkPools(v.Topology, map[string]string{
		"zookeeper.pool": v.ZooKeeper.Pool, "kafka.pool": v.Kafka.Pool, "redis.pool": v.Redis.Pool,
		"cassandra.pool": v.Cassandra.Pool, "postgres.pool": v.Postgres.Pool, "loadTest.pool": v.LoadTest.Pool,
	})...)
	errs = append(errs, cassandraBackupErrors(v.Common, v.Cassandra.Backup)...)
	errs = append(errs, reaperErrors(v.Topology, v.Reaper)...)
	errs = append(errs, v.UI.validate(v.Topology)...)
	errs = append(errs, validateCluster(kindOf(Minimal3AZ, &v.Common), &v.Common)...)
	brokers := int(v.Kafka.Brokers)
	if brokers == 0 {
		brokers = 3 // kafka.Config's default
	}
	if v.Kafka.DefaultReplicationFactor > brokers {
		errs = append(errs, values.Errorf("kafka.defaultReplicationFactor", v.Kafka.DefaultReplicationFactor, "exceeds brokers %d", brokers))
	}
	return errs
}
