package profiles

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/vernemq"
	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// DojotValues is everything a user may change of the dojot profiles
// (small and 100k, whose defaults differ: SmallDefaults, HundredDefaults,
// which reproduce dist/small/ and dist/100k/ byte for byte): the two
// environments of dojot's installation guide "Dojot v0.5.0 – Guia de
// Instalação: Instalando a dojot no Kubernetes" (in Portuguese). In the
// component sections a zero value means the component's own default.
type DojotValues struct {
	Common
	// Version is the dojot release of every dojot image.
	Version string `json:"version"`
	// Services are the dojot services rendered (the environment's set).
	Services []string `json:"services" min:"1"`
	// Bridges is the number of k2v/v2k bridges and kafka-loopbacks; dojot
	// ties its topics' partitions to it.
	Bridges int32 `json:"bridges" min:"1" max:"100"`
	// Groups maps dojot's node groups (dojot, kafka, vernemq, x509) to the
	// topology's pools they run on.
	Groups map[string]string `json:"groups"`
	// NodePorts are the fixed NodePorts the load balancers forward to; 0
	// leaves a port off (metrics, CoAP and the LwM2M/HTTP agents are not
	// part of this release).
	NodePorts dojot.NodePorts `json:"nodePorts"`
	// Backends are the workers' addresses in the load balancers'
	// configurations; null (the default) takes documentation addresses
	// (192.0.2.0/24), one per node of the group's pool, to be replaced.
	Backends *dojot.Backends `json:"backends"`
	// Domain is the name users and devices reach dojot by (the load
	// balancer's DNS name): auth's password-reset links name it. Empty
	// keeps the guide's localhost.
	Domain string `json:"domain"`
	// InsecureMQTT serves plain MQTT on 1883 beside MQTTS.
	InsecureMQTT bool `json:"insecureMQTT"`
	// Lean sets memory requests to half the limits, so the guide's one
	// small worker holds every service.
	Lean bool `json:"lean"`
	// ZooKeeper is the coordination server.
	ZooKeeper zookeeper.Config `json:"zookeeper"`
	// Kafka is the broker (named kafka-server, the name dojot's services
	// expect). Its numPartitions is the bridges'.
	Kafka kafka.Config `json:"kafka"`
	// Postgres is the database of Kong, auth, device-manager and EJBCA.
	Postgres postgres.Config `json:"postgres"`
	// X509 is the certificate authority (x509-identity-mgmt with EJBCA);
	// its image defaults to dojot/x509-identity-mgmt:<version>.
	X509 x509.Config `json:"x509"`
	// VerneMQ is the MQTT broker; its image defaults to
	// dojot/vernemq-dojot:<version>, its NodePorts are nodePorts'.
	VerneMQ vernemq.Config `json:"vernemq"`
	// MongoDBSize and MinIOSize size the local volumes of MongoDB and MinIO.
	MongoDBSize resource.Quantity `json:"mongodbSize"`
	MinIOSize   resource.Quantity `json:"minioSize"`
	// Credentials name existing Secrets to use instead of generated ones.
	Credentials Credentials `json:"credentials"`
}

