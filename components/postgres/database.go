package postgres

import (
	"fmt"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// DatabaseSpec is what a consumer asks for: a database owned by a user.
type DatabaseSpec struct {
	// Name is the database; User its owner (default: the database name).
	// Both: a lower-case letter, then lower-case letters, digits or '_'.
	Name, User string
	// CreateDB lets the user create databases (dojot's auth does).
	CreateDB bool
	// PasswordEncryption is how the user's password is stored: "" (the
	// server's password_encryption, scram-sha-256 here) or "md5", for a
	// client whose driver has no SCRAM (Kong 2.0's pgmoon 1.10.0). Only
	// that user's verifier is md5; Spilo's pg_hba "md5" lines accept both
	// kinds (see MD5).
	PasswordEncryption string
}

// MD5 is DatabaseSpec.PasswordEncryption for a user whose client can only
// answer an MD5 password challenge. PostgreSQL (15, and 17 as Spilo 4.0
// runs it) stores the verifier in the session's password_encryption; an
// "md5" pg_hba line then asks an md5-stored user for MD5 and a
// SCRAM-stored one for SCRAM (PostgreSQL documentation, 21.5 Password
// Authentication). Spilo 4.0-p3's default pg_hba
// (postgres-appliance/scripts/configure_spilo.py) has only md5 lines for
// passwords ("host all all all md5" with ALLOW_NOSSL, which this
// component sets, and "hostssl all all all md5"), so no pg_hba change is
// needed; a scram-sha-256 line would refuse such a user.
const MD5 = "md5"

// Database is a declared database, as consumers configure their clients.
type Database struct {
	// Name and User name the database and its owner.
	Name, User string
	// Host and Port reach it through the pooler.
	Host string
	Port int32
	// Password is the Secret key holding the user's password.
	Password stack.SecretKeyRef
	// CreateDB is true when the user may create databases.
	CreateDB bool
	// PasswordEncryption is the spec's ("" or MD5).
	PasswordEncryption string
}

// JDBCURL is the JDBC URL of the database through the pooler.
func (d Database) JDBCURL() string {
	return fmt.Sprintf("jdbc:postgresql://%s:%d/%s", d.Host, d.Port, d.Name)
}

var sqlName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Database declares a database and its owner: the databases Job creates
// them once, the user's password is generated into a Secret the stack
// declares, and the pooler learns the user.
func (h *Handle) Database(spec DatabaseSpec) (Database, error) {
	if spec.User == "" {
		spec.User = spec.Name
	}
	for _, f := range []struct{ field, v string }{{"name", spec.Name}, {"user", spec.User}} {
		if !sqlName.MatchString(f.v) {
			return Database{}, fmt.Errorf("postgres: database %s %q; allowed: a lower-case letter, then up to 62 lower-case letters, digits or '_'", f.field, f.v)
		}
	}
	switch spec.PasswordEncryption {
	case "", MD5:
	default:
		return Database{}, fmt.Errorf("postgres: database %q passwordEncryption %q; allowed: \"\" (the server's scram-sha-256) or %q (for clients without SCRAM)", spec.Name, spec.PasswordEncryption, MD5)
	}
	switch spec.User {
	case "postgres", "standby", "admin", poolerStatsUser:
		return Database{}, fmt.Errorf("postgres: database user %q is reserved for the cluster itself", spec.User)
	}
	users := map[string]bool{}
	for _, d := range h.databases {
		if d.Name == spec.Name {
			return Database{}, fmt.Errorf("postgres: database %q is declared twice", spec.Name)
		}
		users[d.User] = true
		if d.User == spec.User && d.PasswordEncryption != spec.PasswordEncryption {
			return Database{}, fmt.Errorf("postgres: user %q of database %q has passwordEncryption %q, but %q for database %q; one user has one password", spec.User, spec.Name, spec.PasswordEncryption, d.PasswordEncryption, d.Name)
		}
	}
	// Each database/user pair may open PoolSize server connections.
	if pairs := len(h.databases) + 1; pairs*h.cfg.PoolSize > h.cfg.Tuning.MaxConnections-reservedConnections {
		return Database{}, fmt.Errorf("postgres: %d databases x poolSize %d = %d pooled connections exceed maxConnections %d minus %d reserved; raise tuning.maxConnections or lower poolSize",
			pairs, h.cfg.PoolSize, pairs*h.cfg.PoolSize, h.cfg.Tuning.MaxConnections, reservedConnections)
	}
	secretName := fmt.Sprintf("%s-user-%s", h.cfg.Name, sqlToDNS(spec.User))
	var ref stack.SecretKeyRef
	if users[spec.User] {
		ref = stack.SecretKeyRef{Name: secretName, Key: "password"}
	} else {
		ref = h.component.DeclareSecret(secretName, stack.SecretKey{Key: "password", Kind: stack.RandomPassword}).Ref("password")
	}
	db := Database{Name: spec.Name, User: spec.User, Host: h.PoolerHost(), Port: Port, Password: ref, CreateDB: spec.CreateDB, PasswordEncryption: spec.PasswordEncryption}
	h.databases = append(h.databases, db)
	h.render()
	return db, nil
}

// Databases returns the declared databases in declaration order.
func (h *Handle) Databases() []Database { return append([]Database(nil), h.databases...) }

func sqlToDNS(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '_' {
			out[i] = '-'
		}
	}
	return string(out)
}

// userEnv returns one password variable per distinct user.
func (h *Handle) userEnv() ([]corev1.EnvVar, []string) {
	var env []corev1.EnvVar
	var users []string
	seen := map[string]bool{}
	for _, d := range h.databases {
		if seen[d.User] {
			continue
		}
		seen[d.User] = true
		users = append(users, d.User)
		env = append(env, d.Password.EnvVar(passwordVar(d.User)))
	}
	return env, users
}

