package redis_test

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/stack"
)

// A Redis Cluster of three masters with two replicas each instead of one:
// one StatefulSet per zone, and every master's replicas planned in the
// other zones, so losing a zone loses no shard.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []stack.NodePool{{Name: "main", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 1}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := redis.Config{Pool: "main", Replicas: 2}
	rd, err := redis.New(s, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := s.Synth()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range out.Files {
		fmt.Println(f.Name)
	}
	for _, o := range out.Objects {
		if sts, ok := o.Object.(*appsv1.StatefulSet); ok {
			fmt.Println(o.Ref, *sts.Spec.Replicas)
		}
	}
	cfg.Default() // Plan takes a Config with its defaults filled in
	for _, n := range redis.Plan(s, cfg) {
		role := "master"
		if n.ReplicaOf >= 0 {
			role = fmt.Sprint("replica of ", n.ReplicaOf)
		}
		fmt.Println(n.Pod, n.Zone, "shard", n.Master, role)
	}
	fmt.Println(rd.Password.Name, rd.Password.Key)
	// Output:
	// 00-namespace.yaml
	// 01-redis.yaml
	// kustomization.yaml
	// StatefulSet/iot/redis-a 3
	// StatefulSet/iot/redis-b 3
	// StatefulSet/iot/redis-c 3
	// redis-a-0 zone-a shard 0 master
	// redis-a-1 zone-a shard 1 replica of 1
	// redis-a-2 zone-a shard 2 replica of 2
	// redis-b-0 zone-b shard 1 master
	// redis-b-1 zone-b shard 0 replica of 0
	// redis-b-2 zone-b shard 2 replica of 2
	// redis-c-0 zone-c shard 2 master
	// redis-c-1 zone-c shard 0 replica of 0
	// redis-c-2 zone-c shard 1 replica of 1
	// redis-auth password
}
