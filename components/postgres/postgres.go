// Package postgres renders a highly available PostgreSQL cluster:
// Patroni (in Zalando's Spilo image) with the Kubernetes API as its
// consensus store, one instance per zone, a PgBouncer pooler in front, and
// databases and users that consumers declare through the handle.
//
// Why Patroni on the Kubernetes API: it needs no operator and no etcd of
// its own, so it works from plain YAML; it is what the Zalando operator
// runs, maintained, and it prevents split brain by construction. The
// leader holds a lock in an Endpoints object that it must renew every
// loop; a primary that cannot renew it (API unreachable, node partitioned)
// demotes itself when the lock's TTL (30 s) runs out, and only a replica
// that wins the lock promotes. So there is never more than one primary,
// the weakness of repmgr + pgpool (bitnami/charts#21614, #12263, #20998).
//
// How failover behaves: when the primary's pod or zone fails, within about
// TTL + loop_wait (40 s) the healthiest replica within
// maximum_lag_on_failover (32 MiB) takes the lock, promotes, and Patroni
// points the Endpoints behind the read-write Service <name> at it; the
// other replica follows it. The old primary rejoins as a replica (pg_rewind
// is on). The read-only Service <name>-repl selects replicas by the role
// label Patroni keeps on the pods.
//
// The pooler is PgBouncer (transaction pooling) rather than pgpool: it only
// pools, so failover stays Patroni's job and pgpool's own failover logic, the
// source of the instability the ThingsBoard article reports (ce-k8s#22, #23), is
// not in the path; consumers connect to <name>-pooler:5432. Each pooler
// pod has a pgbouncer_exporter sidecar (PoolerExporterImage, port 9127,
// job <name>-pooler) that reads PgBouncer's admin console over loopback
// as the stats user pgbouncer_stats (stats_users: SHOW commands only; its
// password in the declared Secret <name>-pooler-stats): postgres_exporter
// has no PgBouncer support.
//
// RBAC: exactly what Patroni's Kubernetes DCS uses in Endpoints mode —
// endpoints (leader lock, config, sync), pods (role labels), and create on
// services (the <name>-config Service that keeps its Endpoints alive). No
// ConfigMaps or Leases are used, so none are granted, and no wildcards.
//
// Admin surfaces and credentials: Patroni's REST API (:8008) requires
// HTTP basic authentication (user patroni, password in the Secret
// <name>-patroni-api) on every endpoint that changes something
// (switchover, failover, restart, reinitialize, reload, configuration).
// What remains open, and why: its GET endpoints (/liveness and /readiness
// for the kubelet's probes, /patroni and /cluster that the members read
// from each other during a leader race, /config, /history, /metrics)
// answer without credentials, as Patroni designs them; they show roles,
// lag and PostgreSQL settings, no credential. Who may connect to :8008 at
// all is the NetworkPolicy's to narrow (the members of the cluster only).
// The password reaches Patroni through SPILO_CONFIGURATION with a $(VAR)
// reference the kubelet expands, because Spilo clears PATRONI_* variables
// before starting Patroni (see restAPIPasswordVar).
//
// No password in a log or on a command line: the databases Job sets each
// user's password with psql's \password, which computes the SCRAM-SHA-256
// verifier in the Job and reads the password from stdin, in a session
// whose statement logging is off (see databasesScript); the server's logs
// (Spilo: log_statement ddl, csvlog) never see a password, nor does the
// Job's output. The pooler writes its user list with shell builtins into
// a 0600 file. What remains: the superuser password is in the Job's and
// the exporter's environment (readable by whoever may exec into the pod).
//
// Backups (Config.Backup, off by default): Spilo's WAL-G archives WAL
// and takes scheduled base backups to backup.store, a restore drill
// CronJob restores the newest one every day, and four alert rules watch
// archiving and the drill (backup.go, drill.go, backup_alerts.go).
// Config.Restore bootstraps the cluster as a point-in-time clone. What
// remains, and why: a store role (EKS IRSA) is refused, because the
// WAL-G of Spilo 4.0-p3 cannot use it (wal-g/wal-g#1810); the drill and
// Spilo's own backup path have not run here (no container runtime, WAL-G
// not obtainable): the same steps ran with barman-cloud against a real
// S3 server and PostgreSQL 15.
//
// What it reproduces from the ThingsBoard article "ThingsBoard k8s cluster -
// minimal design": 3 instances with 3 CPU / 4 GiB, 30 GiB volumes,
// max_connections 250, its tuning (synchronous_commit off, shared_buffers 1 GB,
// work_mem 32 MB, maintenance_work_mem 320 MB, huge_pages try,
// effective_cache_size 2 GB), a 1 CPU / 1 GiB pooler, hard anti-affinity and PDB
// maxUnavailable 1; a postgres_exporter sidecar takes the place of the chart's
// metrics container.
package postgres

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Default images, pinned.
const (
	Image         = "ghcr.io/zalando/spilo-17:4.0-p3"
	PoolerImage   = "ghcr.io/cloudnative-pg/pgbouncer:1.25.1"
	ExporterImage = "quay.io/prometheuscommunity/postgres-exporter:v0.17.1"
	// PoolerExporterImage is prometheus-community/pgbouncer_exporter
	// v0.12.1 (VERSION; Makefile DOCKER_REPO prometheuscommunity,
	// DOCKER_IMAGE_NAME pgbouncer-exporter; .github/workflows/ci.yml
	// pushes to quay.io/prometheuscommunity; Dockerfile USER nobody,
	// EXPOSE 9127; pgbouncer_exporter.go: --pgBouncer.connectionString,
	// env PGBOUNCER_EXPORTER_CONNECTION_STRING, opened with lib/pq).
	PoolerExporterImage = "quay.io/prometheuscommunity/pgbouncer-exporter:v0.12.1"
	// ClientImage runs the databases Job (psql).
	ClientImage = "postgres:17.6"
)

