package values_test

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/iotstack/iotstack/values"
	"k8s.io/apimachinery/pkg/api/resource"
)

//go:generate go run github.com/iotstack/iotstack/values/internal/docgen -pkg values_test -tests -files example_test.go -o zz_docs_test.go

// Config is a demo platform's values: everything a user may change.
type Config struct {
	// Namespace is the Kubernetes namespace of every object.
	Namespace string `json:"namespace"`
	// Topology is the shape of the cluster.
	Topology Topology `json:"topology"`
	// Kafka configures the message broker.
	Kafka Kafka `json:"kafka"`
	// Images says where the images come from.
	Images Images `json:"images"`
	// Exposure says how clients reach the platform.
	Exposure Exposure `json:"exposure"`
}

// Topology is the cluster's zones and node pools.
type Topology struct {
	// Zones are the values of topology.kubernetes.io/zone, in order.
	Zones []string `json:"zones" min:"1"`
	// Pools are the node pools; every pool has nodes in every zone.
	Pools []Pool `json:"pools" min:"1"`
}

// Pool is a group of identical nodes in every zone.
type Pool struct {
	// Name identifies the pool.
	Name string `json:"name"`
	// InstanceType is the cloud instance type (free text).
	InstanceType string `json:"instanceType"`
	// Arch is the nodes' CPU architecture.
	Arch Arch `json:"arch"`
	// CPU is the vCPU count of one node.
	CPU resource.Quantity `json:"cpu"`
	// Memory is the memory of one node.
	Memory resource.Quantity `json:"memory"`
	// NodesPerZone is the number of nodes of the pool in each zone.
	NodesPerZone int `json:"nodesPerZone" min:"1" max:"100"`
	// Labels identify the pool's nodes.
	Labels map[string]string `json:"labels"`
	// Taints are the pool's node taints.
	Taints []Taint `json:"taints"`
}

// Arch is a CPU architecture as in kubernetes.io/arch.
type Arch string

// Enum lists the architectures the demo supports.
func (Arch) Enum() []string { return []string{"amd64", "arm64"} }

// Taint is a node taint.
type Taint struct {
	// Key is the taint's key.
	Key string `json:"key"`
	// Value is the taint's value.
	Value string `json:"value"`
	// Effect is what the taint does to pods that do not tolerate it.
	Effect string `json:"effect" enum:"NoSchedule,PreferNoSchedule,NoExecute"`
}

// Kafka is the message broker's settings.
type Kafka struct {
	// Brokers is the number of brokers.
	Brokers int32 `json:"brokers" min:"1" max:"255"`
	// ReplicationFactor is the default replication factor of topics; at
	// most Brokers.
	ReplicationFactor int `json:"replicationFactor" min:"1"`
	// Retention is how long messages are kept.
	Retention time.Duration `json:"retention"`
	// Storage is the brokers' volume; null keeps data in the pod.
	Storage *Storage `json:"storage"`
	// Topics are created at install, by name.
	Topics map[string]Topic `json:"topics"`
}

// Topic is a Kafka topic.
type Topic struct {
	// Partitions is the topic's partition count.
	Partitions int `json:"partitions" min:"1"`
	// Compact turns log compaction on.
	Compact bool `json:"compact"`
}

// Validate checks what the tags cannot: the replication factor against
// the brokers.
func (k Kafka) Validate() []values.FieldError {
	if k.ReplicationFactor > int(k.Brokers) {
		return []values.FieldError{values.Errorf("replicationFactor", k.ReplicationFactor, "exceeds brokers %d", k.Brokers)}
	}
	return nil
}

// Storage is a persistent volume.
type Storage struct {
	// Size is the volume's size.
	Size resource.Quantity `json:"size"`
	// Class is the StorageClass; empty for the cluster's default.
	Class string `json:"class"`
}

// Images is where images come from.
type Images struct {
	// Registry, when set, replaces every image's registry (a mirror).
	Registry string `json:"registry"`
	// PullPolicy is the containers' imagePullPolicy.
	PullPolicy string `json:"pullPolicy" enum:"Always,IfNotPresent,Never"`
	// Tags override image tags by component name.
	Tags map[string]string `json:"tags"`
}

// Exposure is how clients reach the platform.
type Exposure struct {
	// Domain is the platform's DNS name.
	Domain string `json:"domain"`
	// Address is the load balancer's fixed IP address; empty for any.
	Address netip.Addr `json:"address"`
	// RequestScale multiplies CPU and memory requests.
	RequestScale float64 `json:"requestScale" min:"0" max:"1"`
	// TLS turns HTTPS on.
	TLS bool `json:"tls"`
}

// Defaults returns the demo's defaults.
func Defaults() Config {
	return Config{
		Namespace: "demo",
		Topology: Topology{
			Zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"},
			Pools: []Pool{{
				Name: "main", InstanceType: "r7g.xlarge", Arch: "arm64",
				CPU: resource.MustParse("4"), Memory: resource.MustParse("32Gi"),
				NodesPerZone: 1, Labels: map[string]string{"role": "main"},
			}},
		},
		Kafka: Kafka{Brokers: 3, ReplicationFactor: 2, Retention: 24 * time.Hour, Storage: &Storage{Size: resource.MustParse("10Gi")},
			Topics: map[string]Topic{"events": {Partitions: 3}}},
		Images:   Images{PullPolicy: "IfNotPresent"},
		Exposure: Exposure{Domain: "demo.example.com", RequestScale: 1},
	}
}

