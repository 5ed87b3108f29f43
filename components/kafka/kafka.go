// Package kafka renders an Apache Kafka cluster in KRaft mode from the
// official apache/kafka image: combined controller+broker nodes, highly
// available across zones.
//
// What it reproduces: the cluster the ThingsBoard article "ThingsBoard k8s
// cluster - minimal design" installs with the Bitnami chart (3 brokers, 20 GiB
// volumes, 3 CPU / 2 GiB limits with 300m / 2 GiB requests, hard anti-affinity,
// PDB maxUnavailable 1, offsets and transaction logs replicated 3 times) and the
// static quorum of thingsboard-ce-k8s (controller.quorum.voters
// 0@kafka-0…:9093,…).
//
// Where it differs: the official image instead of bitnami/kafka or
// bitnamilegacy/kafka, so a start script of ours writes server.properties:
// node.id is the pod ordinal (and a data volume formatted for another id stops
// the pod with a clear message instead of joining under a wrong identity),
// advertised listeners are the pod's own name behind the headless Service, and
// the storage is formatted once with the cluster ID from a Secret the apply step
// creates (never a literal in the YAML, as ce-k8s has it). Listeners are
// PLAINTEXT inside the cluster, as the article's ThingsBoard configuration
// expects. Metrics come from kafka_exporter (the ThingsBoard article's
// Kafka-exporter row: topics, partitions, under-replicated partitions,
// consumer-group lag) rather than a JMX exporter agent, which the official image
// does not ship and which would have to be downloaded at start. Probes ask the
// broker for its API versions; liveness only checks the client port, with a long
// threshold, so that a slow broker is taken out of the Service, not restarted.
//
// Disk: with PartitionsPerBroker set, log.retention.bytes and
// log.segment.bytes are sized from the volume so that the retained logs
// of that many partitions fit in 90% of it, and a configuration that
// cannot fit is refused (see Config.PartitionsPerBroker). Without it
// (minimal-3az's 20Gi volumes) retention is time-based only, as before:
// whether 168 h fit depends on the write rate, which no setting states.
// What remains: a broker holding more partitions than planned can still
// fill its volume; __consumer_offsets (compacted, Kafka's own 100 MiB
// segments) is not capped by retention.bytes.
//
// Kafka lines: the configuration and scripts work with the 3.9 and 4.x
// images alike. On apache/kafka's 3.9 branch (3.9.0-SNAPSHOT, Oct 2024):
// docker/jvm/Dockerfile unpacks Kafka into /opt/kafka and runs as
// appuser, the first user adduser creates on Alpine (uid 1000), owner of
// /var/lib/kafka; bin/kafka-run-class.sh reads KAFKA_HEAP_OPTS and
// LOG_DIR; kafka-storage.sh format takes --cluster-id and
// --ignore-formatted and asks for --standalone or --initial-controllers
// only when controller.quorum.voters is not set
// (core/src/main/scala/kafka/tools/StorageTool.scala), which it is here.
// The same Dockerfile layout is in docker/docker_official_images/3.8.5
// and on trunk before 4.0; the 4.1.0 sources were not read, so the 4.1
// image's layout is inferred from them. The start script does not use the
// image's /etc/kafka/docker/run, so none of its KAFKA_* variable mapping
// is relied on.
//
// What remains: every broker is a controller voter, so the cluster is
// bounded to MaxVoters (9) brokers; a larger cluster needs dedicated
// controllers, which this component does not render. The name label
// (app.kubernetes.io/name) is the component's Name, so two clusters in one
// stack select their own pods.
package kafka

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Default images, pinned. Image is the 4.1 line; the dojot profiles pin
// Image39, the 3.9 line, because Kafka 4.0 removed the protocol versions
// older than Kafka 2.1's (KIP-896) that dojot v0.5.0's clients send (see
// the dojot package).
const (
	Image         = "apache/kafka:4.1.0"
	Image39       = "apache/kafka:3.9.1"
	ExporterImage = "danielqsj/kafka-exporter:v1.9.0"
)