// Ports.
const (
	Port         = 5432
	PatroniPort  = 8008
	ExporterPort = 9187
	// PoolerExporterPort serves pgbouncer_exporter's /metrics in each
	// pooler pod.
	PoolerExporterPort = 9127
)

// Users and groups of the images: postgres in Spilo, pgbouncer in the
// CloudNativePG image.
const (
	spiloUID, spiloGID = 101, 103
	poolerUID          = 998
)

// roleLabel is where Patroni writes each pod's role; clusterLabel carries
// the Patroni scope.
const (
	roleLabel    = "spilo-role"
	clusterLabel = "postgres.iotstack.io/cluster"
)

// Tuning is the PostgreSQL configuration the ThingsBoard article overrides.
type Tuning struct {
	// SynchronousCommit is synchronous_commit; default "off" (the ThingsBoard
	// article's: a crash may lose the last transactions, never corrupt).
	SynchronousCommit string
	// SharedBuffers, WorkMem, MaintenanceWorkMem and EffectiveCacheSize
	// default to 1GB, 32MB, 320MB and 2GB.
	SharedBuffers, WorkMem, MaintenanceWorkMem, EffectiveCacheSize string
	// HugePages is huge_pages: try (default), on or off.
	HugePages string
	// MaxConnections is max_connections; default 250.
	MaxConnections int
}

