package thingsboard_test

import (
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
)

// ThingsBoard's microservices over the five data-tier components, wired
// from their handles, exposed the generic way (plain Ingress and
// LoadBalancer Service) under a host name instead of the AWS default.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []stack.NodePool{{Name: "main", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("32Gi"), NodesPerZone: 1}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var d thingsboard.Deps
	var errs [5]error
	d.ZooKeeper, errs[0] = zookeeper.New(s, zookeeper.Config{Pool: "main"})
	d.Kafka, errs[1] = kafka.New(s, kafka.Config{Pool: "main"})
	d.Redis, errs[2] = redis.New(s, redis.Config{Pool: "main"})
	d.Cassandra, errs[3] = cassandra.New(s, cassandra.Config{Pool: "main"})
	d.Postgres, errs[4] = postgres.New(s, postgres.Config{Pool: "main"})
	if err := errors.Join(errs[:]...); err != nil {
		fmt.Println(err)
		return
	}
	tb, err := thingsboard.New(s, d, thingsboard.Config{Pool: "main", Exposure: thingsboard.Generic, Host: "tb.example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := s.Synth()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(out.Files), "files, from", out.Files[0].Name, "to", out.Files[len(out.Files)-1].Name)
	for _, o := range out.Objects {
		switch w := o.Object.(type) {
		case *appsv1.Deployment:
			if w.Name == "tb-core" {
				fmt.Println(o.File, o.Ref, *w.Spec.Replicas, w.Spec.Template.Spec.Containers[0].Image)
			}
		case *networkingv1.Ingress:
			fmt.Println(o.File, o.Ref, w.Spec.Rules[0].Host)
		}
	}
	fmt.Println(tb.RESTURL)
	// Output:
	// 16 files, from 00-namespace.yaml to kustomization.yaml
	// 07-tb-core.yaml Deployment/iot/tb-core 3 thingsboard/tb-node:4.3.1
	// 14-thingsboard-exposure.yaml Ingress/iot/tb-http-loadbalancer tb.example.com
	// http://tb-core.iot.svc.cluster.local:8080
}
