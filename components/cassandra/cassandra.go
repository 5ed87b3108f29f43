// Package cassandra renders an Apache Cassandra cluster from the official
// cassandra image, one rack per zone, with password authentication and
// keyspaces that consumers declare through the handle.
//
// What it reproduces: the cluster of the ThingsBoard article "ThingsBoard k8s
// cluster - minimal design" (Bitnami chart: 3 nodes, cluster "cassandra",
// datacenter "datacenter1", heap 2048 MiB with a 400 MiB young generation, 50
// GiB volumes, 3 CPU / 4 GiB limits, hard anti-affinity, PDB maxUnavailable 1)
// and its fault-tolerance steps: keyspace replication 3 with QUORUM reads and
// writes, then `nodetool repair --full` after the replication change.
//
// Where it differs:
//   - The official image instead of bitnami/cassandra (gone since 2025).
//     The image has no switches for authentication, so a configuration of
//     ours is rendered whole (cassandra.yaml) rather than patched with sed,
//     and an init container copies the image's other configuration files
//     next to it on a writable volume.
//   - One StatefulSet per zone (<name>-a, <name>-b, ...), each pinned to its
//     zone, with GossipingPropertyFileSnitch and the zone as the rack, so
//     the replicas of every token range land in different zones; the first
//     node of each rack is a seed (one per rack).
//   - The schema is a Job, not manual cqlsh: it sets the superuser password from
//     a Secret (replacing cassandra/cassandra on a new cluster), replicates
//     system_auth to every rack, creates or alters each declared keyspace with
//     NetworkTopologyStrategy, and runs a full repair on every node when a
//     replication factor changed: the ThingsBoard article's manual steps,
//     automated and idempotent.
//   - JMX is remote with authentication and an access file: controlRole
//     (nodetool in the probes, in preStop (drain) and in the Job's
//     repairs) and monitorRole (the exporter) have separate passwords
//     (Secret <name>-jmx), so the exporter's container never holds
//     controlRole's. What remains: monitorRole is readwrite (it may invoke
//     MBean operations, though not create or unregister MBeans), because
//     the JDK's file-based access control has no finer grain than
//     read/write and cassandra_exporter 2.3.8 invokes an operation
//     (EndpointSnitchInfo.getDatacenter) on every scrape; read-only, it
//     exports nothing. Narrowing it further needs Cassandra's
//     AuthorizationProxy (per-MBean grants to Cassandra roles, JMX logins
//     against CQL roles) or an in-process exporter; who may connect to
//     7199 at all is the NetworkPolicy's to narrow (the cluster's own pods
//     and the schema Job).
//   - No password on a command line or in a log: nodetool reads its
//     password from a file (-pwf), cqlsh from a credentials file
//     (--credentials) and the ALTER ROLE statement from stdin; the
//     exporter's password is written into its configuration by the init
//     container rather than through the image's sed-based run.sh.
//   - Metrics come from criteo's cassandra_exporter sidecar over JMX.
//   - Backups (Config.Backup, off by default): the ThingsBoard article's
//     "Backup-job" rows, one per zone, as one CronJob per node (with one
//     node a zone, one per zone), staggered so that two zones never back
//     up at once. Its pod runs on the node's host (pod affinity on the
//     pod's name) and mounts the node's data claim read-only (several
//     pods of one node may mount a ReadWriteOnce volume): nodetool flush
//     and snapshot over JMX, rclone uploads the snapshot's files and a
//     SHA-256 MANIFEST, nodetool clearsnapshot, and uploads older than
//     the retention are deleted. Restore is a suspended CronJob per node
//     (kubectl create job --from=cronjob/...) that downloads a complete
//     backup onto the node's volume, checks the MANIFEST and loads each
//     table with nodetool import. What remains: CSI VolumeSnapshots are
//     not used (the upload leaves the cloud's snapshot API out); import
//     needs the node to own the snapshot's tokens, so rebuilding a lost
//     cluster on new nodes (new tokens) takes sstableloader, not scripted
//     here; imported data merges with the table's (truncate first to roll
//     back deletions); and the backup stops when the node's Cassandra pod
//     is not running, because its pod must run on that pod's host.
package cassandra