// Config configures the cluster. Zero fields take the defaults in Default.
type Config struct {
	// Name is the Patroni scope and the prefix of every object: the
	// StatefulSet and read-write Service <Name>, <Name>-repl (read-only),
	// <Name>-pooler. Default "postgres".
	Name string
	// Instances is the number of PostgreSQL instances; default 3. One
	// works; HA needs 3 (a primary and a replica to promote in each of two
	// other zones).
	Instances int32
	// Image, PoolerImage, ExporterImage, PoolerExporterImage and
	// ClientImage override the pins.
	Image, PoolerImage, ExporterImage, PoolerExporterImage, ClientImage string
	// Pool is the node pool; empty means any node.
	Pool string
	// Resources default to the ThingsBoard article's 3 CPU / 4 GiB;
	// PoolerResources to 1 CPU / 1 GiB.
	Resources, PoolerResources stack.Resources
	// PoolerReplicas is the number of PgBouncer pods; default 2, in
	// different zones, so losing a zone never loses the pooler.
	PoolerReplicas int32
	// PoolSize is PgBouncer's default_pool_size: server connections per
	// database and user; default 40.
	PoolSize int
	// MaxClientConnections is PgBouncer's max_client_conn; default 1000.
	MaxClientConnections int
	// Data is each instance's volume; default 30Gi on the default class.
	Data stack.Storage
	// Tuning is the ThingsBoard article's PostgreSQL tuning.
	Tuning Tuning
	// Backup is continuous WAL archiving and scheduled base backups to
	// the stack's object store (backup.store) with Spilo's WAL-G, and a
	// scheduled restore drill; off by default.
	Backup Backup
	// Restore builds the cluster as a point-in-time clone of a backup
	// (Spilo's CLONE_WITH_WALE) when Patroni bootstraps it; off by
	// default.
	Restore Restore
}

// Default fills zero fields with the defaults.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "postgres"
	}
	if c.Instances == 0 {
		c.Instances = 3
	}
	for _, d := range []struct {
		v   *string
		def string
	}{
		{&c.Image, Image}, {&c.PoolerImage, PoolerImage}, {&c.ExporterImage, ExporterImage}, {&c.PoolerExporterImage, PoolerExporterImage}, {&c.ClientImage, ClientImage},
		{&c.Tuning.SynchronousCommit, "off"}, {&c.Tuning.SharedBuffers, "1GB"}, {&c.Tuning.WorkMem, "32MB"},
		{&c.Tuning.MaintenanceWorkMem, "320MB"}, {&c.Tuning.EffectiveCacheSize, "2GB"}, {&c.Tuning.HugePages, "try"},
	} {
		if *d.v == "" {
			*d.v = d.def
		}
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("3", "4Gi")
	}
	if c.PoolerResources.IsZero() {
		c.PoolerResources = stack.MustLimits("1", "1Gi")
	}
	if c.PoolerReplicas == 0 {
		c.PoolerReplicas = 2
	}
	if c.PoolSize == 0 {
		c.PoolSize = 40
	}
	if c.MaxClientConnections == 0 {
		c.MaxClientConnections = 1000
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("30Gi")
	}
	if c.Tuning.MaxConnections == 0 {
		c.Tuning.MaxConnections = 250
	}
	c.Backup.defaults()
}

// reservedConnections are kept out of the pooler's reach: superuser
// reserve, replication, Patroni, the exporter and the databases Job.
const reservedConnections = 20