// Ports of a node.
const (
	ClientPort     = 9092
	ControllerPort = 9093
	InternalPort   = 9094
	ExporterPort   = 9308
)

// MaxVoters bounds the brokers, each of which is also a KRaft controller
// voter (combined mode). Kafka's operations guide (docs/operations/kraft,
// "Controllers", Kafka 4.1) says an admin "will typically select 3 or 5
// servers" for the quorum, and every metadata write waits for a majority
// of voters; 9 voters tolerate 4 failures, beyond which a quorum only
// slows metadata commits. Larger clusters need dedicated controllers,
// which this component does not render.
const MaxVoters = 9

// uid is appuser of the apache/kafka image.
const uid = 1000

// Config configures the cluster. Zero fields take the defaults in Default.
type Config struct {
	// Name is the StatefulSet and bootstrap Service name; the headless
	// Service is <Name>-headless. Default "kafka".
	Name string
	// Brokers is the number of combined controller+broker nodes; the
	// controller quorum is all of them, so 3 tolerates one failure.
	// Default 3.
	Brokers int32
	// Image and ExporterImage override the pinned images.
	Image, ExporterImage string
	// ExporterResources size kafka_exporter; default the ThingsBoard
	// article's Kafka-exporter row, 0.5 CPU / 512Mi limits.
	ExporterResources stack.Resources
	// Pool is the node pool the brokers run on; empty means any node.
	Pool string
	// Resources default to the ThingsBoard article's 3 CPU / 2 GiB limits
	// (requests 300m / 2 GiB).
	Resources stack.Resources
	// HeapMiB is the broker heap; default half the memory limit, leaving
	// the rest to the page cache and the JVM.
	HeapMiB int
	// Data is the log volume; default 20Gi on the default class.
	Data stack.Storage
	// DefaultReplicationFactor is default.replication.factor; default 3.
	DefaultReplicationFactor int
	// MinInsyncReplicas is min.insync.replicas; default 2. Equal to the
	// replication factor is allowed but stops writes with acks=all while
	// any replica is down.
	MinInsyncReplicas int
	// OffsetsTopicReplicationFactor, TransactionStateLogReplicationFactor
	// and TransactionStateLogMinISR size the internal topics; defaults
	// 3, 3 and 2.
	OffsetsTopicReplicationFactor        int
	TransactionStateLogReplicationFactor int
	TransactionStateLogMinISR            int
	// AutoCreateTopics is auto.create.topics.enable; default false:
	// clients (ThingsBoard, dojot) create their topics with the
	// partitions they need.
	AutoCreateTopics bool
	// NumPartitions is num.partitions for topics created without a
	// count; default 3.
	NumPartitions int
	// RetentionHours is log.retention.hours; default 168 (Kafka's own)
	// unless RetentionMinutes is set.
	RetentionHours int
	// RetentionMinutes is log.retention.minutes, which Kafka prefers to
	// log.retention.hours; 0 leaves retention to RetentionHours. Setting
	// both is refused.
	RetentionMinutes int
	// PartitionsPerBroker is the number of partition replicas one broker's
	// volume is planned for (all topics' partitions on that broker). When
	// set, every partition's log is capped (log.retention.bytes) so that
	// PartitionsPerBroker partitions, each with its retained bytes and one
	// segment being written, fit in 90% of the volume (Data.Size); a
	// configuration that cannot fit is refused. 0 renders no size limit
	// (Kafka's default: time-based retention only), as minimal-3az has it.
	PartitionsPerBroker int
	// SegmentBytes is log.segment.bytes. 0 means: with PartitionsPerBroker,
	// a quarter of each partition's share of the volume, at most 256 MiB
	// (dojot v0.5.0 ran 250 MB segments); without it, Kafka's default
	// (1 GiB, not rendered). At least 1 MiB when set.
	SegmentBytes int64
	// RetentionBytes is log.retention.bytes, per partition. 0 means: with
	// PartitionsPerBroker, each partition's share of the volume less one
	// segment; without it, no limit (Kafka's -1, not rendered).
	RetentionBytes int64
}

