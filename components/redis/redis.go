// Package redis renders a Redis Cluster (Valkey, the BSD-licensed fork, by
// default) highly available across zones: masters and their replicas in
// different zones, formed by an idempotent Job.
//
// What it reproduces: the cache the ThingsBoard article "ThingsBoard k8s cluster
// - minimal design" installs with the Bitnami redis-cluster chart (6 nodes, 3
// masters with one replica each, 1 CPU / 1 GiB, 2 GiB volumes, AOF off, PDB
// maxUnavailable 1) and its pod table, where zone A holds master A and the
// replica of C, zone B master B and the replica of A, zone C master C and the
// replica of B.
//
// Where it differs:
//   - The official valkey/valkey image instead of bitnami/redis-cluster
//     (gone since 2025), so the cluster logic Bitnami hid in its image is
//     ours: a start script, a create Job and a nodes.conf repair.
//   - Placement is deterministic instead of left to chance: one
//     StatefulSet per zone (<name>-a, <name>-b, ...) pinned to its zone, and
//     the create Job pairs each master with replicas in other zones, so no
//     zone holds a master and its only replica.
//   - Pods announce their stable DNS name (cluster-announce-hostname,
//     cluster-preferred-endpoint-type hostname), and before the server
//     starts, the script rewrites the IP of every node in nodes.conf from
//     that node's DNS name: a cluster whose pods all restarted with new IPs
//     finds itself again, the failure Bitnami users hit with official
//     images (bitnami/charts#10774, #20395, #21301).
//   - The create Job waits for every node, does nothing when the cluster
//     already exists and is healthy, refuses to touch a cluster that is
//     partly formed, and fails visibly otherwise.
//   - A plan in which one zone holds half of the masters or more is
//     refused (4 masters on 3 zones, any masters on 2 zones): losing that
//     zone would leave no majority of masters to vote a failover.
//   - Growing the cluster (more masters) is not automated: the Job only
//     creates; resharding stays a deliberate manual step.
package redis

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Default images, pinned.
const (
	Image         = "valkey/valkey:8.1.4"
	ExporterImage = "oliver006/redis_exporter:v1.67.0"
)

// Ports of a node.
const (
	Port         = 6379
	BusPort      = 16379
	ExporterPort = 9121
)

// uid is the valkey user of the official image.
const uid = 999

// zoneLabel marks which per-zone StatefulSet a pod belongs to.
const zoneLabel = "redis.iotstack.io/zone-group"

// Config configures the cluster. Zero fields take the defaults in Default.
type Config struct {
	// Name prefixes every object: StatefulSets <Name>-a, <Name>-b, ...,
	// Services <Name> and <Name>-headless. Default "redis".
	Name string
	// Masters is the number of shards; at least 3. Default 3.
	Masters int
	// Replicas is the number of replicas per master; default 1. Use
	// ReplicasSet to ask for 0.
	Replicas int
	// ReplicasSet says Replicas is meant even when it is 0.
	ReplicasSet bool
	// Image and ExporterImage override the pinned images.
	Image, ExporterImage string
	// Pool is the node pool the nodes run on; empty means any node.
	Pool string
	// Resources default to the ThingsBoard article's 1 CPU / 1 GiB limits.
	Resources stack.Resources
	// Data is each node's volume; default 2Gi on the default class.
	Data stack.Storage
	// AppendOnly turns on AOF persistence (the ThingsBoard article turns it off
	// for a cache). Default false.
	AppendOnly bool
	// MaxMemoryPercent is maxmemory as a percentage of the memory limit;
	// default 75. The policy is allkeys-lru: this is a cache.
	MaxMemoryPercent int
	// NodeTimeoutMillis is cluster-node-timeout; default 5000.
	NodeTimeoutMillis int
}

// Default fills zero fields with the defaults.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "redis"
	}
	if c.Masters == 0 {
		c.Masters = 3
	}
	if c.Replicas == 0 && !c.ReplicasSet {
		c.Replicas = 1
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.ExporterImage == "" {
		c.ExporterImage = ExporterImage
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("1", "1Gi")
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("2Gi")
	}
	if c.MaxMemoryPercent == 0 {
		c.MaxMemoryPercent = 75
	}
	if c.NodeTimeoutMillis == 0 {
		c.NodeTimeoutMillis = 5000
	}
}