// Validate checks a defaulted Config.
//
// It checks the configuration as the constructor uses it, with the
// defaults filled in (Default on a copy), so a zero field, which means
// the default, is valid wherever its default is.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("postgres", c.Name, 30); err != nil {
		return err
	}
	if c.Instances < 1 || c.Instances > 9 {
		return fmt.Errorf("postgres: instances %d; allowed 1 to 9 (3 for HA: a primary and a replica to promote in each of two other zones)", c.Instances)
	}
	if c.PoolerReplicas < 1 || c.PoolerReplicas > 20 {
		return fmt.Errorf("postgres: poolerReplicas %d; allowed 1 to 20", c.PoolerReplicas)
	}
	if err := c.Resources.Validate("postgres.resources"); err != nil {
		return err
	}
	if err := c.PoolerResources.Validate("postgres.poolerResources"); err != nil {
		return err
	}
	if err := c.Data.Validate("postgres.data"); err != nil {
		return err
	}
	t := c.Tuning
	if t.MaxConnections < reservedConnections+10 || t.MaxConnections > 10000 {
		return fmt.Errorf("postgres: tuning.maxConnections %d; allowed %d to 10000", t.MaxConnections, reservedConnections+10)
	}
	switch t.SynchronousCommit {
	case "on", "off", "local", "remote_write", "remote_apply":
	default:
		return fmt.Errorf("postgres: tuning.synchronousCommit %q; allowed on, off, local, remote_write, remote_apply", t.SynchronousCommit)
	}
	switch t.HugePages {
	case "try", "on", "off":
	default:
		return fmt.Errorf("postgres: tuning.hugePages %q; allowed try, on, off", t.HugePages)
	}
	// Resources.Validate bounds the limit by stack.MaxMemory, so the
	// arithmetic below cannot overflow.
	limit := c.Resources.MemoryLimit.Value()
	lim := c.Resources.MemoryLimit.String()
	for _, m := range []struct {
		field, v string
		most     int64  // the most the container's memory allows
		why      string // what the bound is
		pg       int64  // PostgreSQL's own maximum
	}{
		{"sharedBuffers", t.SharedBuffers, limit / 2, "half the " + lim + " memory limit (the rest is for connections, work_mem and the page cache)", pgMaxBlocks / 2 * pgBlock},
		{"workMem", t.WorkMem, limit / 4, "a quarter of the " + lim + " memory limit (one query may use it several times over, and every connection may use it)", pgMaxKilobytes << 10},
		{"maintenanceWorkMem", t.MaintenanceWorkMem, limit / 2, "half the " + lim + " memory limit (vacuum and index builds use it next to shared buffers)", pgMaxKilobytes << 10},
		{"effectiveCacheSize", t.EffectiveCacheSize, limit, "the " + lim + " memory limit (the page cache of the container's files counts against it)", pgMaxBlocks * pgBlock},
	} {
		n, ok := parseMemory(m.v)
		if !ok {
			return fmt.Errorf("postgres: tuning.%s %q; use a PostgreSQL size such as 512MB or 1GB (a positive whole number of kB, MB, GB or TB)", m.field, m.v)
		}
		if n > m.pg {
			return fmt.Errorf("postgres: tuning.%s %s; PostgreSQL allows at most %dMB", m.field, m.v, m.pg>>20)
		}
		if n > m.most {
			return fmt.Errorf("postgres: tuning.%s %s; allowed at most %s: %dMB", m.field, m.v, m.why, m.most>>20)
		}
	}
	if c.PoolSize < 1 || c.PoolSize > t.MaxConnections-reservedConnections {
		return fmt.Errorf("postgres: poolSize %d; must be 1 to %d (maxConnections %d minus %d reserved)", c.PoolSize, t.MaxConnections-reservedConnections, t.MaxConnections, reservedConnections)
	}
	if c.MaxClientConnections < 1 || c.MaxClientConnections > 100000 {
		return fmt.Errorf("postgres: maxClientConnections %d; allowed 1 to 100000", c.MaxClientConnections)
	}
	if err := sts.CheckImages("postgres", [2]string{"image", c.Image}, [2]string{"poolerImage", c.PoolerImage},
		[2]string{"exporterImage", c.ExporterImage}, [2]string{"poolerExporterImage", c.PoolerExporterImage}, [2]string{"clientImage", c.ClientImage}); err != nil {
		return err
	}
	return c.validateBackup()
}

// PostgreSQL's bounds on the memory settings (src/backend/utils/misc/guc_tables.c
// and src/include/utils/guc.h, REL_17_STABLE): work_mem and
// maintenance_work_mem at most MAX_KILOBYTES (INT_MAX kB on 64-bit
// builds), effective_cache_size at most INT_MAX blocks and
// shared_buffers at most INT_MAX / 2 blocks of BLCKSZ (8 kB by default).
const (
	pgMaxKilobytes = int64(math.MaxInt32)
	pgMaxBlocks    = int64(math.MaxInt32)
	pgBlock        = int64(8 << 10)
)