// Default fills zero fields with the defaults.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "kafka"
	}
	if c.Brokers == 0 {
		c.Brokers = 3
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.ExporterResources.IsZero() {
		c.ExporterResources = stack.MustLimits("500m", "512Mi")
	}
	if c.ExporterImage == "" {
		c.ExporterImage = ExporterImage
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("3", "2Gi")
	}
	if c.HeapMiB == 0 {
		c.HeapMiB = int(c.Resources.HeapMiB(50))
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("20Gi")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.DefaultReplicationFactor, 3)
	def(&c.MinInsyncReplicas, 2)
	def(&c.OffsetsTopicReplicationFactor, 3)
	def(&c.TransactionStateLogReplicationFactor, 3)
	def(&c.TransactionStateLogMinISR, 2)
	def(&c.NumPartitions, 3)
	if c.RetentionMinutes == 0 {
		def(&c.RetentionHours, 168)
	}
	if c.PartitionsPerBroker > 0 {
		share := c.usableBytes() / int64(c.PartitionsPerBroker)
		if c.SegmentBytes == 0 {
			c.SegmentBytes = min(share/4, maxDerivedSegment)
		}
		if c.RetentionBytes == 0 && share > c.SegmentBytes {
			c.RetentionBytes = share - c.SegmentBytes // else left 0: Validate refuses it
		}
	}
}

// maxDerivedSegment caps a derived log.segment.bytes at 256 MiB, near
// the 250 MB (262144000) of dojot v0.5.0's broker (ansible-dojot v0.5.0
// roles/kafka/templates/kafka_statefulset.yaml.j2, KAFKA_LOG_SEGMENT_BYTES).
const maxDerivedSegment = 256 << 20

// minSegmentBytes is the smallest log.segment.bytes this component
// renders: 1 MiB, small enough for any volume worth having and above the
// lower bound of every Kafka line it runs (3.9 and 4.x).
const minSegmentBytes = 1 << 20

// usablePercent is the part of the data volume retained logs may fill;
// the rest is headroom for index files, the log cleaner's copies of
// compacted segments and the file system itself.
const usablePercent = 90

// usableBytes is usablePercent of the data volume.
func (c Config) usableBytes() int64 { return c.Data.Size.Value() / 100 * usablePercent }