// render rewrites the scripts, the pooler's and the Job's password
// variables, and the Job's name (a finished Job never runs again, so a
// changed set of databases is a new Job).
func (h *Handle) render() {
	primary := h.stack.ServiceHost(h.Primary)
	env, users := h.userEnv()
	h.script.Data = map[string]string{
		"databases.sh": databasesScript(primary, h.databases),
		"pooler.sh":    poolerStart(h.cfg, primary, append(users, poolerStatsUser), poolerStatsUser),
	}
	if h.job != nil {
		c := &h.job.Spec.Template.Spec.Containers[0]
		c.Env = append([]corev1.EnvVar{h.SuperuserPassword.EnvVar("SUPERUSER_PASSWORD")}, env...)
		h.job.Name = h.cfg.Name + "-databases-" + sts.Checksum(h.script)[:8]
	}
	if h.pooler != nil {
		h.pooler.Spec.Template.Spec.Containers[0].Env = append(env, h.poolerStats.EnvVar(passwordVar(poolerStatsUser)))
		h.pooler.Spec.Template.Annotations[sts.ChecksumAnnotation] = sts.Checksum(h.script)
	}
}

// poolerObjects builds the PgBouncer Deployment, spread over zones.
func (h *Handle) poolerDeployment() (*appsv1.Deployment, error) {
	cfg := h.cfg
	sel := h.component.SelectorFor("pooler")
	pod := corev1.PodSpec{
		AutomountServiceAccountToken:  ptr.To(false),
		EnableServiceLinks:            ptr.To(false),
		SecurityContext:               stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: poolerUID, GID: poolerUID, FSGroup: poolerUID}),
		TerminationGracePeriodSeconds: ptr.To(int64(30)),
		Containers: []corev1.Container{{
			Name:            "pgbouncer",
			Image:           cfg.PoolerImage,
			Command:         []string{"bash", "/scripts/pooler.sh"},
			Ports:           []corev1.ContainerPort{{Name: "pgbouncer", ContainerPort: Port}},
			Resources:       cfg.PoolerResources.Requirements(),
			ReadinessProbe:  stack.TCPProbe("pgbouncer", stack.ProbeTiming{PeriodSeconds: 10}),
			LivenessProbe:   stack.TCPProbe("pgbouncer", stack.ProbeTiming{InitialDelaySeconds: 15, PeriodSeconds: 20, FailureThreshold: 6}),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts"}, {Name: "tmp", MountPath: "/tmp"}},
		}},
		Volumes: []corev1.Volume{sts.ScriptVolume("scripts", h.script.Name), sts.EmptyDir("tmp")},
	}
	pod.Containers = append(pod.Containers, h.poolerExporter())
	if err := h.stack.Topology().Place(&pod, sel, stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true}); err != nil {
		return nil, fmt.Errorf("postgres: pooler placement: %w", err)
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: h.Pooler},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(cfg.PoolerReplicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel, Annotations: sts.ScrapeAnnotations(PoolerExporterPort, "/metrics")}, Spec: pod},
		},
	}
	return d, nil
}

// databasesJob builds the Job that runs databases.sh.
func (h *Handle) databasesJob() (*batchv1.Job, error) {
	job, err := sts.Job(h.stack.Topology(), sts.JobSpec{
		Name:     h.cfg.Name + "-databases", // renamed by render
		Selector: h.component.SelectorFor("databases"), Pool: h.cfg.Pool,
		Security: stack.PodSecurity{UID: 999, GID: 999, FSGroup: 999}, // postgres in the official image
		Container: corev1.Container{
			Name:            "databases",
			Image:           h.cfg.ClientImage,
			Command:         []string{"bash", "/scripts/databases.sh"},
			Resources:       stack.MustLimits("200m", "128Mi").Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts"}},
		},
		Volumes:      []corev1.Volume{sts.ScriptVolume("scripts", h.script.Name)},
		BackoffLimit: 20, DeadlineSeconds: 3600,
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return job, nil
}

// poolerStatsUser is PgBouncer's stats user, the pgbouncer_exporter's
// login to the admin console (stats_users).
const poolerStatsUser = "pgbouncer_stats"

// poolerExporter is the pgbouncer_exporter sidecar of each pooler pod: it
// reads PgBouncer's admin console over loopback as the stats user (a
// lib/pq key=value connection string, so no character of the password
// needs URL escaping; the kubelet expands $(VAR) from the variable above
// it).
func (h *Handle) poolerExporter() corev1.Container {
	pw := passwordVar(poolerStatsUser)
	return corev1.Container{
		Name:  "pgbouncer-exporter",
		Image: h.cfg.PoolerExporterImage,
		Args:  []string{fmt.Sprintf("--web.listen-address=:%d", PoolerExporterPort)},
		Env: []corev1.EnvVar{
			h.poolerStats.EnvVar(pw),
			{Name: "PGBOUNCER_EXPORTER_CONNECTION_STRING", Value: fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=$(%s) dbname=pgbouncer sslmode=disable", Port, poolerStatsUser, pw)},
		},
		Ports:           []corev1.ContainerPort{{Name: "metrics", ContainerPort: PoolerExporterPort}},
		Resources:       stack.MustLimits("100m", "64Mi").Requirements(),
		ReadinessProbe:  stack.TCPProbe("metrics", stack.ProbeTiming{PeriodSeconds: 10}),
		LivenessProbe:   stack.TCPProbe("metrics", stack.ProbeTiming{InitialDelaySeconds: 15, PeriodSeconds: 20, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
	}
}