func ExampleLoad() {
	cfg := Defaults()
	prod := values.Doc{Name: "prod.yaml", Data: []byte(`
namespace: prod
topology:
  zones: [us-east-1a, us-east-1b, us-east-1c]
  pools:
    - name: main
      instanceType: m7g.xlarge
      arch: arm64
      cpu: 4
      memory: 16Gi
      nodesPerZone: 2
kafka:
  replicationFactor: 3
`)}
	if err := values.Load(&cfg, prod); err != nil {
		fmt.Println(err)
		return
	}
	p := cfg.Topology.Pools[0]
	fmt.Println(cfg.Namespace, cfg.Topology.Zones, p.InstanceType, p.Memory.String(), p.Labels, cfg.Kafka.ReplicationFactor, cfg.Kafka.Brokers)

	bad := values.Doc{Name: "bad.yaml", Data: []byte(`
namespace: 42
topology:
  pools:
    - name: main
      cpu: 4 cores
kafka:
  replicas: 5
  replicationFactor: 4
`)}
	fmt.Println(values.Load(&cfg, bad))
	// Output:
	// prod [us-east-1a us-east-1b us-east-1c] m7g.xlarge 16Gi map[] 3 3
	// 5 errors in values:
	//   - bad.yaml:2: namespace: 42; expected a string, got an integer (quote it, "42", to make it a string)
	//   - bad.yaml:5: topology.pools[0].arch: missing; required, since "" is not allowed (allowed values: amd64, arm64)
	//   - bad.yaml:5: topology.pools[0].nodesPerZone: missing; required, since 0 is not allowed (from 1 to 100)
	//   - bad.yaml:6: topology.pools[0].cpu: "4 cores"; not a quantity (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'); expected a Kubernetes quantity such as 4, 500m or 16Gi
	//   - bad.yaml:8: kafka.replicas: unknown key "replicas"; known keys: brokers, replicationFactor, retention, storage, topics
}

func ExampleSet() {
	cfg := Defaults()
	err := values.Set(&cfg,
		"namespace=123",
		"topology.zones={us-east-1a,us-east-1b}",
		"topology.zones[2]=us-east-1c",
		"topology.pools[0].labels.role=tb",
		`topology.pools[0].labels["kubernetes.io/arch"]=arm64`,
		"kafka.storage.size=50Gi",
		"kafka.retention=72h",
	)
	fmt.Println(err)
	fmt.Printf("%q %v %v %s %s\n", cfg.Namespace, cfg.Topology.Zones, cfg.Topology.Pools[0].Labels, cfg.Kafka.Storage.Size.String(), cfg.Kafka.Retention)

	err = values.Set(&cfg, "topology.zones[5]=x", "kafka.brokers=many", "kafka.replicationFactor=4")
	fmt.Println(err)
	err = values.Set(&cfg, "kafka.replicationFactor=4")
	fmt.Println(err)
	// Output:
	// <nil>
	// "123" [us-east-1a us-east-1b us-east-1c] map[kubernetes.io/arch:arm64 role:tb] 50Gi 72h0m0s
	// 2 errors in values:
	//   - --set: topology.zones[5]: index 5 is beyond the end of the list (3 items); use [3] to append
	//   - --set: kafka.brokers: "many"; expected an integer, got a string
	// kafka.replicationFactor: 4; exceeds brokers 3
}

func ExampleSchema() {
	cfg := Defaults()
	s, err := values.Schema(&cfg, "https://example.com/demo.values.schema.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Print the schema of one property.
	text := string(s)
	i := strings.Index(text, `"brokers": {`)
	j := strings.Index(text[i:], "},")
	fmt.Println(text[i : i+j+1])
	// Output:
	// "brokers": {
	//           "default": 3,
	//           "description": "Brokers is the number of brokers.\nFrom 1 to 255.",
	//           "maximum": 255,
	//           "minimum": 1,
	//           "type": [
	//             "integer"
	//           ]
	//         }
}

func ExampleRender() {
	cfg := Defaults()
	out, err := values.Render(&cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The first lines: the root type's doc, then each field with its doc.
	fmt.Println(strings.Join(strings.Split(string(out), "\n")[:12], "\n"))
	// Output:
	// # Config is a demo platform's values: everything a user may change.
	//
	// # Namespace is the Kubernetes namespace of every object.
	// namespace: demo
	// # Topology is the shape of the cluster.
	// topology:
	//   # Zones are the values of topology.kubernetes.io/zone, in order.
	//   # At least 1 item.
	//   zones: [eu-west-1a, eu-west-1b, eu-west-1c]
	//   # Pools are the node pools; every pool has nodes in every zone.
	//   # At least 1 item.
	//   pools:
}
