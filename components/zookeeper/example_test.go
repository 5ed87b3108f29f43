package zookeeper_test

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
)

// A five-server ensemble instead of the default three, spread over three
// zones of two nodes each, one server per node; the handle gives
// dependents the servers' addresses.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []stack.NodePool{{Name: "main", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 2}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	zk, err := zookeeper.New(s, zookeeper.Config{Pool: "main", Replicas: 5})
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
			c := sts.Spec.Template.Spec.Containers[0]
			fmt.Println(o.Ref, *sts.Spec.Replicas, c.Image, c.Resources.Limits.Memory())
		}
	}
	fmt.Println(len(zk.Servers), "servers, the last", zk.Servers[len(zk.Servers)-1])
	// Output:
	// 00-namespace.yaml
	// 01-zookeeper.yaml
	// kustomization.yaml
	// StatefulSet/iot/zookeeper 5 zookeeper:3.9.3 512Mi
	// 5 servers, the last zookeeper-4.zookeeper-headless.iot.svc.cluster.local:2181
}