// parseMemory reads a PostgreSQL size: a positive whole number with kB,
// MB, GB or TB. A size that does not fit an int64 is refused.
func parseMemory(s string) (int64, bool) {
	units := map[string]int64{"kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
	for u, mult := range units {
		if num, ok := strings.CutSuffix(s, u); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n <= 0 || strconv.FormatInt(n, 10) != num || n > math.MaxInt64/mult {
				return 0, false
			}
			return n * mult, true
		}
	}
	return 0, false
}

// Handle is what dependents wire from.
type Handle struct {
	// Component is the cluster's component, for DependsOn.
	Component *stack.Component
	// Primary is the read-write Service (always the current primary);
	// Replicas the read-only one; Pooler the PgBouncer Service consumers
	// use. All on Port.
	Primary, Replicas, Pooler string
	Port                      int32
	// Superuser's password, for administration.
	SuperuserPassword stack.SecretKeyRef

	cfg       Config
	stack     *stack.Stack
	component *stack.Component
	script    *corev1.ConfigMap
	job       *batchv1.Job
	pooler    *appsv1.Deployment
	// poolerStats is the stats user's password (Secret <name>-pooler-stats).
	poolerStats stack.SecretKeyRef
	databases   []Database
}

// PrimaryHost is the read-write Service's DNS name, for clients that need
// session features a transaction pooler cannot give (migrations, EJBCA).
func (h *Handle) PrimaryHost() string { return h.stack.ServiceHost(h.Primary) }

// PoolerHost is the pooler's DNS name.
func (h *Handle) PoolerHost() string { return h.stack.ServiceHost(h.Pooler) }

// PoolerEndpoint is PgBouncer's port, for a consumer's Uses (network
// policy) next to PoolerHost or a Database's Host.
func (h *Handle) PoolerEndpoint() stack.Endpoint { return h.Component.Pods("pooler").Port("pgbouncer") }

// PrimaryEndpoint is the PostgreSQL port of the instances, for a
// consumer's Uses next to PrimaryHost (the read-write Service's endpoint
// is whichever instance is primary, so every instance admits it).
func (h *Handle) PrimaryEndpoint() stack.Endpoint { return h.Component.Pods("").Port("postgresql") }

