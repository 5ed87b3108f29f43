// Package redisinsight renders RedisInsight (redis/redisinsight) with the
// stack's Redis Cluster pre-configured as a database (RI_REDIS_HOST and
// friends: RedisInsight connects to the seed Service, finds that it is a
// cluster and discovers the nodes).
//
// Licence: RedisInsight is under the Server Side Public License (SSPL v1,
// the LICENSE file of redis/RedisInsight), not an open-source licence by
// the OSI's definition; running it for your own operators is what the
// licence allows without obligations, offering it as a service to others
// is not. Enabling it also accepts its terms and conditions
// (RI_ACCEPT_TERMS_AND_CONDITIONS), so Config.AcceptTerms must be set.
//
// RedisInsight has no login of its own: it is reachable with kubectl
// port-forward only, never through the profile's ingress.
//
// Image facts, read in redis/RedisInsight at tag 3.8.0 (2026-07-16):
//   - Dockerfile: FROM node:24.16.0-alpine, USER node (uid and gid 1000 in
//     the node alpine images: docker-library/node's "addgroup -g 1000 node
//     && adduser -u 1000 -G node"), EXPOSE 5540,
//     RI_APP_FOLDER_ABSOLUTE_PATH=/data (its database, logs, plugins;
//     an emptyDir here, the root file system is read-only), ENTRYPOINT
//     docker-entry.sh node redisinsight/api/dist/src/main.
//   - redisinsight/api/config/default.ts: RI_APP_PORT (default 5540),
//     RI_ENCRYPTION_KEY (KeyEncryptionStrategy: a SHA-256 of the string
//     encrypts stored passwords), RI_ACCEPT_TERMS_AND_CONDITIONS === "true",
//     global API prefix "api".
//   - redisinsight/api/src/modules/database-discovery/utils/
//     pre-setup.discovery.util.ts: every RI_REDIS_HOST* variable adds a
//     database with RI_REDIS_PORT, RI_REDIS_ALIAS, RI_REDIS_PASSWORD of
//     the same suffix.
//   - redisinsight/api/src/modules/server/health.controller.ts: GET
//     /api/health (the probes).
//
// What remains: its state (workbench history, settings) lives on an
// emptyDir and starts afresh with the pod; the pre-configured database
// comes back from the environment.
package redisinsight

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/internal/webui"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/stack"
)

const (
	// Image is the default image, pinned.
	Image = "redis/redisinsight:3.8.0"
	// Port is RedisInsight's port (RI_APP_PORT's default).
	Port = 5540
	// EncryptionKey is the key of the Secret <name>-encryption that
	// encrypts the passwords RedisInsight stores.
	EncryptionKey = "key"
	uid           = 1000
	dataDir       = "/data"
)

// Config configures RedisInsight. Zero fields take defaults.
type Config struct {
	// Enabled renders RedisInsight (SSPL-licensed; needs acceptTerms).
	Enabled bool
	// AcceptTerms accepts RedisInsight's terms and conditions and its
	// licence, the Server Side Public License (SSPL v1); required with
	// enabled.
	AcceptTerms bool
	// Name names the Deployment, the Service and the Secret
	// <name>-encryption; default "redisinsight".
	Name string
	// Image overrides the pinned image (default redis/redisinsight:3.8.0).
	Image string
	// Pool is the node pool; empty means the profile's default.
	Pool string
	// Resources default to 0.5 CPU / 512 MiB limits.
	Resources stack.Resources
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "redisinsight"
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("500m", "512Mi")
	}
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("redisinsight", c.Name, 40); err != nil {
		return err
	}
	if err := sts.CheckImages("redisinsight", [2]string{"image", c.Image}); err != nil {
		return err
	}
	if c.Enabled && !c.AcceptTerms {
		return fmt.Errorf("redisinsight: acceptTerms false; RedisInsight is under the Server Side Public License (SSPL v1) and asks to accept its terms: set acceptTerms true to run it, or leave it disabled")
	}
	return c.Resources.Validate("redisinsight: resources")
}

// Handle is what the profile needs of RedisInsight.
type Handle struct {
	// Component owns the objects.
	Component *stack.Component
	// Service is the Service's name; Port its port (named "http").
	Service string
	Port    int32
}

// New adds RedisInsight for the Redis cluster rd to s.
func New(s *stack.Stack, rd *redis.Handle, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.AcceptTerms {
		return nil, fmt.Errorf("redisinsight: acceptTerms false; RedisInsight is under the Server Side Public License (SSPL v1) and asks to accept its terms: set acceptTerms true to run it")
	}
	if rd == nil || rd.Component == nil {
		return nil, fmt.Errorf("redisinsight: the Redis handle is required")
	}
	if err := s.Topology().Fits("redisinsight", cfg.Pool, 1, cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: "redisinsight", Role: "ui", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	c.DependsOn(rd.Component)
	key := c.DeclareSecret(cfg.Name+"-encryption", stack.SecretKey{Key: EncryptionKey, Kind: stack.RandomPassword})
	env := []corev1.EnvVar{
		{Name: "RI_APP_PORT", Value: fmt.Sprint(Port)},
		{Name: "RI_ACCEPT_TERMS_AND_CONDITIONS", Value: "true"},
		key.Ref(EncryptionKey).EnvVar("RI_ENCRYPTION_KEY"),
		{Name: "RI_REDIS_HOST", Value: s.ServiceHost(rd.Service)},
		{Name: "RI_REDIS_PORT", Value: fmt.Sprint(rd.Port)},
		{Name: "RI_REDIS_ALIAS", Value: s.Namespace() + "/" + rd.Component.Name()},
		rd.Password.EnvVar("RI_REDIS_PASSWORD"),
	}
	tmp, tmpMount := webui.Tmp()
	health := "/api/health"
	container := corev1.Container{
		Name:            "redisinsight",
		Image:           cfg.Image,
		Env:             env,
		Ports:           []corev1.ContainerPort{{Name: webui.PortName, ContainerPort: Port}},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  stack.HTTPProbe(health, webui.PortName, stack.ProbeTiming{InitialDelaySeconds: 10, PeriodSeconds: 10, TimeoutSeconds: 5}),
		LivenessProbe:   stack.HTTPProbe(health, webui.PortName, stack.ProbeTiming{InitialDelaySeconds: 60, PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: dataDir}, tmpMount},
	}
	port, err := webui.Build(c, webui.Spec{Name: cfg.Name, Pool: cfg.Pool, Security: stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		Container: container, Volumes: []corev1.Volume{sts.EmptyDir("data"), tmp}})
	if err != nil {
		return nil, fmt.Errorf("redisinsight: %w", err)
	}
	c.Uses(rd.Client())
	return &Handle{Component: c, Service: cfg.Name, Port: port}, nil
}
