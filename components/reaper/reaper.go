// Package reaper renders Cassandra Reaper (thelastpickle/cassandra-reaper),
// which repairs every keyspace of the Cassandra cluster on a schedule, in
// segments, so that replicas converge after a node was down longer than
// the hint window and deleted data cannot come back once its tombstones
// are purged (gc_grace_seconds, 10 days by default).
//
// What it reproduces: the "Cassandra-reaper" row of the ThingsBoard article
// "ThingsBoard k8s cluster - minimal design" and its wish that Cassandra
// look after itself. The image's entrypoint (src/server/src/main/docker in
// the Reaper repository at tag 4.2.3) builds its configuration from
// REAPER_* environment variables; everything below cites those files.
//
// Where it differs or what remains:
//   - Authentication is on (REAPER_AUTH_ENABLED, the image's default) with
//     the operator user's password and the JWT signing key from the
//     declared Secret <name>-auth: the image's cassandra-reaper.yml falls
//     back to a published JWT secret when JWT_SECRET is unset.
//   - JMX logs in as the Cassandra component's controlRole
//     (REAPER_JMX_AUTH_USERNAME/PASSWORD, written into the configuration
//     by configure-jmx-credentials.sh), the role nodetool uses.
//   - State is Reaper's "memory" storage, SQLite files since 4.2.0
//     (MemoryStorageFacade: <REAPER_MEMORY_STORAGE_DIRECTORY>/reaper.db),
//     on a small volume: one replica, which is down while its zone is
//     (the volume is zonal); repairs wait, nothing is lost. Storage in
//     Cassandra would survive a zone but needs a CQL role and keyspace.
//   - The cluster is registered by a sidecar through Reaper's REST API
//     (POST /login, then POST /cluster?seedHost=...), every ten minutes,
//     which is idempotent: the image has no spreaper for its
//     register-clusters mode.
//   - Auto-scheduling (REAPER_AUTO_SCHEDULING_ENABLED) creates a schedule
//     for every keyspace but those whose name starts with "system"
//     (ClusterRepairScheduler.keyspaceCandidateForRepair): system_auth and
//     system_distributed are repaired by the Cassandra schema Job when
//     their replication changes.
package reaper

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Image is the pinned Reaper image (4.2.3, 2026-05-19).
const Image = "thelastpickle/cassandra-reaper:4.2.3"

// Ports: the web UI and REST API, and the admin port with /healthcheck
// and /prometheusMetrics (Dockerfile REAPER_SERVER_APP_PORT=8080 and
// REAPER_SERVER_ADMIN_PORT=8081; ReaperApplication.run maps
// /prometheusMetrics on the admin servlet).
const (
	AppPort   = 8080
	AdminPort = 8081
)

// uid is the image's reaper user and group (Dockerfile: addgroup -g 1001,
// adduser -u 1001, USER reaper).
const uid = 1001

// User is the Reaper operator's login name.
const User = "admin"

// Config configures Reaper. Zero fields take the defaults in Default.
type Config struct {
	// Enabled renders Reaper.
	Enabled bool `json:"enabled"`
	// Name names the objects; default "reaper".
	Name string `json:"name"`
	// Image overrides the pinned image.
	Image string `json:"image"`
	// Pool is the node pool Reaper runs on; empty means any node.
	Pool string `json:"pool"`
	// Resources default to 1 CPU / 1 GiB limits.
	Resources stack.Resources `json:"resources"`
	// HeapMiB is the JVM heap (REAPER_HEAP_SIZE); default 512, at most
	// three quarters of the memory limit.
	HeapMiB int `json:"heapMiB"`
	// Storage is the volume of Reaper's state (its SQLite files); default
	// 1Gi on the default class.
	Storage stack.Storage `json:"storage"`
	// DaysBetween is the days between two repairs of a keyspace
	// (REAPER_SCHEDULE_DAYS_BETWEEN), 1 to 8; default 7. A repair must
	// complete within gc_grace_seconds (10 days, Cassandra's default,
	// which ThingsBoard's tables keep) or deleted data may come back; a
	// run takes hours, so at most 8 days.
	DaysBetween int `json:"daysBetween"`
}

// Default fills zero fields with the defaults.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "reaper"
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("1", "1Gi")
	}
	if c.HeapMiB == 0 {
		c.HeapMiB = 512
	}
	if c.Storage.Size.IsZero() {
		c.Storage.Size = resource.MustParse("1Gi")
	}
	if c.DaysBetween == 0 {
		c.DaysBetween = 7
	}
}