// Validate checks a defaulted Config against the zones it will use.
func (c Config) Validate(zones int) error {
	if err := sts.CheckName("redis", c.Name, 30); err != nil {
		return err
	}
	if c.Masters < 3 {
		return fmt.Errorf("redis: masters %d; a Redis Cluster needs at least 3 masters to elect a failover", c.Masters)
	}
	if c.Masters > 100 {
		return fmt.Errorf("redis: masters %d; allowed 3 to 100", c.Masters)
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return fmt.Errorf("redis: replicas %d per master; allowed 0 to 5", c.Replicas)
	}
	if err := checkMasterZones(c.Masters, zones); err != nil {
		return err
	}
	if zones > 1 && c.Replicas >= zones {
		return fmt.Errorf("redis: replicas %d per master need %d zones to keep a master and each of its replicas in different zones; the topology has %d", c.Replicas, c.Replicas+1, zones)
	}
	if err := sts.CheckImages("redis", [2]string{"image", c.Image}, [2]string{"exporterImage", c.ExporterImage}); err != nil {
		return err
	}
	if err := c.Resources.Validate("redis.resources"); err != nil {
		return err
	}
	if err := c.Data.Validate("redis.data"); err != nil {
		return err
	}
	if c.MaxMemoryPercent < 10 || c.MaxMemoryPercent > 90 {
		return fmt.Errorf("redis: maxMemoryPercent %d; allowed 10 to 90 (the rest of the limit is for replication buffers and forks)", c.MaxMemoryPercent)
	}
	if c.NodeTimeoutMillis < 1000 || c.NodeTimeoutMillis > 120000 {
		return fmt.Errorf("redis: nodeTimeoutMillis %d; allowed 1000 to 120000", c.NodeTimeoutMillis)
	}
	return nil
}

// checkMasterZones refuses a plan in which losing one zone leaves no
// majority of masters: a replica is promoted only when a majority of
// masters agree that its master failed (cluster-spec, "Replica election
// and promotion"), so a zone holding half of the masters or more takes the
// failover votes with it. Plan puts master i in zone i mod zones, so the
// busiest zone holds ceil(masters/zones). A single-zone topology has no
// zone to lose on its own and is not checked.
func checkMasterZones(masters, zones int) error {
	if zones < 2 || masters < 1 {
		return nil
	}
	busiest := func(m int) int { return (m + zones - 1) / zones }
	if 2*busiest(masters) < masters {
		return nil
	}
	if zones == 2 {
		return fmt.Errorf("redis: masters %d on 2 zones put %d masters in one zone; losing it leaves %d of %d, no majority to vote a failover: every zone must hold fewer than half of the masters, which takes 3 or more zones", masters, busiest(masters), masters-busiest(masters), masters)
	}
	next := masters + 1
	for 2*busiest(next) >= next {
		next++
	}
	return fmt.Errorf("redis: masters %d on %d zones put %d masters in one zone; losing it leaves %d of %d, no majority to vote a failover: every zone must hold fewer than half of the masters: on %d zones use %d (one per zone) or %d masters",
		masters, zones, busiest(masters), masters-busiest(masters), masters, zones, zones, next)
}

// Node is one planned cluster node.
type Node struct {
	// Pod is the pod name, <Name>-<zone letter>-<ordinal>.
	Pod string
	// Host is the pod's DNS name.
	Host string
	// Zone is the topology zone the pod is pinned to.
	Zone string
	// Master is the index of the shard: the node is its master when
	// ReplicaOf is -1.
	Master int
	// ReplicaOf is the master's index for a replica, -1 for a master.
	ReplicaOf int
}

// maxUnavailable is the PDB budget: the nodes of one zone. The plan puts
// at most a minority of masters in any zone and every replica in another
// zone than its master, so losing one zone's nodes keeps a majority of
// masters (failover votes) and a copy of every shard; a budget of one
// would make draining a zone that holds two nodes impossible (the second
// eviction waits for the first pod, which its zone pin keeps Pending).
// The cost: two concurrent drains in different zones may take a master and
// its replica at once, leaving their slots unavailable (not lost: both
// keep their volumes) until one returns.
func maxUnavailable(plan []Node, zones int) int {
	if zones < 2 {
		return 1
	}
	per := map[string]int{}
	most := 1
	for _, nd := range plan {
		per[nd.Zone]++
		most = max(most, per[nd.Zone])
	}
	return most
}

