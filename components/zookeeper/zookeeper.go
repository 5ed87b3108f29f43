// Package zookeeper renders an Apache ZooKeeper ensemble from the official
// Docker image (zookeeper, docker-library), highly available across zones.
//
// What it reproduces: the ensemble the ThingsBoard article
// "ThingsBoard k8s cluster - minimal design" installs with the Bitnami
// chart (3 servers, 1 GiB data and 1 GiB transaction-log
// volumes, heap 256 MiB, autopurge every 24 h, 0.5 CPU / 512 MiB, hard
// anti-affinity, PDB maxUnavailable 1, -Dzookeeper.electionPortBindRetry=0).
//
// Where it differs: the official image instead of bitnami/zookeeper (gone
// since 2025), so the server id and server list come from a start script
// of ours: myid is the pod ordinal + 1 (as Bitnami numbers servers, so a
// migrated data volume keeps its id) and an existing myid on the volume is
// never overwritten; replicas spread one per zone as well as one per host;
// metrics come from ZooKeeper's built-in Prometheus provider (port 7000)
// rather than a JMX exporter, which the official image does not ship and
// which would need a jar downloaded at start; probes speak the four-letter
// words over bash's /dev/tcp (srvr for readiness, so a server that has not
// joined the quorum is not ready; ruok for liveness).
package zookeeper

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Image is the default image: the official ZooKeeper image, pinned.
const Image = "zookeeper:3.9.3"

// Ports of the ensemble.
const (
	ClientPort   = 2181
	FollowerPort = 2888
	ElectionPort = 3888
	MetricsPort  = 7000
)

// maxServers is the largest ensemble: a server id is 1 to 255.
const maxServers = 255

// uid is the zookeeper user of the official image.
const uid = 1000

// Config configures the ensemble. Zero fields take the defaults in
// Default.
type Config struct {
	// Name is the StatefulSet and client Service name; the headless
	// Service is <Name>-headless. Default "zookeeper".
	Name string
	// Replicas is the ensemble size: odd, 3 or more for HA. Default 3.
	Replicas int32
	// Image overrides the pinned image.
	Image string
	// Pool is the node pool the servers run on; empty means any node.
	Pool string
	// Resources default to the ThingsBoard article's 0.5 CPU / 512 MiB limits with
	// requests of a tenth of the CPU and all of the memory.
	Resources stack.Resources
	// HeapMiB is the JVM heap; default 256 (the ThingsBoard article's heapSize).
	// It must leave room below the memory limit for the JVM's own memory.
	HeapMiB int
	// Data is the snapshot volume; default 1Gi on the default class.
	Data stack.Storage
	// Log is the transaction-log volume; default 1Gi on the default class.
	Log stack.Storage
	// TickTime is the basic time unit in milliseconds; default 2000.
	TickTime int
	// InitLimit and SyncLimit are in ticks; defaults 10 and 5.
	InitLimit, SyncLimit int
	// AutopurgeHours is autopurge.purgeInterval; default 24 (the ThingsBoard
	// article's). SnapRetainCount is autopurge.snapRetainCount; default 3.
	AutopurgeHours, SnapRetainCount int
}

// Default fills zero fields with the defaults.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "zookeeper"
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("500m", "512Mi")
	}
	if c.HeapMiB == 0 {
		c.HeapMiB = 256
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("1Gi")
	}
	if c.Log.Size.IsZero() {
		c.Log.Size = resource.MustParse("1Gi")
	}
	if c.TickTime == 0 {
		c.TickTime = 2000
	}
	if c.InitLimit == 0 {
		c.InitLimit = 10
	}
	if c.SyncLimit == 0 {
		c.SyncLimit = 5
	}
	if c.AutopurgeHours == 0 {
		c.AutopurgeHours = 24
	}
	if c.SnapRetainCount == 0 {
		c.SnapRetainCount = 3
	}
}

// Validate checks a defaulted Config.
//
// It checks the configuration as the constructor uses it, with the
// defaults filled in (Default on a copy), so a zero field, which means
// the default, is valid wherever its default is.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("zookeeper", c.Name, 40); err != nil {
		return err
	}
	// Server ids are the ordinals plus one, and the ZooKeeper
	// Administrator's Guide (zookeeperAdmin.md, "Running Replicated
	// ZooKeeper", release-3.9.3) has a server id "between 1 and 255".
	if c.Replicas < 1 || c.Replicas > maxServers {
		return fmt.Errorf("zookeeper: replicas %d; allowed 1 to %d (3 or more for HA; server ids run from 1 to 255)", c.Replicas, maxServers)
	}
	if c.Replicas%2 == 0 {
		return fmt.Errorf("zookeeper: replicas %d is even; a quorum needs a majority, so %d servers survive no more failures than %d and only add the risk of a split vote: use %d or %d",
			c.Replicas, c.Replicas, c.Replicas-1, c.Replicas-1, c.Replicas+1)
	}
	if err := sts.CheckImages("zookeeper", [2]string{"image", c.Image}); err != nil {
		return err
	}
	if err := c.Resources.Validate("zookeeper.resources"); err != nil {
		return err
	}
	limitMiB := c.Resources.MemoryLimit.Value() >> 20
	if c.HeapMiB < 32 || int64(c.HeapMiB) > limitMiB*3/4 {
		return fmt.Errorf("zookeeper: heapMiB %d; must be 32 to %d (three quarters of the %s memory limit, leaving room for the JVM's own memory)", c.HeapMiB, limitMiB*3/4, c.Resources.MemoryLimit.String())
	}
	if err := c.Data.Validate("zookeeper.data"); err != nil {
		return err
	}
	if err := c.Log.Validate("zookeeper.log"); err != nil {
		return err
	}
	for _, f := range []struct {
		name     string
		v, lo, h int
	}{
		{"tickTime", c.TickTime, 100, 60000}, {"initLimit", c.InitLimit, 1, 1000}, {"syncLimit", c.SyncLimit, 1, 1000},
		{"autopurgeHours", c.AutopurgeHours, 1, 8760}, {"snapRetainCount", c.SnapRetainCount, 3, 1000},
	} {
		if f.v < f.lo || f.v > f.h {
			return fmt.Errorf("zookeeper: %s %d; allowed %d to %d", f.name, f.v, f.lo, f.h)
		}
	}
	return nil
}

