package dojot_test

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/vernemq"
	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
)

// dojot's services on a one-node cluster, wired from the data tier's
// handles, with only the API gateway, auth, data-broker, device-manager and
// MongoDB (which the CA's handle names) instead of every service of the
// few-devices environment.
func Example() {
	s, err := stack.New(stack.Options{Name: "lab", Namespace: "iot", Topology: stack.Topology{
		Zones: []string{"zone-a"},
		Pools: []stack.NodePool{{Name: "main", Arch: "amd64", CPU: resource.MustParse("8"), Memory: resource.MustParse("32Gi"), NodesPerZone: 1}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var d dojot.Deps
	var errs [5]error
	d.ZooKeeper, errs[0] = zookeeper.New(s, zookeeper.Config{Pool: "main", Replicas: 1})
	d.Kafka, errs[1] = kafka.New(s, kafka.Config{Name: "kafka-server", Pool: "main", Brokers: 1, DefaultReplicationFactor: 1,
		MinInsyncReplicas: 1, OffsetsTopicReplicationFactor: 1, TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1})
	d.Postgres, errs[2] = postgres.New(s, postgres.Config{Pool: "main", Instances: 1, PoolerReplicas: 1})
	if d.Postgres != nil {
		d.X509, errs[3] = x509.New(s, d.Postgres, x509.Config{Image: "dojot/x509-identity-mgmt:v0.5.0", Pool: "main",
			MongoURI: "mongodb://" + s.ServiceHost("mongodb") + ":27017/" + x509.MongoDatabase})
	}
	if d.X509 != nil {
		d.VerneMQ, errs[4] = vernemq.New(s, vernemq.Config{Image: "dojot/vernemq-dojot:v0.5.0", Pool: "main",
			EJBCAAddress: d.X509.Address, NodePortMQTTS: 30005})
	}
	if err := errors.Join(errs[:]...); err != nil {
		fmt.Println(err)
		return
	}
	pools := map[dojot.Group]string{dojot.GroupDojot: "main", dojot.GroupKafka: "main", dojot.GroupVerneMQ: "main", dojot.GroupX509: "main"}
	err = dojot.New(s, d, dojot.Config{Version: "v0.5.0", Pools: pools,
		Services: []string{"kong", "auth", "data-broker", "device-manager", "mongodb"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The CA's MongoURI names dojot's MongoDB, added after the CA.
	d.X509.Component.Uses(s.ComponentByName("mongodb").Pods("").Port("mongodb"))
	out, err := s.Synth()
	if err != nil {
		fmt.Println(err)
		return
	}
	var files []string
	for _, f := range out.Files {
		files = append(files, f.Name)
	}
	fmt.Println(strings.Join(files, " "))
	for _, o := range out.Objects {
		if svc, ok := o.Object.(*corev1.Service); ok && svc.Spec.Type == corev1.ServiceTypeNodePort {
			for _, p := range svc.Spec.Ports {
				fmt.Println(o.Ref, p.Name, p.NodePort)
			}
		}
	}
	// Output:
	// 00-namespace.yaml 01-zookeeper.yaml 02-kafka-server.yaml 03-postgres.yaml 04-x509-identity-mgmt.yaml 05-vernemq.yaml 06-mongodb.yaml 07-auth.yaml 08-data-broker.yaml 09-device-manager.yaml 10-kong.yaml kustomization.yaml
	// Service/iot/vernemq-k8s-external-service mqtts 30005
	// Service/iot/kong-external http 30001
}