// Plan places Masters × (1 + Replicas) nodes on zones: master i in zone
// i mod Z, its r-th replica in zone (i + r + 1) mod Z. Per zone, masters
// come first, then replicas; the per-zone ordinal follows that order.
func Plan(s *stack.Stack, cfg Config) []Node {
	zones := s.Topology().Zones
	z := len(zones)
	type slot struct{ master, replicaOf int }
	perZone := make([][]slot, z)
	for i := 0; i < cfg.Masters; i++ {
		perZone[i%z] = append(perZone[i%z], slot{i, -1})
	}
	for i := 0; i < cfg.Masters; i++ {
		for r := 0; r < cfg.Replicas; r++ {
			zi := (i + r + 1) % z
			perZone[zi] = append(perZone[zi], slot{i, i})
		}
	}
	var nodes []Node
	for zi, slots := range perZone {
		for ord, sl := range slots {
			pod := fmt.Sprintf("%s-%s-%d", cfg.Name, sts.ZoneLetter(zi), ord)
			nodes = append(nodes, Node{Pod: pod, Host: s.PodHost(pod, cfg.Name+"-headless"), Zone: zones[zi], Master: sl.master, ReplicaOf: sl.replicaOf})
		}
	}
	return nodes
}

// Handle is what dependents wire from.
type Handle struct {
	// Component is the cluster's component, for DependsOn.
	Component *stack.Component
	// Service is the client Service over all ready nodes; a cluster client
	// uses it only to discover the cluster.
	Service string
	// Port is the client port.
	Port int32
	// Nodes are every node's host:port, masters first.
	Nodes []string
	// Password is the Secret key holding the password (requirepass).
	Password stack.SecretKeyRef
}

// Client is the nodes' client port, for a consumer's Uses (network
// policy) next to SeedNodes: a cluster client follows redirections to
// every node.
func (h *Handle) Client() stack.Endpoint { return h.Component.Pods("").Port("client") }

// SeedNodes is the comma-separated node list cluster clients start from
// (ThingsBoard's REDIS_NODES).
func (h *Handle) SeedNodes() string { return strings.Join(h.Nodes, ",") }

// New adds the cluster to s.
func New(s *stack.Stack, cfg Config) (*Handle, error) {
	cfg.Default()
	topo := s.Topology()
	if err := cfg.Validate(len(topo.Zones)); err != nil {
		return nil, err
	}
	if err := topo.Fits("redis", cfg.Pool, cfg.Masters*(1+cfg.Replicas), cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "cache", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	plan := Plan(s, cfg)
	headless := cfg.Name + "-headless"
	secret := c.DeclareSecret(cfg.Name+"-auth", stack.SecretKey{Key: "password", Kind: stack.RandomPassword})
	config := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-config"},
		Data: map[string]string{
			"valkey.conf": serverConfig(cfg),
			"start.sh":    startScript("." + s.ServiceHost(headless)),
			"probe.sh":    probeScript,
			"create.sh":   createScript(plan),
		},
	}
	sel := c.SelectorLabels()
	var zones []string
	for _, nd := range plan {
		zones = append(zones, nd.Zone)
	}
	sets, err := sts.PerZone(topo, zones, func(letter, zone string, n int32) (*appsv1.StatefulSet, error) {
		return zoneSet(s, c, cfg, letter, zone, n, config, secret)
	})
	if err != nil {
		return nil, err
	}
	job, err := createJob(s, c, cfg, config.Name, secret)
	if err != nil {
		return nil, err
	}
	// Nodes gossip on the cluster bus and replicas follow their master
	// (and the preStop hand-over reaches the replica) on the client port;
	// the create Job talks to every node's client port.
	c.Peers("", "client", "bus")
	c.Pods("cluster-create").Uses(c.Pods("").Port("client"))
	c.Add(config,
		sts.Headless(headless, sel, []corev1.ServicePort{sts.Port("client", Port), sts.Port("bus", BusPort)}),
		sts.Client(cfg.Name, sel, []corev1.ServicePort{sts.Port("client", Port)}),
		stack.PDB(cfg.Name, sel, maxUnavailable(plan, len(topo.Zones))),
		job,
	)
	c.Add(sets...)
	var nodes []string
	for _, nd := range plan {
		if nd.ReplicaOf < 0 {
			nodes = append(nodes, fmt.Sprintf("%s:%d", nd.Host, Port))
		}
	}
	for _, nd := range plan {
		if nd.ReplicaOf >= 0 {
			nodes = append(nodes, fmt.Sprintf("%s:%d", nd.Host, Port))
		}
	}
	c.Alert(alerts(c, cfg.Replicas)...)
	return &Handle{Component: c, Service: cfg.Name, Port: Port, Nodes: nodes, Password: secret.Ref("password")}, nil
}

