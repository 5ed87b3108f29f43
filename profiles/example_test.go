package profiles_test

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/values"
)

// Build minimal-3az from a values document and one --set override,
// synthesize it in memory and look at what came out: the same path as
// `iotstack synth minimal-3az -f lab.yaml --set ...`, without writing files.
func ExampleProfile_Load() {
	p, err := profiles.Get(profiles.Minimal3AZ)
	if err != nil {
		fmt.Println(err)
		return
	}
	lab := values.Doc{Name: "lab.yaml", Data: []byte(`
namespace: tb-lab
topology:
  zones: [us-east-1a, us-east-1b, us-east-1c]
`)}
	v, err := p.Load([]values.Doc{lab}, []string{"images.registry=registry.lab:5000"})
	if err != nil {
		fmt.Println(err)
		return
	}
	built, err := p.BuildValues(v)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := profiles.SynthBuilt(p.Name, built)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("namespace:", out.Namespace, "zones:", out.Topology.Zones)
	fmt.Println("first files:", out.Files[0].Name, out.Files[1].Name, out.Files[2].Name)
	for _, o := range out.Objects {
		if sts, ok := o.Object.(*appsv1.StatefulSet); ok && sts.Name == "kafka" {
			fmt.Println(o.File, o.Ref, "image", sts.Spec.Template.Spec.Containers[0].Image)
		}
	}
	// Output:
	// namespace: tb-lab zones: [us-east-1a us-east-1b us-east-1c]
	// first files: 00-namespace.yaml 01-storage.yaml 02-zookeeper.yaml
	// 03-kafka.yaml StatefulSet/tb-lab/kafka image registry.lab:5000/apache/kafka:4.1.0
}

// Bad values are refused before anything is built, every problem at once,
// each named by its file, line and values path: first what does not decode
// (unknown keys, wrong types), then what decodes but is not allowed.
func ExampleProfile_Load_errors() {
	p, _ := profiles.Get(profiles.Minimal3AZ)
	typo := values.Doc{Name: "typo.yaml", Data: []byte(`
kafka:
  replicas: 5
  brokers: three
`)}
	_, err := p.Load([]values.Doc{typo}, nil)
	fmt.Println(err)
	bad := values.Doc{Name: "bad.yaml", Data: []byte(`
namespace: kube-lab
kafka:
  defaultReplicationFactor: 4
`)}
	_, err = p.Load([]values.Doc{bad}, []string{"kafka.brokers=2"})
	fmt.Println(err)
	// Output:
	// 2 errors in values:
	//   - typo.yaml:3: kafka.replicas: unknown key "replicas"; known keys: name, brokers, image, exporterImage, exporterResources, pool, resources, heapMiB, data, defaultReplicationFactor, minInsyncReplicas, offsetsTopicReplicationFactor, transactionStateLogReplicationFactor, transactionStateLogMinISR, autoCreateTopics, numPartitions, retentionHours, retentionMinutes, partitionsPerBroker, segmentBytes, retentionBytes
	//   - typo.yaml:4: kafka.brokers: "three"; expected an integer, got a string
	// 3 errors in values:
	//   - namespace: "kube-lab"; "kube-lab": the prefix kube- is reserved for Kubernetes system namespaces
	//   - kafka.defaultReplicationFactor: 4; exceeds brokers 2
	//   - kafka: kafka: defaultReplicationFactor 4; must be 1 to 2 (the number of brokers): a partition cannot have more replicas than brokers
}
