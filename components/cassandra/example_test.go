package cassandra_test

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/stack"
)

// Six Cassandra nodes instead of three: one rack per zone (a StatefulSet
// pinned to it), and a keyspace declared through the handle, which the
// schema Job creates.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []stack.NodePool{{Name: "main", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 2}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := cassandra.New(s, cassandra.Config{Pool: "main", Nodes: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	ks, err := db.Keyspace(cassandra.KeyspaceSpec{Name: "telemetry"})
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
	fmt.Printf("%+v\n", ks)
	fmt.Println(db.Datacenter, db.Username, db.Password.Name, db.Password.Key)
	// Output:
	// 00-namespace.yaml
	// 01-cassandra.yaml
	// kustomization.yaml
	// StatefulSet/iot/cassandra-a 2
	// StatefulSet/iot/cassandra-b 2
	// StatefulSet/iot/cassandra-c 2
	// {Name:telemetry ReplicationFactor:3 ReadConsistency:LOCAL_QUORUM WriteConsistency:LOCAL_QUORUM Datacenter:datacenter1}
	// datacenter1 cassandra cassandra-auth password
}