// Validate checks the Config as New uses it, with the defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("reaper", c.Name, 40); err != nil {
		return err
	}
	if err := sts.CheckImages("reaper", [2]string{"image", c.Image}); err != nil {
		return err
	}
	if err := c.Resources.Validate("reaper.resources"); err != nil {
		return err
	}
	limit := c.Resources.MemoryLimit.Value() >> 20
	if c.HeapMiB < 128 || int64(c.HeapMiB) > limit*3/4 {
		return fmt.Errorf("reaper: heapMiB %d; must be 128 to %d (three quarters of the %s memory limit)", c.HeapMiB, limit*3/4, c.Resources.MemoryLimit.String())
	}
	if err := c.Storage.Validate("reaper.storage"); err != nil {
		return err
	}
	if c.DaysBetween < 1 || c.DaysBetween > 8 {
		return fmt.Errorf("reaper: daysBetween %d; allowed 1 to 8 (every keyspace must be repaired within gc_grace_seconds, 10 days by default, and a run takes hours)", c.DaysBetween)
	}
	return nil
}

// Handle is what the profile wires from.
type Handle struct {
	// Component is Reaper's component.
	Component *stack.Component
	// Service is the UI's Service, Port its port (kubectl port-forward
	// svc/<Service> 8080, then http://localhost:8080/webui/).
	Service string
	Port    int32
	// Password is the operator user's password (user User).
	Password stack.SecretKeyRef
}

// New adds Reaper for the Cassandra cluster cs.
func New(s *stack.Stack, cs *cassandra.Handle, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cs == nil || cs.Component == nil {
		return nil, fmt.Errorf("reaper: no Cassandra cluster to repair")
	}
	if cfg.Pool != "" {
		if _, err := s.Topology().Pool(cfg.Pool); err != nil {
			return nil, fmt.Errorf("reaper: pool: %w", err)
		}
	}
	if err := s.Topology().Fits("reaper", cfg.Pool, 1, cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "repair", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	auth := c.DeclareSecret(cfg.Name+"-auth",
		stack.SecretKey{Key: "password", Kind: stack.RandomPassword},
		stack.SecretKey{Key: "jwt-secret", Kind: stack.RandomPassword, Length: 64})
	sel := c.SelectorLabels()
	env := []corev1.EnvVar{
		{Name: "REAPER_HEAP_SIZE", Value: fmt.Sprintf("%dM", cfg.HeapMiB)},
		{Name: "REAPER_STORAGE_TYPE", Value: "memory"},
		{Name: "REAPER_MEMORY_STORAGE_DIRECTORY", Value: "/var/lib/cassandra-reaper/storage"},
		{Name: "REAPER_AUTH_ENABLED", Value: "true"},
		{Name: "REAPER_AUTH_USER", Value: User},
		auth.Ref("password").EnvVar("REAPER_AUTH_PASSWORD"),
		auth.Ref("jwt-secret").EnvVar("JWT_SECRET"),
		{Name: "REAPER_JMX_AUTH_USERNAME", Value: cs.JMXUsername},
		cs.JMXPassword.EnvVar("REAPER_JMX_AUTH_PASSWORD"),
		{Name: "REAPER_AUTO_SCHEDULING_ENABLED", Value: "true"},
		{Name: "REAPER_SCHEDULE_DAYS_BETWEEN", Value: fmt.Sprint(cfg.DaysBetween)},
		// Every replica of a segment must answer over JMX before it starts
		// (RepairRunner.nodesReadyForNewRepair with datacenterAvailability
		// ALL, the image's default, kept explicit).
		{Name: "REAPER_DATACENTER_AVAILABILITY", Value: "ALL"},
		// The UI is served from Reaper's own origin: no cross-origin API.
		{Name: "REAPER_ENABLE_CROSS_ORIGIN", Value: "false"},
	}
	server := corev1.Container{
		Name:  "reaper",
		Image: cfg.Image,
		Env:   env,
		Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: AppPort},
			{Name: "admin", ContainerPort: AdminPort},
		},
		Resources:       cfg.Resources.Requirements(),
		StartupProbe:    stack.HTTPProbe("/healthcheck", "admin", stack.ProbeTiming{InitialDelaySeconds: 20, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 30}),
		ReadinessProbe:  stack.HTTPProbe("/healthcheck", "admin", stack.ProbeTiming{PeriodSeconds: 15, TimeoutSeconds: 5, FailureThreshold: 3}),
		LivenessProbe:   stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		// The entrypoint copies and appends to the configuration under
		// /etc/cassandra-reaper/config and the JVM's temporary directory
		// is REAPER_TMP_DIRECTORY (/var/tmp/cassandra-reaper): both
		// writable volumes under the read-only root, and /tmp for the
		// JVM's own files (hsperfdata). The read-only root is not tried
		// against the image here.
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config", MountPath: "/etc/cassandra-reaper/config"},
			{Name: "tmp", MountPath: "/var/tmp/cassandra-reaper"},
			{Name: "jvm-tmp", MountPath: "/tmp"},
			{Name: "data", MountPath: "/var/lib/cassandra-reaper"},
		},
	}
	register := corev1.Container{
		Name:    "register",
		Image:   cfg.Image,
		Command: []string{"bash", "/scripts/register.sh"},
		Env: []corev1.EnvVar{
			{Name: "SEEDS", Value: strings.Join(cs.NodeHosts(), ",")},
			{Name: "REAPER_AUTH_USER", Value: User},
			auth.Ref("password").EnvVar("REAPER_AUTH_PASSWORD"),
		},
		Resources: stack.MustLimits("100m", "64Mi").Requirements(),
		// Ready once the cluster is registered (and while it stays so);
		// alive while the loop runs (it touches its heartbeat every try,
		// and every curl call is bounded in time).
		ReadinessProbe:  stack.ExecProbe(stack.ProbeTiming{PeriodSeconds: 30, TimeoutSeconds: 5, FailureThreshold: 1}, "test", "-f", "/tmp/registered"),
		LivenessProbe:   stack.ExecProbe(stack.ProbeTiming{InitialDelaySeconds: 60, PeriodSeconds: 60, TimeoutSeconds: 5, FailureThreshold: 3}, "bash", "-c", "[ -n \"$(find /tmp/heartbeat -mmin -15)\" ]"),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts"}, {Name: "register-tmp", MountPath: "/tmp"}},
	}
	scripts := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-register"}, Data: map[string]string{"register.sh": registerScript}}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name, Service: cfg.Name + "-headless", Replicas: 1, Selector: sel,
		Placement:      stack.Placement{Pool: cfg.Pool},
		Security:       stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod:    30,
		PodAnnotations: sts.ScrapeAnnotations(AdminPort, "/prometheusMetrics"),
		Containers:     []corev1.Container{server, register},
		Volumes: []corev1.Volume{sts.EmptyDir("config"), sts.EmptyDir("tmp"), sts.EmptyDir("jvm-tmp"), sts.EmptyDir("register-tmp"),
			sts.ScriptVolume("scripts", scripts.Name)},
		Config: []*corev1.ConfigMap{scripts},
		Claims: []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Storage)},
	})
	if err != nil {
		return nil, fmt.Errorf("reaper: %w", err)
	}
	// One replica on a zonal ReadWriteOnce volume: a StatefulSet's
	// rolling update deletes the old pod before it creates the new one,
	// so the two never need the volume at once (a Deployment's surge
	// would).
	c.Uses(cs.JMX())
	c.Add(scripts,
		sts.Headless(cfg.Name+"-headless", sel, []corev1.ServicePort{sts.Port("http", AppPort)}),
		sts.Client(cfg.Name, sel, []corev1.ServicePort{sts.Port("http", AppPort)}),
		// One replica: the budget lets a node drain evict it (Reaper
		// resumes the repair run from its state when it is back).
		stack.PDB(cfg.Name, sel, 1),
		set,
	)
	c.DependsOn(cs.Component)
	c.Alert(alerts(c, cfg)...)
	return &Handle{Component: c, Service: cfg.Name, Port: AppPort, Password: auth.Ref("password")}, nil
}

