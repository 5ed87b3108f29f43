// Package locust renders dojot's own MQTT load generator, the Locust test
// of connector/mqtt/locust in dojot/dojot at v0.5.0, as the 100k
// environment's load test: a separately applied part, so that applying
// dojot never starts load.
//
// What it reproduces: certificates issued by x509-identity-mgmt through
// the API gateway and kept in the generator's Redis (the tool's
// generate_certs "cert --devices N"), a Locust master with the Locust
// exporter beside it (containersol/locust_exporter on 9646, as the tool's
// docker-compose-master.yml runs it), and one worker ("slave") per core
// on a client node pool, every client an MQTTS device that publishes with
// QoS 1 to <tenant>:<id>/attrs every 29.5-30 s and is subscribed to its
// /config topic (main.py, src/config.py, src/mqtt_locust/mqtt_client.py).
//
// Where it differs: the published run copied the certificate files to
// each generator machine by hand; here each worker's init container
// writes them from Redis into its own emptyDir (with a script of ours:
// the tool's "redis --export" logs in to /auth first, and Kong limits
// /auth to 5 requests a minute). The master serves its web UI so that
// the exporter can read it (locust 0.12.2 allows --run-time only with
// --no-web, which turns the UI off), so a sidecar starts the swarm
// through the UI's /swarm once every worker has joined and stops it with
// /stop after the configured time; every Job carries an
// activeDeadlineSeconds that bounds the whole test. Redis keeps the
// certificates in memory only (an emptyDir): a restarted Redis pod means
// issuing them again.
package locust

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Images. Image is the tag dojot's compose files pin at v0.5.0
// (connector/mqtt/locust/Docker/docker-compose-master.yml and
// docker-compose-slave.yml: dojot/locust:v0.5.0-alpha.4, the dojot
// version of the guide's 100k environment); ExporterImage and RedisImage
// are the ones docker-compose-master.yml runs beside the master.
const (
	Image         = "dojot/locust:v0.5.0-alpha.4"
	ExporterImage = "containersol/locust_exporter:v0.3.0"
	RedisImage    = "redis:5.0.5-alpine3.10"
)

// Ports: Locust 0.12.2's web UI and master port (locust/main.py:
// --web-port 8089, --master-bind-port 5557; the master binds one ZeroMQ
// ROUTER socket, locust/rpc/zmqrpc.py), the exporter's listen address
// (locust_exporter v0.3.0 main.go: --web.listen-address ":9646", metrics
// at /metrics) and Redis's.
const (
	WebPort      = 8089
	MasterPort   = 5557
	ExporterPort = 9646
	RedisPort    = 6379
)

// EphemeralPorts is the size of Linux's default local port range,
// net.ipv4.ip_local_port_range 32768-60999 (net/ipv4/af_inet.c,
// inet_init_net), inclusive: 28,232 ports. Every connection of a worker
// pod goes from the pod's one address to the same broker address and
// port, so it needs a local port of its own: a pod holds at most this
// many clients. The tool's README raises the range to 1024-65535 on its
// generator machines; the pods here keep the default, which one worker
// per core never approaches (100,000 clients over 45 workers is 2,223).
const EphemeralPorts = 60999 - 32768 + 1

// uid is the non-root user the containers run as. UNVERIFIED: dojot's
// locust image sets no USER (its Dockerfile at v0.5.0 runs as root); the
// tool writes only under CERT_DIR, an emptyDir here, and Python skips
// the bytecode cache it cannot write, so any uid should do; not run here.
const uid = 10001