import (
	"fmt"
	"regexp"
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
	Image         = "cassandra:5.0.5"
	ExporterImage = "criteord/cassandra_exporter:2.3.8"
)

// Ports of a node.
const (
	CQLPort      = 9042
	StoragePort  = 7000
	JMXPort      = 7199
	ExporterPort = 8080
)

// uid is the cassandra user of the official image.
const uid = 999

// rackLabel marks which per-zone StatefulSet (rack) a pod belongs to.
const rackLabel = "cassandra.iotstack.io/rack"

// Config configures the cluster. Zero fields take the defaults in Default.
type Config struct {
	// Name prefixes every object: StatefulSets <Name>-a, <Name>-b, ...,
	// Services <Name> and <Name>-headless. Default "cassandra".
	Name string
	// Nodes is the number of nodes, spread round-robin over the zones.
	// Default 3.
	Nodes int
	// Image and ExporterImage override the pinned images.
	Image, ExporterImage string
	// Pool is the node pool the nodes run on; empty means any node.
	Pool string
	// Resources default to the ThingsBoard article's 3 CPU / 4 GiB limits.
	Resources stack.Resources
	// MaxHeapMiB and NewHeapMiB size the JVM heap; defaults 2048 and 400
	// (the ThingsBoard article's). The heap must stay within three quarters of the
	// memory limit: Cassandra also uses off-heap memory.
	MaxHeapMiB, NewHeapMiB int
	// Data is each node's volume; default 50Gi on the default class.
	Data stack.Storage
	// ClusterName defaults to "cassandra"; Datacenter to "datacenter1".
	ClusterName, Datacenter string
	// NumTokens is num_tokens; default 16, the current recommendation
	// (with allocate_tokens_for_local_replication_factor 3).
	NumTokens int
	// DrainSeconds is the grace period for `nodetool drain` on stop;
	// default 300.
	DrainSeconds int64
	// Backup is the nodes' snapshot backup to the object store, one
	// CronJob per node (per zone with one node a zone); off by default.
	Backup Backup
}

