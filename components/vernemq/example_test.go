package vernemq_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/vernemq"
	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/stack"
)

// dojot's VerneMQ on a one-node cluster, fetching its certificates from
// the CA's handle, with plain MQTT on 1883 turned on beside mutual-TLS
// MQTT, both on fixed NodePorts.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a"},
		Pools: []stack.NodePool{{Name: "main", Arch: "amd64", CPU: resource.MustParse("8"), Memory: resource.MustParse("16Gi"), NodesPerZone: 1}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	pg, err := postgres.New(s, postgres.Config{Pool: "main", Instances: 1, PoolerReplicas: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	ca, err := x509.New(s, pg, x509.Config{Image: "dojot/x509-identity-mgmt:v0.5.0", Pool: "main",
		MongoURI: "mongodb://mongodb.iot.svc.cluster.local:27017/" + x509.MongoDatabase})
	if err != nil {
		fmt.Println(err)
		return
	}
	broker, err := vernemq.New(s, vernemq.Config{
		Image: "dojot/vernemq-dojot:v0.5.0", Pool: "main", EJBCAAddress: ca.Address,
		InsecureMQTT: true, NodePortMQTT: 30002, NodePortMQTTS: 30005,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	broker.Component.Uses(ca.API()) // admitted by the CA's NetworkPolicy
	out, err := s.Synth()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range out.Files {
		fmt.Println(f.Name)
	}
	for _, o := range out.Objects {
		if svc, ok := o.Object.(*corev1.Service); ok && svc.Spec.Type == corev1.ServiceTypeNodePort {
			for _, p := range svc.Spec.Ports {
				fmt.Println(o.Ref, p.Name, p.Port, p.NodePort)
			}
		}
	}
	fmt.Println(broker.Host)
	// Output:
	// 00-namespace.yaml
	// 01-postgres.yaml
	// 02-x509-identity-mgmt.yaml
	// 03-vernemq.yaml
	// kustomization.yaml
	// Service/iot/vernemq-k8s-external-service mqtt 1883 30002
	// Service/iot/vernemq-k8s-external-service mqtts 8883 30005
	// vernemq-k8s.iot.svc.cluster.local
}