// Validate checks a defaulted Config.
//
// It checks the configuration as the constructor uses it, with the
// defaults filled in (Default on a copy), so a zero field, which means
// the default, is valid wherever its default is.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("kafka", c.Name, 40); err != nil {
		return err
	}
	if c.Brokers < 1 || c.Brokers > MaxVoters {
		return fmt.Errorf("kafka: brokers %d; allowed 1 to %d (3 for a quorum that survives a failure): every broker is a KRaft controller voter here, and a larger quorum needs dedicated controllers", c.Brokers, MaxVoters)
	}
	if err := sts.CheckImages("kafka", [2]string{"image", c.Image}, [2]string{"exporterImage", c.ExporterImage}); err != nil {
		return err
	}
	if err := c.Resources.Validate("kafka.resources"); err != nil {
		return err
	}
	if err := c.ExporterResources.Validate("kafka.exporterResources"); err != nil {
		return err
	}
	limitMiB := c.Resources.MemoryLimit.Value() >> 20
	if c.HeapMiB < 128 || int64(c.HeapMiB) > limitMiB*3/4 {
		return fmt.Errorf("kafka: heapMiB %d; must be 128 to %d (three quarters of the %s memory limit)", c.HeapMiB, limitMiB*3/4, c.Resources.MemoryLimit.String())
	}
	if err := c.Data.Validate("kafka.data"); err != nil {
		return err
	}
	b := int(c.Brokers)
	for _, rf := range []struct {
		name string
		v    int
	}{{"defaultReplicationFactor", c.DefaultReplicationFactor}, {"offsetsTopicReplicationFactor", c.OffsetsTopicReplicationFactor}, {"transactionStateLogReplicationFactor", c.TransactionStateLogReplicationFactor}} {
		if rf.v < 1 || rf.v > b {
			return fmt.Errorf("kafka: %s %d; must be 1 to %d (the number of brokers): a partition cannot have more replicas than brokers", rf.name, rf.v, b)
		}
	}
	if c.MinInsyncReplicas < 1 || c.MinInsyncReplicas > c.DefaultReplicationFactor {
		return fmt.Errorf("kafka: minInsyncReplicas %d; must be 1 to %d (defaultReplicationFactor); below the factor lets acks=all writes continue while a replica is down", c.MinInsyncReplicas, c.DefaultReplicationFactor)
	}
	if c.TransactionStateLogMinISR < 1 || c.TransactionStateLogMinISR > c.TransactionStateLogReplicationFactor {
		return fmt.Errorf("kafka: transactionStateLogMinISR %d; must be 1 to %d (transactionStateLogReplicationFactor)", c.TransactionStateLogMinISR, c.TransactionStateLogReplicationFactor)
	}
	if c.NumPartitions < 1 || c.NumPartitions > 10000 {
		return fmt.Errorf("kafka: numPartitions %d; allowed 1 to 10000", c.NumPartitions)
	}
	if c.RetentionMinutes != 0 && c.RetentionHours != 0 {
		return fmt.Errorf("kafka: retentionMinutes %d and retentionHours %d are both set; set one (Kafka takes log.retention.minutes over log.retention.hours)", c.RetentionMinutes, c.RetentionHours)
	}
	if c.RetentionMinutes == 0 && (c.RetentionHours < 1 || c.RetentionHours > 87600) {
		return fmt.Errorf("kafka: retentionHours %d; allowed 1 to 87600", c.RetentionHours)
	}
	if c.RetentionMinutes < 0 || c.RetentionMinutes > 87600*60 {
		return fmt.Errorf("kafka: retentionMinutes %d; allowed 1 to %d, or 0 to use retentionHours", c.RetentionMinutes, 87600*60)
	}
	return c.validateDisk()
}

// validateDisk refuses size settings whose retained logs cannot fit the
// volume: a partition holds up to log.retention.bytes in closed segments
// plus the segment being written (Kafka deletes whole segments only), so
// partitionsPerBroker x (retentionBytes + segmentBytes) must fit in
// usableShare of kafka.data.size.
func (c Config) validateDisk() error {
	if c.PartitionsPerBroker < 0 || c.PartitionsPerBroker > 100000 {
		return fmt.Errorf("kafka: partitionsPerBroker %d; allowed 1 to 100000, or 0 for no size-based retention", c.PartitionsPerBroker)
	}
	if c.SegmentBytes != 0 && (c.SegmentBytes < minSegmentBytes || c.SegmentBytes > math.MaxInt32) {
		return fmt.Errorf("kafka: segmentBytes %d; allowed %d (1 MiB) to %d (log.segment.bytes is an int), or 0 to derive it", c.SegmentBytes, minSegmentBytes, math.MaxInt32)
	}
	if c.RetentionBytes < 0 || c.RetentionBytes > c.Data.Size.Value() {
		return fmt.Errorf("kafka: retentionBytes %d; allowed 1 to kafka.data.size (%s), or 0 to derive it", c.RetentionBytes, c.Data.Size.String())
	}
	if c.PartitionsPerBroker == 0 {
		if c.RetentionBytes != 0 {
			return fmt.Errorf("kafka: retentionBytes %d needs partitionsPerBroker, the partitions the volume kafka.data.size (%s) is planned for, to check that the retained logs fit", c.RetentionBytes, c.Data.Size.String())
		}
		return nil
	}
	usable := c.usableBytes()
	need := int64(c.PartitionsPerBroker) * (c.RetentionBytes + c.SegmentBytes)
	if c.RetentionBytes < c.SegmentBytes || need > usable || c.RetentionBytes <= 0 {
		return fmt.Errorf("kafka: the retained logs cannot fit the volume: partitionsPerBroker %d x (retentionBytes %d + segmentBytes %d) = %d bytes, but kafka.data.size %s leaves %d bytes (%d%%) for logs, and retentionBytes must be at least one segment; enlarge kafka.data.size, or lower kafka.partitionsPerBroker, kafka.segmentBytes or kafka.retentionBytes (0 derives them from the volume)",
			c.PartitionsPerBroker, c.RetentionBytes, c.SegmentBytes, need, c.Data.Size.String(), usable, usablePercent)
	}
	return nil
}