// Default fills zero fields with the defaults.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "cassandra"
	}
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.ExporterImage == "" {
		c.ExporterImage = ExporterImage
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("3", "4Gi")
	}
	if c.MaxHeapMiB == 0 {
		c.MaxHeapMiB = 2048
	}
	if c.NewHeapMiB == 0 {
		c.NewHeapMiB = 400
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("50Gi")
	}
	if c.ClusterName == "" {
		c.ClusterName = "cassandra"
	}
	if c.Datacenter == "" {
		c.Datacenter = "datacenter1"
	}
	if c.NumTokens == 0 {
		c.NumTokens = 16
	}
	if c.DrainSeconds == 0 {
		c.DrainSeconds = 300
	}
	if c.Backup.Enabled {
		c.Backup.Default()
	}
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`)

// Validate checks a defaulted Config.
//
// It checks the configuration as the constructor uses it, with the
// defaults filled in (Default on a copy), so a zero field, which means
// the default, is valid wherever its default is.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("cassandra", c.Name, 30); err != nil {
		return err
	}
	if c.Nodes < 1 || c.Nodes > 100 {
		return fmt.Errorf("cassandra: nodes %d; allowed 1 to 100 (3 for a quorum that survives a zone)", c.Nodes)
	}
	if err := sts.CheckImages("cassandra", [2]string{"image", c.Image}, [2]string{"exporterImage", c.ExporterImage}); err != nil {
		return err
	}
	if err := c.Resources.Validate("cassandra.resources"); err != nil {
		return err
	}
	limitMiB := c.Resources.MemoryLimit.Value() >> 20
	if c.MaxHeapMiB < 256 || int64(c.MaxHeapMiB) > limitMiB*3/4 {
		return fmt.Errorf("cassandra: maxHeapMiB %d; must be 256 to %d (three quarters of the %s memory limit; Cassandra also uses off-heap memory)", c.MaxHeapMiB, limitMiB*3/4, c.Resources.MemoryLimit.String())
	}
	if c.NewHeapMiB < 32 || c.NewHeapMiB >= c.MaxHeapMiB {
		return fmt.Errorf("cassandra: newHeapMiB %d; must be 32 or more and below maxHeapMiB %d", c.NewHeapMiB, c.MaxHeapMiB)
	}
	if err := c.Data.Validate("cassandra.data"); err != nil {
		return err
	}
	if !plainName.MatchString(c.ClusterName) {
		return fmt.Errorf("cassandra: clusterName %q; allowed: letters, digits, '_', '.', '-', up to 48", c.ClusterName)
	}
	if !plainName.MatchString(c.Datacenter) {
		return fmt.Errorf("cassandra: datacenter %q; allowed: letters, digits, '_', '.', '-', up to 48", c.Datacenter)
	}
	if c.NumTokens < 1 || c.NumTokens > 256 {
		return fmt.Errorf("cassandra: numTokens %d; allowed 1 to 256 (16 is recommended)", c.NumTokens)
	}
	if c.DrainSeconds < 30 || c.DrainSeconds > 3600 {
		return fmt.Errorf("cassandra: drainSeconds %d; allowed 30 to 3600", c.DrainSeconds)
	}
	// The store and the zones' stagger are checked in New.
	return c.Backup.check(1)
}

// Node is one planned node.
type Node struct {
	// Pod is <Name>-<rack letter>-<ordinal>; Host its DNS name.
	Pod, Host string
	// Zone is the zone and the rack of the node.
	Zone string
	// Seed is true for the first node of each rack.
	Seed bool
}

// Plan spreads the nodes round-robin over the zones.
func Plan(s *stack.Stack, cfg Config) []Node {
	zones := s.Topology().Zones
	perZone := make([]int, len(zones))
	for i := 0; i < cfg.Nodes; i++ {
		perZone[i%len(zones)]++
	}
	var out []Node
	for zi, n := range perZone {
		for ord := 0; ord < n; ord++ {
			pod := fmt.Sprintf("%s-%s-%d", cfg.Name, sts.ZoneLetter(zi), ord)
			out = append(out, Node{Pod: pod, Host: s.PodHost(pod, cfg.Name+"-headless"), Zone: zones[zi], Seed: ord == 0})
		}
	}
	return out
}

// Handle is what dependents wire from.
type Handle struct {
	// Component is the cluster's component, for DependsOn.
	Component *stack.Component
	// Service is the client Service; Port the CQL port.
	Service string
	Port    int32
	// ContactPoints are every node's host:port.
	ContactPoints []string
	// Datacenter is the local datacenter clients must name.
	Datacenter string
	// Username is the superuser; Password its Secret key.
	Username string
	Password stack.SecretKeyRef
	// Schema is the Job that applies the keyspaces; consumers that need
	// the schema depend on its component.
	Schema *batchv1.Job
	// JMXUsername is the JMX role that may run repairs and snapshots
	// (controlRole); JMXPassword its Secret key. A repair scheduler such
	// as Reaper logs in with them.
	JMXUsername string
	JMXPassword stack.SecretKeyRef
	// ClusterName is the cluster's name as its nodes report it.
	ClusterName string

	cfg       Config
	nodes     []Node
	script    *corev1.ConfigMap
	keyspaces []Keyspace
	backups   []BackupJob
}

// CQL is the nodes' CQL port, for a consumer's Uses (network policy)
// next to ContactPoints: the driver connects to every node.
func (h *Handle) CQL() stack.Endpoint { return h.Component.Pods("").Port("cql") }

// JMX is the nodes' JMX port (7199), for a repair scheduler's Uses.
func (h *Handle) JMX() stack.Endpoint { return h.Component.Pods("").Port("jmx") }

// NodeHosts are every node's DNS name, in node order.
func (h *Handle) NodeHosts() []string {
	var out []string
	for _, n := range h.nodes {
		out = append(out, n.Host)
	}
	return out
}

// ContactPointList is the comma-separated host:port list.
func (h *Handle) ContactPointList() string { return strings.Join(h.ContactPoints, ",") }

// New adds the cluster to s.
func New(s *stack.Stack, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	topo := s.Topology()
	if err := topo.Fits("cassandra", cfg.Pool, cfg.Nodes, cfg.Resources); err != nil {
		return nil, err
	}
	if err := cfg.Backup.Validate(len(topo.Zones)); err != nil {
		return nil, err
	}
	perZone := (cfg.Nodes + len(topo.Zones) - 1) / len(topo.Zones)
	hostsPerZone := 0
	for _, p := range topo.Pools {
		if cfg.Pool == "" || p.Name == cfg.Pool {
			hostsPerZone += p.NodesPerZone
		}
	}
	if cfg.Pool != "" {
		if _, err := topo.Pool(cfg.Pool); err != nil {
			return nil, fmt.Errorf("cassandra: pool: %w", err)
		}
	}
	if perZone > hostsPerZone {
		return nil, fmt.Errorf("cassandra: nodes %d put %d in a zone, which has %d hosts; with one node per host the rest could never be scheduled", cfg.Nodes, perZone, hostsPerZone)
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "database", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	nodes := Plan(s, cfg)
	headless := cfg.Name + "-headless"
	secret := c.DeclareSecret(cfg.Name+"-auth", stack.SecretKey{Key: "password", Kind: stack.RandomPassword})
	jmx := c.DeclareSecret(cfg.Name+"-jmx",
		stack.SecretKey{Key: "control-password", Kind: stack.RandomPassword},
		stack.SecretKey{Key: "monitor-password", Kind: stack.RandomPassword})
	var seeds []string
	for _, n := range nodes {
		if n.Seed {
			seeds = append(seeds, fmt.Sprintf("%s:%d", n.Host, StoragePort))
		}
	}
	config := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-config"},
		Data: map[string]string{
			"cassandra.yaml":   cassandraYAML(cfg, seeds),
			"start.sh":         startScript,
			"probe.sh":         probeScript,
			"exporter.yml":     exporterConfig,
			"jmxremote.access": jmxAccess,
		},
	}
	schema := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-schema"}}
	h := &Handle{
		Component: c, Service: cfg.Name, Port: CQLPort, Datacenter: cfg.Datacenter,
		Username: "cassandra", Password: secret.Ref("password"),
		JMXUsername: jmxControlRole, JMXPassword: jmx.Ref("control-password"), ClusterName: cfg.ClusterName,
		cfg: cfg, nodes: nodes, script: schema,
	}
	for _, n := range nodes {
		h.ContactPoints = append(h.ContactPoints, fmt.Sprintf("%s:%d", n.Host, CQLPort))
	}
	h.render()
	sel := c.SelectorLabels()
	var zones []string
	for _, n := range nodes {
		zones = append(zones, n.Zone)
	}
	sets, err := sts.PerZone(topo, zones, func(letter, zone string, n int32) (*appsv1.StatefulSet, error) {
		return rackSet(s, c, cfg, letter, zone, n, config, jmx)
	})
	if err != nil {
		return nil, err
	}
	job, err := schemaJob(s, c, cfg, schema, secret, jmx)
	if err != nil {
		return nil, err
	}
	h.Schema = job
	h.render()
	// Nodes gossip and stream on the storage port. JMX stays inside each
	// pod (probes, drain and the exporter use 127.0.0.1) but for the
	// schema Job, which runs `nodetool -h <node> repair` on every node
	// after a replication change, and connects over CQL.
	c.Peers("", "intra")
	c.Pods("schema").Uses(c.Pods("").Port("cql"), c.Pods("").Port("jmx"))
	c.Add(config, schema,
		sts.Headless(headless, sel, []corev1.ServicePort{sts.Port("cql", CQLPort), sts.Port("intra", StoragePort), sts.Port("jmx", JMXPort)}),
		sts.Client(cfg.Name, sel, []corev1.ServicePort{sts.Port("cql", CQLPort)}),
		stack.PDB(cfg.Name, sel, 1),
		job,
	)
	c.Add(sets...)
	c.Alert(alerts(c)...)
	if err := h.addBackups(s, c, jmx); err != nil {
		return nil, err
	}
	return h, nil
}

// rackSet is the StatefulSet of one zone's nodes: one rack.
func rackSet(s *stack.Stack, c *stack.Component, cfg Config, letter, zone string, replicas int32, config *corev1.ConfigMap, jmx *stack.SecretSpec) (*appsv1.StatefulSet, error) {
	sel := c.SelectorLabels()
	sel[rackLabel] = letter
	nodetool := func(args ...string) []string { return append([]string{"/scripts/probe.sh"}, args...) }
	server := corev1.Container{
		Name:    "cassandra",
		Image:   cfg.Image,
		Command: []string{"/scripts/start.sh"},
		Env: append(sts.PodEnv(),
			corev1.EnvVar{Name: "RACK", Value: zone},
			corev1.EnvVar{Name: "DATACENTER", Value: cfg.Datacenter},
			corev1.EnvVar{Name: "MAX_HEAP_SIZE", Value: fmt.Sprintf("%dM", cfg.MaxHeapMiB)},
			corev1.EnvVar{Name: "HEAP_NEWSIZE", Value: fmt.Sprintf("%dM", cfg.NewHeapMiB)},
			corev1.EnvVar{Name: "LOCAL_JMX", Value: "no"},
			corev1.EnvVar{Name: "CASSANDRA_LOG_DIR", Value: "/var/log/cassandra"},
			jmx.Ref("control-password").EnvVar("JMX_CONTROL_PASSWORD"),
			jmx.Ref("monitor-password").EnvVar("JMX_MONITOR_PASSWORD"),
		),
		Ports: []corev1.ContainerPort{
			{Name: "cql", ContainerPort: CQLPort},
			{Name: "intra", ContainerPort: StoragePort},
			{Name: "jmx", ContainerPort: JMXPort},
		},
		Resources:       cfg.Resources.Requirements(),
		StartupProbe:    stack.ExecProbe(stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 10, TimeoutSeconds: 30, FailureThreshold: 90}, nodetool("ready")...),
		ReadinessProbe:  stack.ExecProbe(stack.ProbeTiming{PeriodSeconds: 15, TimeoutSeconds: 30, FailureThreshold: 3}, nodetool("ready")...),
		LivenessProbe:   stack.TCPProbe("cql", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		Lifecycle:       &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: nodetool("drain")}}},
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "scripts", MountPath: "/scripts"},
			{Name: "conf", MountPath: "/etc/cassandra"},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "logs", MountPath: "/var/log/cassandra"},
			{Name: "data", MountPath: "/var/lib/cassandra"},
		},
	}
	copyConf := corev1.Container{
		Name:            "copy-config",
		Image:           cfg.Image,
		Command:         []string{"bash", "-c", exporterInit},
		Env:             []corev1.EnvVar{jmx.Ref("monitor-password").EnvVar("JMX_MONITOR_PASSWORD")},
		Resources:       stack.MustLimits("200m", "128Mi").Requirements(),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "scripts", MountPath: "/scripts"},
			{Name: "conf", MountPath: "/conf"},
			{Name: "exporter", MountPath: "/exporter"},
		},
	}
	exporter := corev1.Container{
		Name:  "exporter",
		Image: cfg.ExporterImage,
		Env: []corev1.EnvVar{
			// criteo/cassandra_exporter 2.3.8 docker/run.sh copies
			// /etc/cassandra_exporter/config.yml to /tmp and sets each
			// CASSANDRA_EXPORTER_CONFIG_<key> with sed; the password is
			// already in the file (exporterInit), so none is passed here.
			{Name: "CASSANDRA_EXPORTER_CONFIG_host", Value: fmt.Sprintf("127.0.0.1:%d", JMXPort)},
			{Name: "CASSANDRA_EXPORTER_CONFIG_listenPort", Value: fmt.Sprint(ExporterPort)},
			{Name: "JVM_OPTS", Value: "-Xmx128m"},
		},
		Ports:           []corev1.ContainerPort{{Name: "metrics", ContainerPort: ExporterPort}},
		Resources:       stack.MustLimits("500m", "256Mi").Requirements(),
		ReadinessProbe:  stack.HTTPProbe("/metrics", "metrics", stack.ProbeTiming{InitialDelaySeconds: 60, PeriodSeconds: 60, TimeoutSeconds: 30}),
		LivenessProbe:   stack.TCPProbe("metrics", stack.ProbeTiming{InitialDelaySeconds: 60, PeriodSeconds: 30}),
		SecurityContext: stack.RestrictedContainerSecurityContext(false),
		VolumeMounts:    []corev1.VolumeMount{{Name: "exporter", MountPath: "/etc/cassandra_exporter"}},
	}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name + "-" + letter, Service: cfg.Name + "-headless", Replicas: replicas, Selector: sel,
		Placement:      stack.Placement{Pool: cfg.Pool, OnePerHost: true},
		Security:       stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod:    cfg.DrainSeconds,
		PodAnnotations: sts.ScrapeAnnotations(ExporterPort, "/metrics"),
		InitContainers: []corev1.Container{copyConf},
		Containers:     []corev1.Container{server, exporter},
		Volumes: []corev1.Volume{sts.ScriptVolume("scripts", config.Name), sts.EmptyDir("conf"), sts.EmptyDir("tmp"),
			sts.EmptyDir("logs"), sts.EmptyDir("exporter")},
		Config: []*corev1.ConfigMap{config},
		Claims: []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("cassandra: %w", err)
	}
	if err := s.Topology().PinZone(&set.Spec.Template.Spec, zone); err != nil {
		return nil, fmt.Errorf("cassandra: %w", err)
	}
	// One node per host across racks too: the anti-affinity covers all
	// of the cluster's pods, not only this rack's.
	set.Spec.Template.Spec.Affinity.PodAntiAffinity = stack.HostAntiAffinity(c.SelectorLabels())
	return set, nil
}

// schemaJob runs the schema script once the nodes answer.
func schemaJob(s *stack.Stack, c *stack.Component, cfg Config, schema *corev1.ConfigMap, secret, jmx *stack.SecretSpec) (*batchv1.Job, error) {
	job, err := sts.Job(s.Topology(), sts.JobSpec{
		Name:     cfg.Name + "-schema", // renamed by Handle.render
		Selector: c.SelectorFor("schema"), Pool: cfg.Pool,
		Security: stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		Container: corev1.Container{
			Name:    "schema",
			Image:   cfg.Image,
			Command: []string{"/schema/schema.sh"},
			Env: []corev1.EnvVar{
				secret.Ref("password").EnvVar("CASSANDRA_PASSWORD"),
				jmx.Ref("control-password").EnvVar("JMX_CONTROL_PASSWORD"),
				{Name: "HOME", Value: "/tmp"},
				{Name: "CASSANDRA_LOG_DIR", Value: "/tmp"},
			},
			Resources:       stack.MustLimits("500m", "512Mi").Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "schema", MountPath: "/schema"}, {Name: "tmp", MountPath: "/tmp"}},
		},
		Volumes:      []corev1.Volume{sts.ScriptVolume("schema", schema.Name), sts.EmptyDir("tmp")},
		BackoffLimit: 20, DeadlineSeconds: 7200,
	})
	if err != nil {
		return nil, fmt.Errorf("cassandra: %w", err)
	}
	return job, nil
}