// New adds the cluster to s.
func New(s *stack.Stack, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkStore(); err != nil {
		return nil, err
	}
	if err := sts.HostsFit(s.Topology(), "postgres", cfg.Pool, cfg.Instances); err != nil {
		return nil, err
	}
	if err := s.Topology().Fits("postgres", cfg.Pool, int(cfg.Instances), cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "database", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	s.RuntimeLabel(roleLabel, "Patroni labels each PostgreSQL pod with its role")
	secret := c.DeclareSecret(cfg.Name+"-auth",
		stack.SecretKey{Key: "superuser-password", Kind: stack.RandomPassword},
		stack.SecretKey{Key: "replication-password", Kind: stack.RandomPassword},
		stack.SecretKey{Key: "admin-password", Kind: stack.RandomPassword})
	api := c.DeclareSecret(cfg.Name+"-patroni-api", stack.SecretKey{Key: "password", Kind: stack.RandomPassword})
	sel := c.SelectorLabels()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name}, AutomountServiceAccountToken: ptr.To(false)}
	role, binding := rbac(cfg.Name)
	var creds *stack.SecretSpec
	if cfg.Backup.Enabled || cfg.Restore.Enabled {
		creds = cfg.Backup.Store.Credentials(c, cfg.Name)
	}
	set, err := instances(s, c, cfg, secret, api, sa.Name, backupEnv(cfg, s.Namespace(), creds))
	if err != nil {
		return nil, err
	}
	h := &Handle{
		Component: c, Primary: cfg.Name, Replicas: cfg.Name + "-repl", Pooler: cfg.Name + "-pooler", Port: Port,
		SuperuserPassword: secret.Ref("superuser-password"),
		cfg:               cfg, stack: s, component: c,
		script: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-databases"}},
	}
	h.poolerStats = c.DeclareSecret(cfg.Name+"-pooler-stats", stack.SecretKey{Key: "password", Kind: stack.RandomPassword}).Ref("password")
	h.pooler, err = h.poolerDeployment()
	if err != nil {
		return nil, err
	}
	h.job, err = h.databasesJob()
	if err != nil {
		return nil, err
	}
	h.render()
	port := sts.Port("postgresql", Port)
	primary := &corev1.Service{
		// No selector: Patroni keeps this Service's Endpoints on the
		// primary, so it follows every failover.
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Name: "postgresql", Port: Port, TargetPort: intstr.FromInt32(Port)}}},
	}
	replicaSel := c.SelectorLabels()
	replicaSel[roleLabel] = "replica"
	// Instances replicate from the primary on the PostgreSQL port and
	// ask each other's Patroni REST API for their state during a leader
	// race (patroni/ha.py, Ha.fetch_node_status: GET member.api_url).
	// The pooler and the databases Job connect to the primary.
	c.Peers("", "postgresql", "patroni")
	c.Pods("pooler").Uses(h.PrimaryEndpoint())
	c.Pods("databases").Uses(h.PrimaryEndpoint())
	poolerSel := c.SelectorFor("pooler")
	c.Add(sa, role, binding, h.script,
		sts.Headless(cfg.Name+"-headless", sel, []corev1.ServicePort{port, sts.Port("patroni", PatroniPort)}),
		primary,
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: h.Replicas}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: replicaSel, Ports: []corev1.ServicePort{port}}},
		sts.Client(h.Pooler, poolerSel, []corev1.ServicePort{sts.Port("pgbouncer", Port)}),
		stack.PDB(cfg.Name, sel, 1),
		stack.PDB(h.Pooler, poolerSel, 1),
		set, h.pooler, h.job,
	)
	c.Alert(alerts(c, cfg.Instances)...)
	if cfg.Backup.Enabled {
		if err := addDrill(s, c, cfg, creds); err != nil {
			return nil, err
		}
		c.Alert(backupAlerts(c, cfg)...)
	}
	return h, nil
}

// rbac is the Role Patroni's Kubernetes DCS needs in Endpoints mode, and
// its binding to the instances' ServiceAccount.
func rbac(name string) (*rbacv1.Role, *rbacv1.RoleBinding) {
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-patroni"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"endpoints"}, Verbs: []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "patch", "update", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"create"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-patroni"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name}},
	}
	return role, binding
}