// Handle is what dependents wire from.
type Handle struct {
	// Component is the cluster's component, for DependsOn.
	Component *stack.Component
	// Service is the bootstrap Service name; Port its client port.
	Service string
	Port    int32
	// Brokers are the brokers' host:port client addresses, by node id.
	Brokers []string
	// ClusterID is the Secret key holding the KRaft cluster ID.
	ClusterID stack.SecretKeyRef
	// ReplicationFactor is the cluster's default replication factor, for
	// clients that create topics.
	ReplicationFactor int
}

// Client is the brokers' client port, for a consumer's Uses (network
// policy) next to BootstrapServers: a client connects to every broker.
func (h *Handle) Client() stack.Endpoint { return h.Component.Pods("").Port("client") }

// BootstrapServers is the comma-separated broker list for clients.
func (h *Handle) BootstrapServers() string { return strings.Join(h.Brokers, ",") }

// New adds the cluster to s.
func New(s *stack.Stack, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := sts.HostsFit(s.Topology(), "kafka", cfg.Pool, cfg.Brokers); err != nil {
		return nil, err
	}
	if err := s.Topology().Fits("kafka", cfg.Pool, int(cfg.Brokers), cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "broker", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	headless := cfg.Name + "-headless"
	hosts := sts.Hosts(s, cfg.Name, headless, cfg.Brokers)
	var brokers, voters []string
	for i, h := range hosts {
		brokers = append(brokers, fmt.Sprintf("%s:%d", h, ClientPort))
		voters = append(voters, fmt.Sprintf("%d@%s:%d", i, h, ControllerPort))
	}
	secret := c.DeclareSecret(cfg.Name+"-kraft", stack.SecretKey{Key: "cluster-id", Kind: stack.ClusterID})

	config := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-config"},
		Data: map[string]string{
			"server.properties": serverProperties(cfg, voters),
			"start.sh":          startScript("." + s.ServiceHost(headless)),
			"probe.sh":          probeScript,
		},
	}
	sel := c.SelectorLabels()
	container := corev1.Container{
		Name:    "kafka",
		Image:   cfg.Image,
		Command: []string{"/config/start.sh"},
		Env: append(sts.PodEnv(),
			secret.Ref("cluster-id").EnvVar("CLUSTER_ID"),
			corev1.EnvVar{Name: "KAFKA_HEAP_OPTS", Value: fmt.Sprintf("-Xms%dm -Xmx%dm", cfg.HeapMiB, cfg.HeapMiB)},
			corev1.EnvVar{Name: "LOG_DIR", Value: "/tmp/kafka/logs"},
		),
		Ports: []corev1.ContainerPort{
			{Name: "client", ContainerPort: ClientPort},
			{Name: "controller", ContainerPort: ControllerPort},
			{Name: "internal", ContainerPort: InternalPort},
		},
		Resources:       cfg.Resources.Requirements(),
		StartupProbe:    stack.ExecProbe(stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 30, FailureThreshold: 30}, "/config/probe.sh"),
		ReadinessProbe:  stack.ExecProbe(stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 30, FailureThreshold: 3}, "/config/probe.sh"),
		LivenessProbe:   stack.TCPProbe("client", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config", MountPath: "/config"},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "data", MountPath: "/var/lib/kafka/data"},
		},
	}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name, Service: headless, Replicas: cfg.Brokers, Parallel: true, Selector: sel,
		Placement:   stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true},
		Security:    stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod: 120, // controlled shutdown moves partition leadership away first
		Containers:  []corev1.Container{container},
		Volumes:     []corev1.Volume{sts.ScriptVolume("config", config.Name), sts.EmptyDir("tmp")},
		Config:      []*corev1.ConfigMap{config},
		Claims:      []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	exporter, err := exporterDeployment(s, c, cfg, brokers)
	if err != nil {
		return nil, err
	}
	exporterSel := c.SelectorFor("exporter")
	// Nodes talk to each other on the controller (KRaft quorum) and
	// internal (inter.broker.listener.name) listeners, and on the client
	// one for the probe: kafka-broker-api-versions bootstraps from
	// localhost, then asks every broker of the metadata at its advertised
	// client address. The exporter is a client of every broker.
	c.Peers("", "client", "controller", "internal")
	c.Pods("exporter").Uses(c.Pods("").Port("client"))
	c.Add(config,
		sts.Headless(headless, sel, []corev1.ServicePort{sts.Port("client", ClientPort), sts.Port("controller", ControllerPort), sts.Port("internal", InternalPort)}),
		sts.Client(cfg.Name, sel, []corev1.ServicePort{sts.Port("client", ClientPort)}),
		sts.Client(cfg.Name+"-exporter", exporterSel, []corev1.ServicePort{sts.Port("metrics", ExporterPort)}),
		stack.PDB(cfg.Name, sel, 1),
		set,
		exporter,
	)
	c.Alert(alerts(c, cfg.Brokers, cfg.MinInsyncReplicas)...)
	return &Handle{
		Component: c, Service: cfg.Name, Port: ClientPort, Brokers: brokers,
		ClusterID: secret.Ref("cluster-id"), ReplicationFactor: cfg.DefaultReplicationFactor,
	}, nil
}