func dojotDefaults(hundred bool) *DojotValues {
	q := resource.MustParse
	v := &DojotValues{
		Common:  Common{Namespace: "dojot", Topology: topologyValues(SmallTopology()), RequestScale: 1, MonitoringNamespace: "monitoring"},
		Version: "v0.5.0", Services: dojot.SmallServices(), Bridges: 1,
		Groups:    map[string]string{"dojot": "dojot", "kafka": "dojot", "vernemq": "dojot", "x509": "dojot"},
		NodePorts: dojot.DefaultNodePorts(), InsecureMQTT: true, Lean: true,
		MongoDBSize: q("2Gi"), MinIOSize: q("2Gi"),
	}
	if hundred {
		v.Topology = topologyValues(HundredTopology())
		v.Version, v.Services, v.Bridges, v.Lean = "v0.5.0-alpha.4", dojot.HundredServices(), 9, false
		v.Groups = map[string]string{"dojot": "dojot", "kafka": "kafka", "vernemq": "vernemq", "x509": "x509"}
	}
	v.Topology.StorageClass = StorageClass{Name: dojot.LocalStorageClass, Create: true, Provisioner: localProvisioner}
	v.Topology.LoadBalancer = "generic"
	res := func(cpu, mem string) stack.Resources {
		r := stack.MustLimits(cpu, mem)
		if v.Lean {
			r.MemoryRequest = *resource.NewQuantity(r.MemoryLimit.Value()/2, resource.BinarySI)
		}
		return r
	}
	v.ZooKeeper = zookeeper.Config{Replicas: 1, Resources: res("500m", "512Mi"), HeapMiB: 256}
	v.ZooKeeper.Data.Size, v.ZooKeeper.Log.Size = q("1Gi"), q("1Gi")
	v.Kafka = kafka.Config{Name: "kafka-server", Brokers: 1, Resources: res("1", "1Gi"), HeapMiB: 512,
		DefaultReplicationFactor: 1, MinInsyncReplicas: 1, OffsetsTopicReplicationFactor: 1,
		TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1, AutoCreateTopics: true}
	v.Kafka.Data.Size = q("2Gi")
	v.Postgres = postgres.Config{Instances: 1, PoolerReplicas: 1, Resources: res("1", "1Gi"), PoolerResources: res("200m", "128Mi"), PoolSize: 10,
		Tuning: postgres.Tuning{MaxConnections: 100, SharedBuffers: "128MB", WorkMem: "4MB", MaintenanceWorkMem: "64MB", EffectiveCacheSize: "512MB"}}
	v.Postgres.Data.Size = q("2Gi")
	v.X509 = x509.Config{Resources: res("1", "1536Mi")}
	v.X509.Storage.Size = q("10Mi")
	v.VerneMQ = vernemq.Config{Replicas: 1, Resources: res("2", "1Gi")}
	if hundred {
		v.VerneMQ.Replicas = 3
	}
	return v
}

// SmallDefaults are small's values as the guide has them.
func SmallDefaults() *DojotValues { return dojotDefaults(false) }

// HundredDefaults are 100k's values as the guide has them.
func HundredDefaults() *DojotValues { return dojotDefaults(true) }

// localProvisioner is the provisioner of local-volume classes.
const localProvisioner = "kubernetes.io/no-provisioner"

// Validate checks what tags cannot.
func (v *DojotValues) Validate() []values.FieldError {
	errs := v.Common.Validate()
	if v.Topology.LoadBalancer != "generic" {
		errs = append(errs, values.Errorf("topology.loadBalancer", v.Topology.LoadBalancer, "dojot is fronted by its own NGINX or HAProxy on the NodePorts; allowed: generic"))
	}
	refs := map[string]string{}
	for _, g := range []string{"dojot", "kafka", "vernemq", "x509"} {
		if v.Groups[g] == "" {
			errs = append(errs, values.Errorf("groups."+g, "", "required: the pool of topology.pools the group runs on"))
		}
		refs["groups."+g] = v.Groups[g]
	}
	errs = append(errs, checkPools(v.Topology, refs)...)
	for _, g := range sortedKeys(v.Groups) {
		switch g {
		case "dojot", "kafka", "vernemq", "x509":
		default:
			errs = append(errs, values.Errorf("groups."+g, g, "unknown group; allowed: dojot, kafka, vernemq, x509"))
		}
	}
	if err := v.NodePorts.Validate(); err != nil {
		errs = append(errs, values.Errorf("nodePorts", nil, "%v", err))
	}
	if v.Kafka.NumPartitions != 0 && v.Kafka.NumPartitions != int(v.Bridges) {
		errs = append(errs, values.Errorf("kafka.numPartitions", v.Kafka.NumPartitions, "must equal bridges %d (dojot ties its topics' partitions to the bridges); leave it 0 to follow bridges", v.Bridges))
	}
	return errs
}
