// Package kafka renders an Apache Kafka cluster in KRaft mode from the
// official apache/kafka image: combined controller+broker nodes, highly
// available across zones.
//
// What it reproduces: the cluster the ThingsBoard write-up installs with
// the Bitnami chart (3 brokers, 20 GiB volumes, 3 CPU / 2 GiB limits with
// 300m / 2 GiB requests, hard anti-affinity, PDB maxUnavailable 1, offsets
// and transaction logs replicated 3 times) and the static quorum of
// thingsboard-ce-k8s (controller.quorum.voters 0@kafka-0…:9093,…).
//
// Where it differs: the official image instead of bitnami/kafka or
// bitnamilegacy/kafka, so a start script of ours writes server.properties:
// node.id is the pod ordinal (and a data volume formatted for another id
// stops the pod with a clear message instead of joining under a wrong
// identity), advertised listeners are the pod's own name behind the
// headless Service, and the storage is formatted once with the cluster ID
// from a Secret the apply step creates (never a literal in the YAML, as
// ce-k8s has it). Listeners are PLAINTEXT inside the cluster, as the
// write-up's ThingsBoard configuration expects. Metrics come from
// kafka_exporter (the write-up's Kafka-exporter row: topics, partitions,
// under-replicated partitions, consumer-group lag) rather than a JMX
// exporter agent, which the official image does not ship and which would
// have to be downloaded at start. Probes ask the broker for its API
// versions; liveness only checks the client port, with a long threshold,
// so that a slow broker is taken out of the Service, not restarted.
//
// What remains: every broker is a controller voter, so the cluster is
// bounded to MaxVoters (9) brokers; a larger cluster needs dedicated
// controllers, which this component does not render. The name label
// (app.kubernetes.io/name) is the component's Name, so two clusters in one
// stack select their own pods.
package kafka

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Default images, pinned.
const (
	Image         = "apache/kafka:4.1.0"
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
	// Pool is the node pool the brokers run on; empty means any node.
	Pool string
	// Resources default to the write-up's 3 CPU / 2 GiB limits (requests
	// 300m / 2 GiB).
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
	// RetentionHours is log.retention.hours; default 168.
	RetentionHours int
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
	def(&c.RetentionHours, 168)
}

// Validate checks a defaulted Config.
//
// It checks the configuration as the constructor uses it, with the
// defaults filled in (Default on a copy), so a zero field, which means
// the default, is valid wherever its default is.
func (c Config) Validate() error {
	c.Default()
	if errs := validation.IsDNS1035Label(c.Name); len(errs) > 0 || len(c.Name) > 40 {
		return fmt.Errorf("kafka: name %q must be a DNS-1035 label of at most 40 characters", c.Name)
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
	if c.RetentionHours < 1 || c.RetentionHours > 87600 {
		return fmt.Errorf("kafka: retentionHours %d; allowed 1 to 87600", c.RetentionHours)
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
	c.Alert(alerts(c, cfg.Brokers)...)
	return &Handle{
		Component: c, Service: cfg.Name, Port: ClientPort, Brokers: brokers,
		ClusterID: secret.Ref("cluster-id"), ReplicationFactor: cfg.DefaultReplicationFactor,
	}, nil
}

// exporterDeployment is kafka_exporter, one replica: it reads cluster
// metadata and consumer-group offsets over the Kafka protocol.
func exporterDeployment(s *stack.Stack, c *stack.Component, cfg Config, brokers []string) (*appsv1.Deployment, error) {
	sel := c.SelectorFor("exporter")
	args := []string{"--web.listen-address=:9308", "--kafka.version=3.6.0", "--log.level=info"}
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
			Resources:       stack.MustLimits("500m", "512Mi").Requirements(),
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
