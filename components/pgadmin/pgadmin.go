// Package pgadmin renders pgAdmin 4 (dpage/pgadmin4, the PostgreSQL
// licence) with the stack's PostgreSQL pre-registered: a server entry for
// the superuser and one per database a consumer declared (its owner as
// the user), all on the primary's read-write Service, directly (not
// through PgBouncer, whose transaction pooling breaks pgAdmin's session
// state). pgAdmin cannot import passwords (servers.json carries none), so
// the first connection asks for the password, which is in the PostgreSQL
// component's Secrets.
//
// The login is pgAdmin's own (server mode): the e-mail address Email and
// the password in the declared Secret <name>-auth (key password), read
// from a file (PGADMIN_DEFAULT_PASSWORD_FILE), never from an environment
// value.
//
// Image facts, read in pgadmin-org/pgadmin4 at tag REL-9_17 (the image
// dpage/pgadmin4:9.17):
//   - Dockerfile: USER 5050 (user pgadmin, group root, directories made
//     group-writable), VOLUME /var/lib/pgadmin, ENTRYPOINT /entrypoint.sh;
//     sudo only for "postfix start".
//   - pkg/docker/entrypoint.sh: with NoNewPrivs set (allowPrivilegeEscalation
//     false) it runs the uncapped python and defaults PGADMIN_LISTEN_PORT to
//     8080; file_env reads PGADMIN_DEFAULT_PASSWORD from
//     PGADMIN_DEFAULT_PASSWORD_FILE; PGADMIN_SERVER_JSON_FILE is loaded with
//     setup.py load-servers --user PGADMIN_DEFAULT_EMAIL on first start, and
//     with --replace on every start when PGADMIN_REPLACE_SERVERS_ON_STARTUP
//     is True; config_distro.py is written to
//     PGADMIN_CUSTOM_CONFIG_DISTRO_FILE (here on the data emptyDir, as the
//     root file system is read-only) with every PGADMIN_CONFIG_* variable;
//     PGADMIN_DISABLE_POSTFIX skips "sudo postfix start", which
//     no-new-privileges forbids; gunicorn binds [::]:PGADMIN_LISTEN_PORT.
//   - web/pgadmin/misc/__init__.py: /misc/ping answers "PING" without a
//     login (the probes).
//   - docs/en_US/container_deployment.rst: SCRIPT_NAME serves pgAdmin under
//     a sub path behind a reverse proxy (the ingress path).
//   - docs/en_US/import_export_servers.rst: the servers.json format (Name,
//     Group, Port, Username, SSLMode, MaintenanceDB, Host required;
//     passwords cannot be imported).
//
// What remains: pgAdmin's own database (users, saved passwords,
// preferences) is on an emptyDir and starts afresh with the pod; the
// servers come back from servers.json. The read-only root file system was
// not run here (no container runtime): if the image writes elsewhere than
// /var/lib/pgadmin, /run/pgadmin and /tmp, the pod fails at start.
package pgadmin

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/internal/webui"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
)

const (
	// Image is the default image, pinned.
	Image = "dpage/pgadmin4:9.17"
	// Port is the port pgAdmin listens on (the entrypoint's default under
	// no-new-privileges, set explicitly).
	Port = 8080
	// PasswordKey is the key of the login password in the Secret <name>-auth.
	PasswordKey = "password"
	// Superuser is the PostgreSQL component's superuser (its Spilo
	// PGUSER_SUPERUSER), whose password is the key superuser-password of
	// the Secret <postgres>-auth.
	Superuser = "postgres"
	uid       = 5050
	dataDir   = "/var/lib/pgadmin"
	serverDir = "/etc/pgadmin/servers"
	secretDir = "/etc/pgadmin/secret"
)

var emailRE = regexp.MustCompile(`^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$`)

// Config configures pgAdmin. Zero fields take defaults.
type Config struct {
	// Enabled renders pgAdmin.
	Enabled bool
	// Name names the Deployment, the Service, the ConfigMap <name>-servers
	// and the Secret <name>-auth; default "pgadmin".
	Name string
	// Image overrides the pinned image (default dpage/pgadmin4:9.17).
	Image string
	// Pool is the node pool; empty means the profile's default.
	Pool string
	// Resources default to 0.5 CPU / 256 MiB limits.
	Resources stack.Resources
	// Email is the login's user name (pgAdmin requires an e-mail address);
	// default admin@iotstack.io.
	Email string
	// Path serves pgAdmin under this path of the profile's ingress (e.g.
	// /pgadmin/), behind its login; empty (the default) leaves it
	// reachable with kubectl port-forward only.
	Path string
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "pgadmin"
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("500m", "256Mi")
	}
	if c.Email == "" {
		c.Email = "admin@iotstack.io"
	}
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("pgadmin", c.Name, 40); err != nil {
		return err
	}
	if err := sts.CheckImages("pgadmin", [2]string{"image", c.Image}); err != nil {
		return err
	}
	if err := c.Resources.Validate("pgadmin: resources"); err != nil {
		return err
	}
	// The entrypoint pastes the address into Python source
	// (validate_email('${PGADMIN_DEFAULT_EMAIL}', ...)): quotes and
	// spaces are refused, not only malformed addresses.
	if !emailRE.MatchString(c.Email) {
		return fmt.Errorf("pgadmin: email %q; allowed a plain e-mail address such as admin@example.org (letters, digits and ._%%+- before the @, a domain with a dot after it): pgAdmin's login name", c.Email)
	}
	return webui.CheckPath("pgadmin", c.Path)
}