// Config configures the load test. Zero fields take the defaults, which
// are the published 100k run (dojot docs v0.5.0,
// load-testing-dojot-platform.rst): 100,000 clients on five 9-CPU / 14 GB
// machines with one worker per core.
type Config struct {
	// Clients is the number of simulated devices, each with a certificate
	// of its own; default 100000.
	Clients int
	// Workers is the number of Locust workers (one per core of the client
	// pool); default 45.
	Workers int32
	// HatchRate is the clients started per second over all workers;
	// default 100 (ours: the tool's examples use 10, which takes almost
	// three hours to connect 100,000 clients).
	HatchRate int
	// DurationSeconds is how long the full load runs once every client is
	// started; default 3600.
	DurationSeconds int
	// CertificatesSeconds bounds the certificate Job (issuing is the
	// bottleneck the published run reports); default 21600 (6 h, ours).
	CertificatesSeconds int
	// CertificateProcesses is the generate_certs processes; default 4.
	CertificateProcesses int
	// Host and Port are where the clients connect: the load balancer's
	// MQTTS listener (required; the profile passes its domain and 8883).
	Host string
	Port int32
	// Tenant is the dojot tenant of the devices; default admin.
	Tenant string
	// APIURL is dojot's API gateway (Kong) the certificates are requested
	// through (required): /auth and /x509/v1/certificates.
	APIURL string
	// APIGateway is the gateway's endpoint, for the network policy; zero
	// when dojot runs elsewhere.
	APIGateway stack.Endpoint
	// CredentialsSecret names the Secret with keys username and password
	// of a dojot user the certificate Job logs in as; default
	// "dojot-loadtest-user", not generated.
	CredentialsSecret string
	// Pool is the client node pool; default "client".
	Pool string
	// Image, ExporterImage and RedisImage override the pinned images.
	Image, ExporterImage, RedisImage string
	// WorkerResources default to 1 CPU / 1 GiB (one worker per core);
	// MasterResources to 1 CPU / 1 GiB; RedisResources to 1 CPU / 1536 MiB
	// (100,000 keys and certificates, about 0.5 GB); CertResources to 4
	// CPU / 2 GiB. All ours.
	WorkerResources, MasterResources, RedisResources, CertResources stack.Resources
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Clients == 0 {
		c.Clients = 100000
	}
	if c.Workers == 0 {
		c.Workers = 45
	}
	if c.HatchRate == 0 {
		c.HatchRate = 100
	}
	if c.DurationSeconds == 0 {
		c.DurationSeconds = 3600
	}
	if c.CertificatesSeconds == 0 {
		c.CertificatesSeconds = 21600
	}
	if c.CertificateProcesses == 0 {
		c.CertificateProcesses = 4
	}
	if c.Port == 0 {
		c.Port = 8883
	}
	if c.Tenant == "" {
		c.Tenant = "admin"
	}
	if c.CredentialsSecret == "" {
		c.CredentialsSecret = "dojot-loadtest-user"
	}
	if c.Pool == "" {
		c.Pool = "client"
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.ExporterImage == "" {
		c.ExporterImage = ExporterImage
	}
	if c.RedisImage == "" {
		c.RedisImage = RedisImage
	}
	if c.WorkerResources.IsZero() {
		c.WorkerResources = stack.MustLimits("1", "1Gi")
	}
	if c.MasterResources.IsZero() {
		c.MasterResources = stack.MustLimits("1", "1Gi")
	}
	if c.RedisResources.IsZero() {
		c.RedisResources = stack.MustLimits("1", "1536Mi")
	}
	if c.CertResources.IsZero() {
		c.CertResources = stack.MustLimits("4", "2Gi")
	}
}

// PerWorker is the clients each worker runs, rounded up.
func (c Config) PerWorker() int {
	if c.Workers < 1 {
		return c.Clients
	}
	return (c.Clients + int(c.Workers) - 1) / int(c.Workers)
}

// RampSeconds is the time to start every client at HatchRate, rounded up.
func (c Config) RampSeconds() int {
	if c.HatchRate < 1 {
		return 0
	}
	return (c.Clients + c.HatchRate - 1) / c.HatchRate
}

// DeadlineSeconds is the activeDeadlineSeconds of the master and worker
// Jobs: the certificates' bound, the ramp, the full load and ten minutes
// for the workers to join and to stop.
func (c Config) DeadlineSeconds() int64 {
	return int64(c.CertificatesSeconds + c.RampSeconds() + c.DurationSeconds + 600)
}

// Validate checks a configuration with its defaults filled in (Default on
// a copy): errors name the field, the value and what is allowed.
func (c Config) Validate() error {
	c.Default()
	if c.Clients < 1 || c.Clients > 10000000 {
		return fmt.Errorf("loadTest: clients %d; allowed 1 to 10000000", c.Clients)
	}
	if c.Workers < 1 || c.Workers > 1000 {
		return fmt.Errorf("loadTest: workers %d; allowed 1 to 1000", c.Workers)
	}
	if c.Clients < int(c.Workers) {
		return fmt.Errorf("loadTest: clients %d are fewer than workers %d; every worker needs a client", c.Clients, c.Workers)
	}
	if per := c.PerWorker(); per > EphemeralPorts {
		return fmt.Errorf("loadTest: %d clients over %d workers is %d connections per worker pod, more than its local port range allows (%d: Linux's default net.ipv4.ip_local_port_range 32768-60999, every connection from the pod's one address to the same broker needs a port of its own); use at least %d workers",
			c.Clients, c.Workers, per, EphemeralPorts, (c.Clients+EphemeralPorts-1)/EphemeralPorts)
	}
	if c.HatchRate < 1 || c.HatchRate > 10000 {
		return fmt.Errorf("loadTest: hatchRate %d; allowed 1 to 10000 clients per second", c.HatchRate)
	}
	if c.DurationSeconds < 60 || c.DurationSeconds > 7*24*3600 {
		return fmt.Errorf("loadTest: durationSeconds %d; allowed 60 to 604800 (a week)", c.DurationSeconds)
	}
	if c.CertificatesSeconds < 60 || c.CertificatesSeconds > 7*24*3600 {
		return fmt.Errorf("loadTest: certificatesSeconds %d; allowed 60 to 604800 (a week)", c.CertificatesSeconds)
	}
	if c.CertificateProcesses < 1 || c.CertificateProcesses > 64 || c.CertificateProcesses > c.Clients {
		return fmt.Errorf("loadTest: certificateProcesses %d; allowed 1 to 64 and at most clients %d (generate_certs refuses more processes than certificates)", c.CertificateProcesses, c.Clients)
	}
	if c.Host == "" {
		return fmt.Errorf("loadTest: host is empty; give the load balancer's name or address the clients connect to")
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("loadTest: port %d; allowed 1 to 65535", c.Port)
	}
	if c.APIURL == "" {
		return fmt.Errorf("loadTest: apiURL is empty; give dojot's API gateway URL (http://kong:8000 inside the namespace)")
	}
	for _, r := range []struct {
		field string
		r     stack.Resources
	}{{"workerResources", c.WorkerResources}, {"masterResources", c.MasterResources}, {"redisResources", c.RedisResources}, {"certResources", c.CertResources}} {
		if err := r.r.Validate("loadTest." + r.field); err != nil {
			return err
		}
	}
	return sts.CheckImages("loadTest", [2]string{"image", c.Image}, [2]string{"exporterImage", c.ExporterImage}, [2]string{"redisImage", c.RedisImage})
}

// New adds the load test to s, a stack of its own.
func New(s *stack.Stack, cfg Config) error {
	if s == nil {
		return fmt.Errorf("loadTest: stack is nil; pass the stack to add the load test to")
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return err
	}
	topo := s.Topology()
	if _, err := topo.Pool(cfg.Pool); err != nil {
		return fmt.Errorf("loadTest: pool: %w", err)
	}
	if err := topo.Fits("loadTest workers", cfg.Pool, int(cfg.Workers), cfg.WorkerResources); err != nil {
		return err
	}
	redis, err := s.AddComponent("locust-redis", stack.Meta{App: "locust-redis", Role: "cache", Version: sts.Tag(cfg.RedisImage)})
	if err != nil {
		return err
	}
	master, err := s.AddComponent("locust", stack.Meta{App: "locust", Role: "master", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return err
	}
	s.External("Secret", cfg.CredentialsSecret, "a dojot user's credentials (keys username, password) the load test's certificate Job logs in with")
	scripts := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "locust-scripts"}, Data: map[string]string{
		"certs.sh": certsScript, "export.py": exportScript, "swarm.sh": swarmScript,
	}}
	redisHost := "locust-redis"
	env := []corev1.EnvVar{
		{Name: "REDIS_HOST", Value: redisHost},
		{Name: "REDIS_PORT", Value: fmt.Sprint(RedisPort)},
		{Name: "CERT_DIR", Value: certDir},
		{Name: "TENANT", Value: cfg.Tenant},
		{Name: "CLIENTS", Value: fmt.Sprint(cfg.Clients)},
	}
	mounts := []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts"}, {Name: "cert", MountPath: certDir}}
	volumes := []corev1.Volume{sts.ScriptVolume("scripts", scripts.Name), sts.EmptyDir("cert")}
	container := func(name string, r stack.Resources, command []string, more ...corev1.EnvVar) corev1.Container {
		return corev1.Container{Name: name, Image: cfg.Image, Command: command, WorkingDir: appDir,
			Env: append(append([]corev1.EnvVar(nil), env...), more...), Resources: r.Requirements(), VolumeMounts: mounts,
			SecurityContext: stack.RestrictedContainerSecurityContext(false)}
	}
	security := stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid}

	// Redis: the certificates (database 0), their sequential mapping (1)
	// and our marker and CA certificate (2).
	rsel := redis.SelectorLabels()
	rset, err := sts.StatefulSet(topo, sts.Spec{
		Name: "locust-redis", Service: "locust-redis-headless", Replicas: 1, Selector: rsel,
		Placement: stack.Placement{Pool: cfg.Pool}, Security: stack.PodSecurity{UID: 999, GID: 999, FSGroup: 999}, GracePeriod: 10,
		Containers: []corev1.Container{{
			Name: "redis", Image: cfg.RedisImage,
			// No persistence: the load test's certificates live as long as the pod.
			Args:           []string{"redis-server", "--save", "", "--appendonly", "no"},
			Ports:          []corev1.ContainerPort{{Name: "redis", ContainerPort: RedisPort}},
			Resources:      cfg.RedisResources.Requirements(),
			ReadinessProbe: stack.TCPProbe("redis", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
			LivenessProbe:  stack.TCPProbe("redis", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
			// The official redis image's user redis is uid 999 (docker-library/redis
			// 5.0 alpine Dockerfile: addgroup -S -g 1000 redis && adduser -S -G redis -u 999 redis).
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		}},
		Volumes: []corev1.Volume{sts.EmptyDir("data")},
	})
	if err != nil {
		return fmt.Errorf("loadTest: %w", err)
	}
	redis.Add(sts.Headless("locust-redis-headless", rsel, nil), sts.Client(redisHost, rsel, []corev1.ServicePort{sts.Port("redis", RedisPort)}), rset, stack.PDB("locust-redis", rsel, 0))
	redisEP := redis.Pods("").Port("redis")

	// The certificates: generate_certs issues them through the gateway
	// (src/scripts/generate_certs.py, "cert --devices N --processes P":
	// a JWT from /auth, then a CSR per device to /x509/v1/certificates,
	// CN the device id), stores them in Redis and maps them to 1..N.
	csel := master.SelectorFor("certificates")
	cred := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: cfg.CredentialsSecret}, Key: key}}
	}
	certs, err := sts.Job(topo, sts.JobSpec{
		Name: "locust-certificates", Selector: csel, Pool: cfg.Pool, Security: security,
		Container: container("certificates", cfg.CertResources, []string{"/bin/sh", "/scripts/certs.sh"},
			corev1.EnvVar{Name: "DOJOT_URL", Value: cfg.APIURL},
			corev1.EnvVar{Name: "DOJOT_USER", ValueFrom: cred("username")},
			corev1.EnvVar{Name: "DOJOT_PASSWD", ValueFrom: cred("password")},
			corev1.EnvVar{Name: "PROCESSES", Value: fmt.Sprint(cfg.CertificateProcesses)}),
		Volumes: volumes, BackoffLimit: 3, DeadlineSeconds: int64(cfg.CertificatesSeconds),
	})
	if err != nil {
		return fmt.Errorf("loadTest: %w", err)
	}

	// The master, its exporter and the swarm starter.
	msel := master.SelectorLabels()
	mpod := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyOnFailure, AutomountServiceAccountToken: ptr.To(false), EnableServiceLinks: ptr.To(false),
		SecurityContext: stack.RestrictedPodSecurityContext(security), Volumes: volumes,
		Containers: []corev1.Container{
			withPorts(container("master", cfg.MasterResources, []string{"bash", "master_entrypoint.sh"},
				// master_entrypoint.sh: REDIS_BACKUP=y resets the
				// clients' counter so that they take ids 1..N again.
				corev1.EnvVar{Name: "REDIS_BACKUP", Value: "y"},
				corev1.EnvVar{Name: "DOJOT_ENV", Value: "n"},
				corev1.EnvVar{Name: "DOJOT_MQTT_HOST", Value: cfg.Host},
				corev1.EnvVar{Name: "DOJOT_MQTT_PORT", Value: fmt.Sprint(cfg.Port)}),
				corev1.ContainerPort{Name: "web", ContainerPort: WebPort}, corev1.ContainerPort{Name: "master", ContainerPort: MasterPort}),
			{
				Name: "exporter", Image: cfg.ExporterImage,
				Env:             []corev1.EnvVar{{Name: "LOCUST_EXPORTER_URI", Value: fmt.Sprintf("http://127.0.0.1:%d", WebPort)}},
				Ports:           []corev1.ContainerPort{{Name: "metrics", ContainerPort: ExporterPort}},
				Resources:       stack.MustLimits("200m", "64Mi").Requirements(),
				SecurityContext: stack.RestrictedContainerSecurityContext(true),
			},
			container("swarm", stack.MustLimits("100m", "64Mi"), []string{"/bin/sh", "/scripts/swarm.sh"},
				corev1.EnvVar{Name: "WORKERS", Value: fmt.Sprint(cfg.Workers)},
				corev1.EnvVar{Name: "HATCH_RATE", Value: fmt.Sprint(cfg.HatchRate)},
				corev1.EnvVar{Name: "RUN_SECONDS", Value: fmt.Sprint(cfg.RampSeconds() + cfg.DurationSeconds)}),
		},
	}
	if err := topo.Place(&mpod, msel, stack.Placement{Pool: cfg.Pool}); err != nil {
		return fmt.Errorf("loadTest: %w", err)
	}
	annotations := sts.ScrapeAnnotations(ExporterPort, "/metrics")
	masterJob := job("locust-master", msel, annotations, 1, cfg.DeadlineSeconds(), mpod)

	// The workers: one per core, each writing the certificates into its
	// own emptyDir before slave_entrypoint.sh starts Locust's slave.
	wsel := master.SelectorFor("worker")
	export := container("certificates", stack.MustLimits("500m", "256Mi"), []string{"python3", "/scripts/export.py"})
	wpod := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyOnFailure, AutomountServiceAccountToken: ptr.To(false), EnableServiceLinks: ptr.To(false),
		SecurityContext: stack.RestrictedPodSecurityContext(security), Volumes: volumes,
		InitContainers: []corev1.Container{export},
		Containers: []corev1.Container{container("worker", cfg.WorkerResources, []string{"bash", "slave_entrypoint.sh"},
			corev1.EnvVar{Name: "LOCUST_MASTER_HOST", Value: "locust-master"},
			corev1.EnvVar{Name: "DOJOT_MQTT_HOST", Value: cfg.Host},
			corev1.EnvVar{Name: "DOJOT_MQTT_PORT", Value: fmt.Sprint(cfg.Port)},
			corev1.EnvVar{Name: "DOJOT_MQTT_QOS", Value: "1"},
			corev1.EnvVar{Name: "TASK_MIN_TIME", Value: "29500"},
			corev1.EnvVar{Name: "TASK_MAX_TIME", Value: "30000"},
			corev1.EnvVar{Name: "RENEW_DEVICES", Value: "False"},
			corev1.EnvVar{Name: "REVOKE_DEVICES", Value: "False"})},
	}
	if err := topo.Place(&wpod, wsel, stack.Placement{Pool: cfg.Pool}); err != nil {
		return fmt.Errorf("loadTest: %w", err)
	}
	if wpod.Affinity == nil {
		wpod.Affinity = &corev1.Affinity{}
	}
	// One worker per core: spread them over the client nodes.
	wpod.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
		Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: wsel}, TopologyKey: stack.HostnameLabel}}}}
	workers := job("locust-worker", wsel, nil, cfg.Workers, cfg.DeadlineSeconds(), wpod)

	master.Except("probes", "Locust's master, workers and certificate Job run a bounded test; nothing routes to them but the workers' own connections")
	master.Except("pdb", "the load test's Jobs are bounded by activeDeadlineSeconds; an eviction ends the test, as a node loss would")
	svc := sts.Client("locust-master", msel, []corev1.ServicePort{
		{Name: "master", Port: MasterPort, TargetPort: intstr.FromString("master")},
		{Name: "web", Port: WebPort, TargetPort: intstr.FromString("web")},
	})
	master.Add(scripts, svc, certs, masterJob, workers)
	master.Uses(redisEP)
	master.Pods("worker").Uses(master.Pods("").Port("master"))
	if !cfg.APIGateway.IsZero() {
		master.Pods("certificates").Uses(cfg.APIGateway)
	}
	return nil
}