// Handle is what dependents wire from.
type Handle struct {
	// Component is the ensemble's component, for DependsOn.
	Component *stack.Component
	// Service is the client Service name.
	Service string
	// Port is the client port.
	Port int32
	// Servers are the servers' host:port addresses, in id order.
	Servers []string
}

// Client is the servers' client port, for a consumer's Uses (network
// policy) next to ConnectString.
func (h *Handle) Client() stack.Endpoint { return h.Component.Pods("").Port("client") }

// ConnectString is the ZooKeeper connect string: every server, so clients
// reach the ensemble while any one server is down.
func (h *Handle) ConnectString() string { return strings.Join(h.Servers, ",") }

// New adds the ensemble to s.
func New(s *stack.Stack, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := sts.HostsFit(s.Topology(), "zookeeper", cfg.Pool, cfg.Replicas); err != nil {
		return nil, err
	}
	if err := s.Topology().Fits("zookeeper", cfg.Pool, int(cfg.Replicas), cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "coordination", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	headless := cfg.Name + "-headless"
	var servers, quorum []string
	for i, host := range sts.Hosts(s, cfg.Name, headless, cfg.Replicas) {
		servers = append(servers, fmt.Sprintf("%s:%d", host, ClientPort))
		quorum = append(quorum, fmt.Sprintf("server.%d=%s:%d:%d;%d", i+1, host, FollowerPort, ElectionPort, ClientPort))
	}
	scripts := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-scripts"},
		Data: map[string]string{
			"start.sh":    startScript(cfg, quorum),
			"ready.sh":    readyScript,
			"liveness.sh": livenessScript,
		},
	}
	sel := c.SelectorLabels()
	container := corev1.Container{
		Name:    "zookeeper",
		Image:   cfg.Image,
		Command: []string{"/scripts/start.sh"},
		Env: append(sts.PodEnv(),
			corev1.EnvVar{Name: "ZOOCFGDIR", Value: "/tmp/conf"},
			corev1.EnvVar{Name: "ZOO_LOG_DIR", Value: "/tmp/logs"},
			corev1.EnvVar{Name: "SERVER_JVMFLAGS", Value: fmt.Sprintf("-Xms%dm -Xmx%dm -Dzookeeper.electionPortBindRetry=0", cfg.HeapMiB, cfg.HeapMiB)},
		),
		Ports: []corev1.ContainerPort{
			{Name: "client", ContainerPort: ClientPort},
			{Name: "follower", ContainerPort: FollowerPort},
			{Name: "election", ContainerPort: ElectionPort},
			{Name: "metrics", ContainerPort: MetricsPort},
		},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  stack.ExecProbe(stack.ProbeTiming{InitialDelaySeconds: 5, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6}, "/scripts/ready.sh"),
		LivenessProbe:   stack.ExecProbe(stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6}, "/scripts/liveness.sh"),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "scripts", MountPath: "/scripts"},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "data", MountPath: "/data"},
			{Name: "datalog", MountPath: "/datalog"},
		},
	}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name, Service: headless, Replicas: cfg.Replicas, Parallel: true, Selector: sel,
		Placement:      stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true},
		Security:       stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod:    60,
		PodAnnotations: sts.ScrapeAnnotations(MetricsPort, "/metrics"),
		Containers:     []corev1.Container{container},
		Volumes:        []corev1.Volume{sts.ScriptVolume("scripts", scripts.Name), sts.EmptyDir("tmp")},
		Config:         []*corev1.ConfigMap{scripts},
		Claims:         []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data), stack.ClaimTemplate("datalog", cfg.Log)},
	})
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	// Servers reach each other on the quorum and election ports of their
	// server.N lines (host:2888:3888) and nothing else.
	c.Peers("", "follower", "election")
	port := sts.Port
	c.Add(scripts,
		sts.Headless(headless, sel, []corev1.ServicePort{port("client", ClientPort), port("follower", FollowerPort), port("election", ElectionPort), port("metrics", MetricsPort)}),
		sts.Client(cfg.Name, sel, []corev1.ServicePort{port("client", ClientPort)}),
		stack.PDB(cfg.Name, sel, 1),
		set,
	)
	c.Alert(alerts(c, cfg.Replicas)...)
	return &Handle{Component: c, Service: cfg.Name, Port: ClientPort, Servers: servers}, nil
}
