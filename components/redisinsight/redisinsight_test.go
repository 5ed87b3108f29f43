package redisinsight

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func TestPreconfiguredCluster(t *testing.T) {
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		rd, err := redis.New(s, redis.Config{})
		if err != nil {
			return err
		}
		_, err = New(s, rd, Config{Enabled: true, AcceptTerms: true})
		return err
	})
	env := map[string]corev1.EnvVar{}
	for _, r := range out.Objects {
		if d, ok := r.Object.(*appsv1.Deployment); ok && d.Name == "redisinsight" {
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e
			}
		}
	}
	if env["RI_REDIS_HOST"].Value != "redis.iot.svc.cluster.local" || env["RI_REDIS_PORT"].Value != "6379" || env["RI_ACCEPT_TERMS_AND_CONDITIONS"].Value != "true" {
		t.Errorf("env %v", env)
	}
	for name, secret := range map[string]string{"RI_REDIS_PASSWORD": "redis-auth", "RI_ENCRYPTION_KEY": "redisinsight-encryption"} {
		if e := env[name]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != secret {
			t.Errorf("%s not from the Secret %s: %+v", name, secret, e)
		}
	}
}

func TestTermsMustBeAccepted(t *testing.T) {
	stacktest.Rejects(t, func(s *stack.Stack) error {
		_, err := New(s, &redis.Handle{}, Config{Enabled: true})
		return err
	}, "acceptTerms false")
	if err := (Config{Enabled: true}).Validate(); err == nil || !strings.Contains(err.Error(), "SSPL") {
		t.Errorf("Validate: %v", err)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("redisinsight", "", "500m", "512Mi", true)
	f.Add("", "", "", "", false)
	f.Fuzz(func(t *testing.T, name, pool, cpu, mem string, accept bool) {
		cfg := Config{Enabled: true, AcceptTerms: accept, Name: name, Pool: pool}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			rd, err := redis.New(s, redis.Config{})
			if err != nil {
				return err
			}
			_, err = New(s, rd, cfg)
			return err
		})
	})
}
