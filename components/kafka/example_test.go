package kafka_test

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/stack"
)

// A three-broker KRaft cluster, one broker per zone, keeping messages for a
// day instead of a week; the handle gives clients the bootstrap servers and
// the Secret key of the cluster ID, which the apply engine generates.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []stack.NodePool{{Name: "main", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 1}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	kf, err := kafka.New(s, kafka.Config{Pool: "main", RetentionHours: 24})
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
		if cm, ok := o.Object.(*corev1.ConfigMap); ok {
			for _, line := range strings.Split(cm.Data["server.properties"], "\n") {
				if strings.HasPrefix(line, "log.retention") || strings.HasPrefix(line, "default.replication") {
					fmt.Println(o.Ref, line)
				}
			}
		}
	}
	fmt.Println(kf.BootstrapServers())
	fmt.Println(kf.ClusterID.Name, kf.ClusterID.Key)
	// Output:
	// 00-namespace.yaml
	// 01-kafka.yaml
	// kustomization.yaml
	// ConfigMap/iot/kafka-config default.replication.factor=3
	// ConfigMap/iot/kafka-config log.retention.hours=24
	// kafka-0.kafka-headless.iot.svc.cluster.local:9092,kafka-1.kafka-headless.iot.svc.cluster.local:9092,kafka-2.kafka-headless.iot.svc.cluster.local:9092
	// kafka-kraft cluster-id
}
