// Package kafkaui renders Kafka UI (kafbat/kafka-ui, the maintained fork
// of provectus/kafka-ui, Apache-2.0) for one Kafka cluster of the stack:
// read-only by default, behind its login form (AUTH_TYPE=LOGIN_FORM) with
// the user admin and a password from the declared Secret <name>-auth (key
// password), reachable with kubectl port-forward and, when Path is set,
// under that path of the profile's ingress.
//
// Image facts, read in kafbat/kafka-ui at tag v1.5.0 (2026-04-20):
//   - api/Dockerfile: USER kafkaui (a non-numeric alpine system user made
//     by adduser -S, whose uid the file does not fix), EXPOSE 8080,
//     JAVA_OPTS passed to java; /etc/kafkaui is the only directory made
//     writable for it, used by the dynamic configuration (off unless
//     dynamic.config.enabled, api/src/main/java/io/kafbat/ui/util/
//     DynamicConfigOperations.java). The pod runs as uid/gid 10001 (the
//     stack's restricted profile needs a numeric uid) with a read-only
//     root file system and /tmp on an emptyDir.
//   - api/src/main/java/io/kafbat/ui/config/ClustersProperties.java: the
//     clusters list under "kafka" (KAFKA_CLUSTERS_0_NAME,
//     KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS, KAFKA_CLUSTERS_0_READONLY through
//     Spring's relaxed binding; readOnly defaults to false).
//   - api/src/main/java/io/kafbat/ui/config/auth/BasicAuthSecurityConfig.java:
//     auth.type LOGIN_FORM turns on Spring Security's form login; the user
//     is Spring Boot's spring.security.user.name/password
//     (SPRING_SECURITY_USER_NAME/_PASSWORD, as documentation/compose/
//     auth-context.yaml sets them). AbstractAuthSecurityConfig.java's
//     whitelist leaves /actuator/health/** open: the probes' path.
//   - api/src/main/java/io/kafbat/ui/config/Config.java: the WebFlux
//     handler, actuator included, is mounted under
//     server.servlet.context-path (SERVER_SERVLET_CONTEXT_PATH, as
//     documentation/compose/auth-context.yaml sets it), so the UI and its
//     health check live under the ingress path.
//
// What remains: one user (no roles); the UI's own metrics
// (/actuator/prometheus) are not scraped; the broker's JMX metrics are not
// wired (the brokers expose none here).
package kafkaui

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/internal/webui"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/stack"
)

const (
	// Image is the default image, pinned.
	Image = "ghcr.io/kafbat/kafka-ui:v1.5.0"
	// Port serves the UI, its API and /actuator/health (api/Dockerfile EXPOSE 8080).
	Port = 8080
	// User is the login form's user name.
	User = "admin"
	// PasswordKey is the key of the login password in the Secret <name>-auth.
	PasswordKey = "password"
	uid         = 10001
)

// Config configures Kafka UI. Zero fields take defaults.
type Config struct {
	// Enabled renders Kafka UI.
	Enabled bool
	// Name names the Deployment, the Service and the Secret <name>-auth;
	// default "kafka-ui".
	Name string
	// Image overrides the pinned image (default
	// ghcr.io/kafbat/kafka-ui:v1.5.0).
	Image string
	// Pool is the node pool; empty means the profile's default.
	Pool string
	// Resources default to the ThingsBoard article's pod table row
	// Kafka-ui: 1 CPU / 1 GiB limits (the JVM's heap is half of the memory
	// limit).
	Resources stack.Resources
	// ReadWrite lets logged-in users create, change and delete topics,
	// messages and consumer-group offsets; off (the default), the UI is
	// read-only.
	ReadWrite bool
	// Path serves the UI under this path of the profile's ingress (e.g.
	// /kafka-ui/), behind its login form; empty (the default) leaves it
	// reachable with kubectl port-forward only.
	Path string
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "kafka-ui"
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("1", "1Gi")
	}
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("kafka-ui", c.Name, 40); err != nil {
		return err
	}
	if err := sts.CheckImages("kafka-ui", [2]string{"image", c.Image}); err != nil {
		return err
	}
	if err := c.Resources.Validate("kafka-ui: resources"); err != nil {
		return err
	}
	if c.Resources.MemoryLimit.Cmp(stack.MustLimits("1", "256Mi").MemoryLimit) < 0 {
		return fmt.Errorf("kafka-ui: resources: memory limit %s; allowed 256Mi or more (a JVM)", c.Resources.MemoryLimit.String())
	}
	return webui.CheckPath("kafka-ui", c.Path)
}

// Handle is what the profile needs of Kafka UI.
type Handle struct {
	// Component owns the objects.
	Component *stack.Component
	// Service is the Service's name; Port its port (named "http").
	Service string
	Port    int32
	// Path is the ingress path ("" for none); HealthPath the unauthenticated
	// health check under it.
	Path, HealthPath string
	// Password is the Secret key of the login password (user User).
	Password stack.SecretKeyRef
}

// New adds Kafka UI for the cluster k to s.
func New(s *stack.Stack, k *kafka.Handle, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if k == nil || k.Component == nil {
		return nil, fmt.Errorf("kafka-ui: the Kafka handle is required")
	}
	if err := s.Topology().Fits("kafka-ui", cfg.Pool, 1, cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: "kafka-ui", Role: "ui", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	c.DependsOn(k.Component)
	secret := c.DeclareSecret(cfg.Name+"-auth", stack.SecretKey{Key: PasswordKey, Kind: stack.RandomPassword})
	context := strings.TrimSuffix(cfg.Path, "/")
	health := context + "/actuator/health"
	env := []corev1.EnvVar{
		{Name: "KAFKA_CLUSTERS_0_NAME", Value: k.Component.Name()},
		{Name: "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS", Value: k.BootstrapServers()},
		{Name: "KAFKA_CLUSTERS_0_READONLY", Value: fmt.Sprint(!cfg.ReadWrite)},
		{Name: "AUTH_TYPE", Value: "LOGIN_FORM"},
		{Name: "SPRING_SECURITY_USER_NAME", Value: User},
		secret.Ref(PasswordKey).EnvVar("SPRING_SECURITY_USER_PASSWORD"),
		{Name: "JAVA_OPTS", Value: "-XX:MaxRAMPercentage=50"},
	}
	if context != "" {
		env = append(env, corev1.EnvVar{Name: "SERVER_SERVLET_CONTEXT_PATH", Value: context})
	}
	tmp, tmpMount := webui.Tmp()
	container := corev1.Container{
		Name:            "kafka-ui",
		Image:           cfg.Image,
		Env:             env,
		Ports:           []corev1.ContainerPort{{Name: webui.PortName, ContainerPort: Port}},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  stack.HTTPProbe(health, webui.PortName, stack.ProbeTiming{InitialDelaySeconds: 20, PeriodSeconds: 10, TimeoutSeconds: 5}),
		LivenessProbe:   stack.HTTPProbe(health, webui.PortName, stack.ProbeTiming{InitialDelaySeconds: 90, PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    []corev1.VolumeMount{tmpMount},
	}
	port, err := webui.Build(c, webui.Spec{Name: cfg.Name, Pool: cfg.Pool, Security: stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		Container: container, Volumes: []corev1.Volume{tmp}})
	if err != nil {
		return nil, fmt.Errorf("kafka-ui: %w", err)
	}
	c.Uses(k.Client())
	return &Handle{Component: c, Service: cfg.Name, Port: port, Path: cfg.Path, HealthPath: health, Password: secret.Ref(PasswordKey)}, nil
}