// Handle is what the profile needs of pgAdmin.
type Handle struct {
	// Component owns the objects.
	Component *stack.Component
	// Service is the Service's name; Port its port (named "http").
	Service string
	Port    int32
	// Path is the ingress path ("" for none); HealthPath the
	// unauthenticated health check under it.
	Path, HealthPath string
	// Password is the Secret key of the login password (user Email).
	Password stack.SecretKeyRef
}

// server is one entry of servers.json.
type server struct {
	Name          string `json:"Name"`
	Group         string `json:"Group"`
	Host          string `json:"Host"`
	Port          int32  `json:"Port"`
	MaintenanceDB string `json:"MaintenanceDB"`
	Username      string `json:"Username"`
	SSLMode       string `json:"SSLMode"`
}

// ServersJSON is the servers.json pre-registering pg's primary: the
// superuser, then every declared database with its owner, in declaration
// order. group names pgAdmin's server group (the stack's namespace).
func ServersJSON(group string, pg *postgres.Handle, host string) ([]byte, error) {
	servers := map[string]server{}
	add := func(name, db, user string) {
		servers[fmt.Sprint(len(servers)+1)] = server{Name: name, Group: group, Host: host, Port: pg.Port, MaintenanceDB: db, Username: user, SSLMode: "prefer"}
	}
	add(pg.Primary+" (superuser)", "postgres", Superuser)
	for _, db := range pg.Databases() {
		add(pg.Primary+" "+db.Name, db.Name, db.User)
	}
	b, err := json.MarshalIndent(map[string]any{"Servers": servers}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// New adds pgAdmin for the PostgreSQL cluster pg to s. Build it after
// every consumer declared its database.
func New(s *stack.Stack, pg *postgres.Handle, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pg == nil || pg.Component == nil {
		return nil, fmt.Errorf("pgadmin: the PostgreSQL handle is required")
	}
	if err := s.Topology().Fits("pgadmin", cfg.Pool, 1, cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: "pgadmin", Role: "ui", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	c.DependsOn(pg.Component)
	secret := c.DeclareSecret(cfg.Name+"-auth", stack.SecretKey{Key: PasswordKey, Kind: stack.RandomPassword})
	servers, err := ServersJSON(s.Namespace(), pg, pg.PrimaryHost())
	if err != nil {
		return nil, fmt.Errorf("pgadmin: servers.json: %w", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-servers"}, Data: map[string]string{"servers.json": string(servers)}}
	sub := strings.TrimSuffix(cfg.Path, "/")
	health := sub + "/misc/ping"
	env := []corev1.EnvVar{
		{Name: "PGADMIN_DEFAULT_EMAIL", Value: cfg.Email},
		{Name: "PGADMIN_DEFAULT_PASSWORD_FILE", Value: secretDir + "/" + PasswordKey},
		{Name: "PGADMIN_SERVER_JSON_FILE", Value: serverDir + "/servers.json"},
		{Name: "PGADMIN_REPLACE_SERVERS_ON_STARTUP", Value: "True"},
		{Name: "PGADMIN_LISTEN_PORT", Value: fmt.Sprint(Port)},
		{Name: "PGADMIN_DISABLE_POSTFIX", Value: "true"},
		{Name: "PGADMIN_CUSTOM_CONFIG_DISTRO_FILE", Value: dataDir + "/config_distro.py"},
		// Nothing is fetched from the internet at run time.
		{Name: "PGADMIN_CONFIG_UPGRADE_CHECK_ENABLED", Value: "False"},
	}
	if sub != "" {
		env = append(env, corev1.EnvVar{Name: "SCRIPT_NAME", Value: sub})
	}
	tmp, tmpMount := webui.Tmp()
	volumes := []corev1.Volume{
		sts.EmptyDir("data"), sts.EmptyDir("run"), tmp,
		{Name: "servers", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}},
		{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret.Name}}},
	}
	container := corev1.Container{
		Name:            "pgadmin",
		Image:           cfg.Image,
		Env:             env,
		Ports:           []corev1.ContainerPort{{Name: webui.PortName, ContainerPort: Port}},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  stack.HTTPProbe(health, webui.PortName, stack.ProbeTiming{InitialDelaySeconds: 15, PeriodSeconds: 10, TimeoutSeconds: 5}),
		LivenessProbe:   stack.HTTPProbe(health, webui.PortName, stack.ProbeTiming{InitialDelaySeconds: 60, PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: dataDir}, {Name: "run", MountPath: "/run/pgadmin"}, tmpMount,
			{Name: "servers", MountPath: serverDir, ReadOnly: true},
			{Name: "secret", MountPath: secretDir, ReadOnly: true},
		},
	}
	port, err := webui.Build(c, webui.Spec{Name: cfg.Name, Pool: cfg.Pool, Security: stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		Container: container, Volumes: volumes, Config: []*corev1.ConfigMap{cm}})
	if err != nil {
		return nil, fmt.Errorf("pgadmin: %w", err)
	}
	c.Uses(pg.PrimaryEndpoint())
	return &Handle{Component: c, Service: cfg.Name, Port: port, Path: cfg.Path, HealthPath: health, Password: secret.Ref(PasswordKey)}, nil
}