// exporterKafkaVersion is kafka_exporter's --kafka.version for a broker
// image: the protocol level its client (IBM/sarama v1.45.0 in
// kafka_exporter v1.9.0's go.mod) speaks. It follows the broker's line
// for 2.x and 3.x tags (apache/kafka:3.9.1 gives 3.9.0), so the exporter
// asks an old broker nothing it lacks. For 4.x, and for tags that are no
// version (a digest), it stays at 3.6.0: every request version sarama
// picks at 3.6 is above Kafka 4.0's KIP-896 floor (the 2.1 protocol), and
// whether sarama v1.45.0 accepts a version beyond its newest known one
// is not verified here.
func exporterKafkaVersion(image string) string {
	const fallback = "3.6.0"
	parts := strings.SplitN(sts.Tag(image), ".", 3)
	if len(parts) < 2 {
		return fallback
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || major < 2 || major > 3 {
		return fallback
	}
	return fmt.Sprintf("%d.%d.0", major, minor)
}

// exporterDeployment is kafka_exporter, one replica: it reads cluster
// metadata and consumer-group offsets over the Kafka protocol.
func exporterDeployment(s *stack.Stack, c *stack.Component, cfg Config, brokers []string) (*appsv1.Deployment, error) {
	sel := c.SelectorFor("exporter")
	args := []string{"--web.listen-address=:9308", "--kafka.version=" + exporterKafkaVersion(cfg.Image), "--log.level=info"}
	for _, b := range brokers {
		args = append(args, "--kafka.server="+b)
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: 65534, GID: 65534, FSGroup: 65534}),
		Containers: []corev1.Container{{
			Name:            "exporter",
			Image:           cfg.ExporterImage,
			Args:            args,
			Ports:           []corev1.ContainerPort{{Name: "metrics", ContainerPort: ExporterPort}},
			Resources:       cfg.ExporterResources.Requirements(),
			ReadinessProbe:  stack.HTTPProbe("/metrics", "metrics", stack.ProbeTiming{PeriodSeconds: 30, TimeoutSeconds: 10}),
			LivenessProbe:   stack.HTTPProbe("/", "metrics", stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 30, TimeoutSeconds: 5}),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
		}},
	}
	if err := s.Topology().Place(&pod, sel, stack.Placement{Pool: cfg.Pool}); err != nil {
		return nil, fmt.Errorf("kafka: exporter placement: %w", err)
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-exporter"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel, Annotations: sts.ScrapeAnnotations(ExporterPort, "/metrics")},
				Spec:       pod,
			},
		},
	}, nil
}