// appDir is the image's WORKDIR, where main.py and the entry points are;
// certDir the certificates directory (CERT_DIR, with its trailing slash:
// the tool joins file names to it).
const (
	appDir  = "/usr/src/app"
	certDir = "/usr/src/app/cert/"
)

func withPorts(c corev1.Container, ports ...corev1.ContainerPort) corev1.Container {
	c.Ports = ports
	return c
}

// job is a Job of n pods, all running at once, bounded by deadline.
func job(name string, sel, annotations map[string]string, n int32, deadline int64, pod corev1.PodSpec) *batchv1.Job {
	labels := map[string]string{}
	for k, v := range sel {
		labels[k] = v
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Parallelism: ptr.To(n), Completions: ptr.To(n), BackoffLimit: ptr.To(n * 3),
			ActiveDeadlineSeconds: ptr.To(deadline),
			Template:              corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations}, Spec: pod},
		},
	}
}

// certsScript issues the certificates once: a retried Job finds the
// marker and stops.
const certsScript = `#!/bin/sh
# Issues the load test's device certificates (generated by iotstack).
set -eu
R="redis-cli -h ${REDIS_HOST} -p ${REDIS_PORT}"
until $R ping | grep -q PONG; do
  echo "waiting for Redis"; sleep 3
done
if [ "$($R -n 2 get ready)" = "${CLIENTS}" ]; then
  echo "the ${CLIENTS} certificates are already in Redis"
  exit 0
fi
$R -n 0 flushdb
$R -n 1 flushdb
python3 -m src.scripts.generate_certs cert --devices "${CLIENTS}" --processes "${PROCESSES}"
$R -n 2 -x set ca.crt < "${CERT_DIR}ca.crt"
$R -n 2 set ready "${CLIENTS}"
echo "issued ${CLIENTS} certificates"
`