// registerScript registers the cluster with Reaper and keeps it
// registered: log in (POST /login, AuthLoginResource: form username and
// password, a JSON token back), then POST /cluster?seedHost=...&jmxPort=7199
// (ClusterResource.addOrUpdateCluster; 201 when added, 200 or 204 when
// known) with the token as a Bearer header. Reaper 4.2.3's
// ClusterResource, AuthLoginResource and the Bearer prefix of its JWT
// filter (ReaperApplication) are read in its sources; the image ships
// bash and curl (Dockerfile: apk add bash curl). The password and the
// token go to curl in files (--data-urlencode name@file, -H @file), never
// as arguments.
const registerScript = `#!/bin/bash
# Registers the Cassandra cluster with Reaper, then again every ten minutes (generated by iotstack).
set -uo pipefail
: "${SEEDS:?}" "${REAPER_AUTH_USER:?}"
[ -n "${REAPER_AUTH_PASSWORD:-}" ] || { echo "REAPER_AUTH_PASSWORD is not set" >&2; exit 1; }
URL="${REAPER_URL:-http://127.0.0.1:8080}"
INTERVAL="${REGISTER_INTERVAL:-600}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(umask 077 && printf '%s' "$REAPER_AUTH_PASSWORD" > "$work/password")
register() {
  local token code
  token="$(curl -fsS -m 30 -X POST --data-urlencode "username=${REAPER_AUTH_USER}" --data-urlencode "password@$work/password" "${URL}/login" |
    sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')" || return 1
  [ -n "$token" ] || { echo "login to Reaper returned no token" >&2; return 1; }
  (umask 077 && printf 'Authorization: Bearer %s\n' "$token" > "$work/header")
  code="$(curl -sS -m 120 -o "$work/body" -w '%{http_code}' -X POST -H "@$work/header" "${URL}/cluster?seedHost=${SEEDS}&jmxPort=7199")" || return 1
  case "$code" in
    200|201|204) echo "cluster registered (HTTP ${code})" ;;
    *) echo "registering the cluster failed: HTTP ${code}: $(head -c 300 "$work/body")" >&2; return 1 ;;
  esac
}
if [ -n "${REGISTER_ONCE:-}" ]; then
  register
  exit
fi
while true; do
  touch /tmp/heartbeat
  if register; then
    touch /tmp/registered
    sleep "$INTERVAL"
  else
    rm -f /tmp/registered
    sleep 30
  fi
done
`
