// Package copies tests that every component which takes a Name can run
// twice in one stack: each copy selects its own pods only.
package copies

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func TestTwoCopiesOfEachComponent(t *testing.T) {
	small := stack.MustLimits("500m", "512Mi")
	for _, tc := range []struct {
		name string
		add  func(s *stack.Stack, name string) error
	}{
		{"zookeeper", func(s *stack.Stack, name string) error {
			_, err := zookeeper.New(s, zookeeper.Config{Name: name, Replicas: 1, Resources: small})
			return err
		}},
		{"kafka", func(s *stack.Stack, name string) error {
			_, err := kafka.New(s, kafka.Config{Name: name, Brokers: 1, Resources: small, DefaultReplicationFactor: 1, MinInsyncReplicas: 1,
				OffsetsTopicReplicationFactor: 1, TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1})
			return err
		}},
		{"redis", func(s *stack.Stack, name string) error {
			_, err := redis.New(s, redis.Config{Name: name, Masters: 3, Replicas: 0, ReplicasSet: true, Resources: small})
			return err
		}},
		{"postgres", func(s *stack.Stack, name string) error {
			_, err := postgres.New(s, postgres.Config{Name: name, Instances: 1, PoolerReplicas: 1, Resources: stack.MustLimits("1", "1Gi"),
				Tuning: postgres.Tuning{SharedBuffers: "128MB", WorkMem: "4MB", MaintenanceWorkMem: "64MB", EffectiveCacheSize: "512MB"}})
			return err
		}},
		{"cassandra", func(s *stack.Stack, name string) error {
			_, err := cassandra.New(s, cassandra.Config{Name: name, Nodes: 1})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out := stacktest.Build(t, func(s *stack.Stack) error {
				for _, n := range []string{tc.name + "-a1", tc.name + "-b1"} {
					if err := tc.add(s, n); err != nil {
						return err
					}
				}
				return nil
			})
			for _, o := range out.Objects {
				svc, ok := o.Object.(*corev1.Service)
				if ok && len(svc.Spec.Selector) > 0 && svc.Spec.Selector[stack.LabelName] != o.Component {
					t.Errorf("%s of %s selects name %q", o.Ref, o.Component, svc.Spec.Selector[stack.LabelName])
				}
			}
		})
	}
}