// zoneSet is the StatefulSet of one zone's nodes.
func zoneSet(s *stack.Stack, c *stack.Component, cfg Config, letter, zone string, replicas int32, config *corev1.ConfigMap, secret *stack.SecretSpec) (*appsv1.StatefulSet, error) {
	sel := c.SelectorLabels()
	sel[zoneLabel] = letter
	password := secret.Ref("password")
	server := corev1.Container{
		Name:    "valkey",
		Image:   cfg.Image,
		Command: []string{"/config/start.sh"},
		Env:     append(sts.PodEnv(), password.EnvVar("REDIS_PASSWORD")),
		Ports: []corev1.ContainerPort{
			{Name: "client", ContainerPort: Port},
			{Name: "bus", ContainerPort: BusPort},
		},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  stack.ExecProbe(stack.ProbeTiming{InitialDelaySeconds: 5, PeriodSeconds: 5, TimeoutSeconds: 3, FailureThreshold: 3}, "/config/probe.sh", "ready"),
		LivenessProbe:   stack.ExecProbe(stack.ProbeTiming{InitialDelaySeconds: 15, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 5}, "/config/probe.sh", "alive"),
		Lifecycle:       &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/config/prestop.sh"}}}},
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config", MountPath: "/config"},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "data", MountPath: "/data"},
		},
	}
	exporter := corev1.Container{
		Name:  "exporter",
		Image: cfg.ExporterImage,
		Env: []corev1.EnvVar{
			{Name: "REDIS_ADDR", Value: fmt.Sprintf("redis://127.0.0.1:%d", Port)},
			password.EnvVar("REDIS_PASSWORD"),
		},
		Ports:           []corev1.ContainerPort{{Name: "metrics", ContainerPort: ExporterPort}},
		Resources:       stack.MustLimits("200m", "128Mi").Requirements(),
		ReadinessProbe:  stack.HTTPProbe("/health", "metrics", stack.ProbeTiming{PeriodSeconds: 15, TimeoutSeconds: 5}),
		LivenessProbe:   stack.TCPProbe("metrics", stack.ProbeTiming{InitialDelaySeconds: 10, PeriodSeconds: 30}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
	}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name + "-" + letter, Service: cfg.Name + "-headless", Replicas: replicas, Parallel: true, Selector: sel,
		Placement:      stack.Placement{Pool: cfg.Pool},
		Security:       stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod:    30,
		PodAnnotations: sts.ScrapeAnnotations(ExporterPort, "/metrics"),
		Containers:     []corev1.Container{server, exporter},
		Volumes:        []corev1.Volume{sts.ScriptVolume("config", config.Name), sts.EmptyDir("tmp")},
		Config:         []*corev1.ConfigMap{config},
		Claims:         []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if err := s.Topology().PinZone(&set.Spec.Template.Spec, zone); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	// Several nodes share a zone: spread them over its hosts when it has
	// more than one.
	set.Spec.Template.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				LabelSelector: &metav1.LabelSelector{MatchLabels: c.SelectorLabels()},
				TopologyKey:   stack.HostnameLabel,
			},
		}},
	}
	return set, nil
}

// createJob runs create.sh once the nodes answer.
func createJob(s *stack.Stack, c *stack.Component, cfg Config, configMap string, secret *stack.SecretSpec) (*batchv1.Job, error) {
	job, err := sts.Job(s.Topology(), sts.JobSpec{
		Name: cfg.Name + "-cluster-create", Selector: c.SelectorFor("cluster-create"), Pool: cfg.Pool,
		Security: stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		Container: corev1.Container{
			Name:            "create",
			Image:           cfg.Image,
			Command:         []string{"/config/create.sh"},
			Env:             []corev1.EnvVar{secret.Ref("password").EnvVar("REDIS_PASSWORD")},
			Resources:       stack.MustLimits("200m", "128Mi").Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "config", MountPath: "/config"}},
		},
		Volumes:      []corev1.Volume{sts.ScriptVolume("config", configMap)},
		BackoffLimit: 10, DeadlineSeconds: 1800,
	})
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return job, nil
}
