package dojot

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/vernemq"
	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
)

// Group is a dojot node group (the dojot.components/group node label).
type Group string

// The node groups of the 100k environment.
const (
	GroupDojot   Group = "dojot"
	GroupKafka   Group = "kafka"
	GroupVerneMQ Group = "vernemq"
	GroupX509    Group = "x509"
)

// Config configures the dojot services.
type Config struct {
	// Version is the tag of the dojot/* images (v0.5.0; the guide's 100k
	// environment uses v0.5.0-alpha.4).
	Version string
	// Services is the set of optional services to run; nil means every
	// service of the few-devices environment.
	Services []string
	// Bridges is the number of k2v-bridge, v2k-bridge and kafka-loopback
	// pods, and the partitions of dojot's Kafka topics; default 1.
	Bridges int32
	// Pools maps each node group to the topology pool its services run on.
	Pools map[Group]string
	// Storage is the StorageClass of every volume ("" : cluster default).
	StorageClass string
	// NodePorts are the fixed NodePorts; default DefaultNodePorts.
	NodePorts NodePorts
	// Domain is the name users reach dojot by (auth's password-reset
	// link); default "localhost".
	Domain string
	// Lean sets memory requests to half of the limits, for the
	// few-devices environment whose single worker holds every service.
	Lean bool
}

// Deps are the data-tier handles dojot is wired from.
type Deps struct {
	Kafka     *kafka.Handle
	ZooKeeper *zookeeper.Handle
	Postgres  *postgres.Handle
	X509      *x509.Handle
	VerneMQ   *vernemq.Handle
}

// Optional services, by name.
var allServices = []string{
	"auth", "backstage", "cron", "data-broker", "data-manager", "device-manager", "flowbroker", "gui",
	"history", "image-manager", "k2v-bridge", "kafka-loopback", "kafka-ws", "kafka2ftp", "kong",
	"minio", "mongodb", "persister", "rabbitmq", "v2k-bridge",
}

// SmallServices is the few-devices environment: every service but
// kafka-loopback.
func SmallServices() []string {
	var out []string
	for _, s := range allServices {
		if s != "kafka-loopback" {
			out = append(out, s)
		}
	}
	return out
}

// HundredServices is the guide's 100k subset (deploy.yaml --tags 100k):
// apigw, auth, data-broker, the bridges, kafka-loopback, kafka-ws and
// MongoDB (for x509-identity-mgmt).
func HundredServices() []string {
	return []string{"auth", "data-broker", "k2v-bridge", "kafka-loopback", "kafka-ws", "kong", "mongodb", "v2k-bridge"}
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Version == "" {
		c.Version = "v0.5.0"
	}
	if c.Services == nil {
		c.Services = SmallServices()
	}
	if c.Bridges == 0 {
		c.Bridges = 1
	}
	if c.NodePorts == (NodePorts{}) {
		c.NodePorts = DefaultNodePorts()
	}
	if c.Domain == "" {
		c.Domain = "localhost"
	}
}

// Validate checks a defaulted Config.
func (c Config) Validate(topo stack.Topology) error {
	if c.Version == "" || c.Version == "latest" || strings.ContainsAny(c.Version, " :/") {
		return fmt.Errorf("dojot: version %q; must be a pinned tag such as v0.5.0", c.Version)
	}
	known := map[string]bool{}
	for _, s := range allServices {
		known[s] = true
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if !known[s] {
			return fmt.Errorf("dojot: services: unknown service %q; known: %s", s, strings.Join(allServices, ", "))
		}
		if seen[s] {
			return fmt.Errorf("dojot: services: %q listed twice", s)
		}
		seen[s] = true
	}
	for _, need := range [][2]string{{"history", "mongodb"}, {"persister", "mongodb"}, {"image-manager", "minio"}, {"kafka-loopback", "auth"}, {"kafka-loopback", "data-broker"}} {
		if seen[need[0]] && !seen[need[1]] {
			return fmt.Errorf("dojot: services: %s needs %s", need[0], need[1])
		}
	}
	if c.Bridges < 1 || c.Bridges > 100 {
		return fmt.Errorf("dojot: bridges %d; allowed 1 to 100", c.Bridges)
	}
	for _, g := range []Group{GroupDojot, GroupKafka, GroupVerneMQ, GroupX509} {
		if _, err := topo.Pool(c.Pools[g]); err != nil {
			return fmt.Errorf("dojot: pools[%s]: %w", g, err)
		}
	}
	return c.NodePorts.Validate()
}

// Has reports whether the service runs.
func (c Config) Has(name string) bool {
	for _, s := range c.Services {
		if s == name {
			return true
		}
	}
	return false
}

// CheckPartitions rejects a Kafka default partition count that differs
// from the bridges: k2v-bridge instances beyond the partitions sit idle,
// and partitions beyond the instances are read by none in parallel.
func CheckPartitions(partitions int, bridges int32) error {
	if partitions != int(bridges) {
		return fmt.Errorf("dojot: Kafka numPartitions %d must equal the %d bridges (dojot_bridges_replicas sets both): extra bridges sit idle, extra partitions lose parallelism", partitions, bridges)
	}
	return nil
}

// sortedServices returns the services in name order.
func sortedServices(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// lean returns limits with CPU requests a tenth and memory requests half of
// the limit (Config.Lean), or stack.FromLimits's rule (memory request = limit).
func (c Config) resources(cpu, memory string) stack.Resources {
	r := stack.MustLimits(cpu, memory)
	if c.Lean {
		half := resource.NewQuantity(r.MemoryLimit.Value()/2, resource.BinarySI)
		r.MemoryRequest = *half
	}
	return r
}