// exportScript writes every certificate and key, and the CA certificate,
// into CERT_DIR, under the names the Locust client opens
// (<id>.crt, <id>.key, ca.crt: src/ejbca/cert_utils.py, src/config.py),
// from the hash fields generate_certs stores (private_key,
// thing_certificate: src/scripts/generate_certs.py export_certs).
const exportScript = `"""Writes the load test's certificates from Redis (generated by iotstack)."""
import os
import sys
import time

import redis

HOST, PORT, DIR = os.environ["REDIS_HOST"], int(os.environ["REDIS_PORT"]), os.environ["CERT_DIR"]
MARK = redis.Redis(host=HOST, port=PORT, db=2)
while MARK.get("ready") != os.environ["CLIENTS"].encode():
    print("waiting for the certificates", flush=True)
    time.sleep(15)
CERTS = redis.Redis(host=HOST, port=PORT, db=0)
N = 0
for key in CERTS.scan_iter(count=1000):
    name = key.decode()
    private_key, certificate = CERTS.hmget(key, "private_key", "thing_certificate")
    with open(os.path.join(DIR, name + ".key"), "wb") as f:
        f.write(private_key)
    with open(os.path.join(DIR, name + ".crt"), "wb") as f:
        f.write(certificate)
    N += 1
with open(os.path.join(DIR, "ca.crt"), "wb") as f:
    f.write(MARK.get("ca.crt"))
print("wrote", N, "certificates", flush=True)
sys.exit(0 if N >= int(os.environ["CLIENTS"]) else 1)
`

// swarmScript starts the test through the master's web UI (locust 0.12.2
// locust/web.py: POST /swarm with locust_count and hatch_rate; GET
// /stats/requests lists the slaves; GET /stop) once the certificates are
// issued and every worker has joined, and stops it after the ramp and the
// configured duration.
const swarmScript = `#!/bin/sh
# Starts and stops the load test (generated by iotstack).
set -eu
UI=http://127.0.0.1:8089
until [ "$(redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" -n 2 get ready)" = "${CLIENTS}" ]; do
  echo "waiting for the certificates"; sleep 15
done
until [ "$(curl -fsS "${UI}/stats/requests" | jq '.slaves | length')" -ge "${WORKERS}" ] 2>/dev/null; do
  echo "waiting for ${WORKERS} workers"; sleep 5
done
curl -fsS -X POST -d "locust_count=${CLIENTS}&hatch_rate=${HATCH_RATE}" "${UI}/swarm"
echo "started ${CLIENTS} clients at ${HATCH_RATE}/s; stopping in ${RUN_SECONDS} s"
sleep "${RUN_SECONDS}"
curl -fsS "${UI}/stop"
echo "stopped"
`