// instances is the StatefulSet of Spilo pods, one per zone and host.
func instances(s *stack.Stack, c *stack.Component, cfg Config, secret, api *stack.SecretSpec, serviceAccount string, backupEnv []corev1.EnvVar) (*appsv1.StatefulSet, error) {
	sel := c.SelectorLabels()
	env := append(sts.PodEnv(),
		corev1.EnvVar{Name: "SCOPE", Value: cfg.Name},
		corev1.EnvVar{Name: "PGROOT", Value: "/home/postgres/pgdata/pgroot"},
		corev1.EnvVar{Name: "PGVERSION", Value: pgMajor},
		corev1.EnvVar{Name: "DCS_ENABLE_KUBERNETES_API", Value: "true"},
		corev1.EnvVar{Name: "KUBERNETES_ROLE_LABEL", Value: roleLabel},
		corev1.EnvVar{Name: "KUBERNETES_SCOPE_LABEL", Value: clusterLabel},
		corev1.EnvVar{Name: "KUBERNETES_LABELS", Value: fmt.Sprintf(`{"%s":"postgres","%s":"%s"}`, stack.LabelName, stack.LabelInstance, s.Name())},
		corev1.EnvVar{Name: "ALLOW_NOSSL", Value: "true"},
		corev1.EnvVar{Name: "PGUSER_SUPERUSER", Value: "postgres"},
		secret.Ref("superuser-password").EnvVar("PGPASSWORD_SUPERUSER"),
		corev1.EnvVar{Name: "PGUSER_STANDBY", Value: "standby"},
		secret.Ref("replication-password").EnvVar("PGPASSWORD_STANDBY"),
		corev1.EnvVar{Name: "PGUSER_ADMIN", Value: "admin"},
		secret.Ref("admin-password").EnvVar("PGPASSWORD_ADMIN"),
		// The REST API password is referenced, not written, in
		// SPILO_CONFIGURATION: the kubelet expands $(RESTAPI_PASSWORD)
		// from the variable above it, so neither dist nor the
		// StatefulSet holds the value (see restAPIAuthentication).
		api.Ref("password").EnvVar(restAPIPasswordVar),
		corev1.EnvVar{Name: "SPILO_CONFIGURATION", Value: spiloConfiguration(cfg) + restAPIAuthentication()},
	)
	env = append(env, backupEnv...)
	server := corev1.Container{
		Name:  "postgres",
		Image: cfg.Image,
		Env:   env,
		Ports: []corev1.ContainerPort{
			{Name: "postgresql", ContainerPort: Port},
			{Name: "patroni", ContainerPort: PatroniPort},
		},
		Resources: cfg.Resources.Requirements(),
		// Patroni's own health endpoints: /readiness is 200 when PostgreSQL
		// runs and (on a replica) replicates; /liveness while Patroni's
		// loop is alive.
		StartupProbe:    stack.HTTPProbe("/liveness", "patroni", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 60}),
		ReadinessProbe:  stack.HTTPProbe("/readiness", "patroni", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3}),
		LivenessProbe:   stack.HTTPProbe("/liveness", "patroni", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(false), // Spilo writes its configuration under /home/postgres and /run
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/home/postgres/pgdata"},
			{Name: "dshm", MountPath: "/dev/shm"},
		},
	}
	exporter := corev1.Container{
		Name:  "exporter",
		Image: cfg.ExporterImage,
		Env: []corev1.EnvVar{
			{Name: "DATA_SOURCE_URI", Value: fmt.Sprintf("127.0.0.1:%d/postgres?sslmode=disable", Port)},
			{Name: "DATA_SOURCE_USER", Value: "postgres"},
			secret.Ref("superuser-password").EnvVar("DATA_SOURCE_PASS"),
		},
		Ports:           []corev1.ContainerPort{{Name: "metrics", ContainerPort: ExporterPort}},
		Resources:       stack.MustLimits("200m", "128Mi").Requirements(),
		ReadinessProbe:  stack.HTTPProbe("/metrics", "metrics", stack.ProbeTiming{PeriodSeconds: 30, TimeoutSeconds: 10}),
		LivenessProbe:   stack.TCPProbe("metrics", stack.ProbeTiming{InitialDelaySeconds: 10, PeriodSeconds: 30}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
	}
	shm := corev1.Volume{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("256Mi"))}}}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name, Service: cfg.Name + "-headless", Replicas: cfg.Instances, Parallel: true, Selector: sel,
		Placement:      stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true},
		Security:       stack.PodSecurity{UID: spiloUID, GID: spiloGID, FSGroup: spiloGID},
		GracePeriod:    60, // Patroni shuts PostgreSQL down fast and, on the primary, releases the lock
		PodAnnotations: sts.ScrapeAnnotations(ExporterPort, "/metrics"),
		Containers:     []corev1.Container{server, exporter},
		Volumes:        []corev1.Volume{shm},
		Claims:         []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	set.Spec.Template.Labels[clusterLabel] = cfg.Name
	spec := &set.Spec.Template.Spec
	spec.ServiceAccountName = serviceAccount
	spec.AutomountServiceAccountToken = ptr.To(true) // Patroni talks to the API
	return set, nil
}
