package profiles

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/kafkaui"
	"github.com/iotstack/iotstack/components/pgadmin"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/redisinsight"
	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// validate checks the UIs' pools (the values walk runs each UI Config's
// own Validate at ui.<ui>).
func (u UIs) validate(t Topology) []values.FieldError {
	return checkPools(t, map[string]string{"ui.kafka.pool": u.Kafka.Pool, "ui.pgadmin.pool": u.PgAdmin.Pool, "ui.redisInsight.pool": u.RedisInsight.Pool})
}

// validate checks dojot's UIs: no ingress path (dojot has no HTTP ingress
// to share).
func (u DojotUIs) validate(t Topology) []values.FieldError {
	errs := checkPools(t, map[string]string{"ui.kafka.pool": u.Kafka.Pool, "ui.pgadmin.pool": u.PgAdmin.Pool})
	for _, f := range [][2]string{{"ui.kafka.path", u.Kafka.Path}, {"ui.pgadmin.path", u.PgAdmin.Path}} {
		if f[1] != "" {
			errs = append(errs, values.Errorf(f[0], f[1], "dojot has no HTTP ingress to serve a UI under (its load balancers forward fixed NodePorts); leave it empty and use kubectl port-forward"))
		}
	}
	return errs
}

// buildUIs adds the enabled UIs to s: Kafka UI for kf, pgAdmin for pg
// (after every database is declared), RedisInsight for rd (nil in dojot).
// share, when not nil, serves a UI with a path under the profile's HTTP
// ingress. pool is the pool of a UI without one.
func buildUIs(s *stack.Stack, u UIs, pool string, kf *kafka.Handle, pg *postgres.Handle, rd *redis.Handle, share func(name, pathPrefix, service, port, healthPath string) error) error {
	if u.Kafka.Enabled {
		cfg := u.Kafka
		if cfg.Pool == "" {
			cfg.Pool = pool
		}
		h, err := kafkaui.New(s, kf, cfg)
		if err != nil {
			return fmt.Errorf("ui.kafka: %w", err)
		}
		if h.Path != "" {
			if err := share(h.Service, h.Path, h.Service, "http", h.HealthPath); err != nil {
				return fmt.Errorf("ui.kafka.path: %w", err)
			}
		}
	}
	if u.PgAdmin.Enabled {
		cfg := u.PgAdmin
		if cfg.Pool == "" {
			cfg.Pool = pool
		}
		h, err := pgadmin.New(s, pg, cfg)
		if err != nil {
			return fmt.Errorf("ui.pgadmin: %w", err)
		}
		if h.Path != "" {
			if err := share(h.Service, h.Path, h.Service, "http", h.HealthPath); err != nil {
				return fmt.Errorf("ui.pgadmin.path: %w", err)
			}
		}
	}
	if u.RedisInsight.Enabled {
		if rd == nil {
			return fmt.Errorf("ui.redisInsight: the profile has no Redis Cluster")
		}
		cfg := u.RedisInsight
		if cfg.Pool == "" {
			cfg.Pool = pool
		}
		if _, err := redisinsight.New(s, rd, cfg); err != nil {
			return fmt.Errorf("ui.redisInsight: %w", err)
		}
	}
	return nil
}

// dojotUIs are dojot's UIs with dojot's sizes where none is set: Kafka UI
// in 512 MiB (the ThingsBoard article's YAML for its Kafka UI) and, with
// lean, memory requests of half the limits, as every dojot service, so
// that the guide's one small worker holds them.
func dojotUIs(v *DojotValues) UIs {
	u := UIs{Kafka: v.UI.Kafka, PgAdmin: v.UI.PgAdmin}
	size := func(r *stack.Resources, cpu, mem string) {
		if !r.IsZero() {
			return
		}
		*r = stack.MustLimits(cpu, mem)
		if v.Lean {
			r.MemoryRequest = *resource.NewQuantity(r.MemoryLimit.Value()/2, resource.BinarySI)
		}
	}
	size(&u.Kafka.Resources, "500m", "512Mi")
	size(&u.PgAdmin.Resources, "500m", "256Mi")
	return u
}

// tbShare serves a UI's Service under a path of ThingsBoard's HTTP
// ingress: the Ingress is the UI component's own (same namespace).
func tbShare(s *stack.Stack, tb *thingsboard.Handle) func(name, pathPrefix, service, port, healthPath string) error {
	return func(name, pathPrefix, service, port, healthPath string) error {
		ing, err := tb.ShareIngress(name, pathPrefix, service, port, healthPath)
		if err != nil {
			return err
		}
		c := s.ComponentByName(service)
		if c == nil {
			return fmt.Errorf("no component %s", service)
		}
		c.Add(ing)
		return nil
	}
}
