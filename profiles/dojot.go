package profiles

import (
	"strconv"

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

// Small and Hundred are dojot v0.5.0's two Kubernetes environments (the
// install guide, seeds/000): few devices behind NGINX on one worker, and
// 100,000 devices behind HAProxy on node groups.
//
// Both run a single Kafka broker, ZooKeeper server and PostgreSQL instance
// (the guide's sizes; dojot's Kafka topics have replication 1), on local
// PersistentVolumes (StorageClass local-storage) at the guide's paths,
// each volume reserved for its claim and pinned to its group's nodes.
// Every workload is pinned to its node group (dojot.components/group).
// The load-balancer configuration is written next to the YAML: small's
// nginx/nginx.conf, 100k's haproxy/haproxy.cfg and the host's
// haproxy/90-dojot-haproxy.conf sysctl file; the worker addresses come from
// Options.Backends (the defaults are documentation addresses).
const (
	Small   = "small"
	Hundred = "100k"
)

// DojotGroupLabel is the node label dojot's manifests pin workloads with
// (dojot.components/group=vernemq|dojot|kafka|x509).
const DojotGroupLabel = "dojot.components/group"

// dojotZone names the single zone of the on-premises dojot clusters. Such
// nodes usually carry no zone label; a single-zone topology never asks for
// one, so the name only appears in simulated and kind clusters.
const dojotZone = "zone-a"

func init() {
	register(Profile{
		Name:        Small,
		Description: "dojot v0.5.0 for few devices: every service on one worker, NGINX in front",
		Source:      "dojot v0.5.0 Kubernetes install guide, few-devices environment (../shared/seeds/000_1acfbfba1cf21ce6.txt)",
		build:       func(o Options) (*Built, error) { return buildDojot(o, false) },
	})
	register(Profile{
		Name:        Hundred,
		Description: "dojot v0.5.0 for 100k MQTT devices: VerneMQ x3, 9 bridges, node groups, HAProxy in front",
		Source:      "dojot v0.5.0 Kubernetes install guide, 100k-devices environment (../shared/seeds/000_1acfbfba1cf21ce6.txt)",
		build:       func(o Options) (*Built, error) { return buildDojot(o, true) },
	})
}

func dojotPool(group string, cpu, memory string, nodes int) stack.NodePool {
	return stack.NodePool{
		Name:         group,
		Arch:         "amd64",
		CPU:          resource.MustParse(cpu),
		Memory:       resource.MustParse(memory),
		NodesPerZone: nodes,
		Labels:       map[string]string{DojotGroupLabel: group},
	}
}

// SmallTopology is the guide's few-devices worker (pp. 6-7: 4 cores,
// 6 GB), labelled dojot.components/group=dojot as the guide instructs.
func SmallTopology() stack.Topology {
	return stack.Topology{
		Zones: []string{dojotZone},
		Pools: []stack.NodePool{dojotPool("dojot", "4", "6Gi", 1)},
	}
}

// HundredTopology is the guide's 100k hardware (pp. 6-7): three VerneMQ
// nodes of 8 cores / 8 GB, and one node each for dojot (4/4), Kafka (6/6)
// and x509 (4/4), each group labelled dojot.components/group.
func HundredTopology() stack.Topology {
	return stack.Topology{
		Zones: []string{dojotZone},
		Pools: []stack.NodePool{
			dojotPool("vernemq", "8", "8Gi", 3),
			dojotPool("dojot", "4", "4Gi", 1),
			dojotPool("kafka", "6", "6Gi", 1),
			dojotPool("x509", "4", "4Gi", 1),
		},
	}
}

func buildDojot(opts Options, hundred bool) (*Built, error) {
	name, topo, version, bridges, pools := Small, SmallTopology(), "v0.5.0", int32(1), map[dojot.Group]string{
		dojot.GroupDojot: "dojot", dojot.GroupKafka: "dojot", dojot.GroupVerneMQ: "dojot", dojot.GroupX509: "dojot"}
	services, verneReplicas := dojot.SmallServices(), int32(1)
	if hundred {
		name, topo, version, bridges, verneReplicas = Hundred, HundredTopology(), "v0.5.0-alpha.4", 9, 3
		pools = map[dojot.Group]string{dojot.GroupDojot: "dojot", dojot.GroupKafka: "kafka", dojot.GroupVerneMQ: "vernemq", dojot.GroupX509: "x509"}
		services = dojot.HundredServices()
	}
	if opts.Bridges != 0 {
		bridges = opts.Bridges
	}
	partitions := int(bridges)
	if opts.KafkaPartitions != 0 {
		partitions = opts.KafkaPartitions
	}
	if err := dojot.CheckPartitions(partitions, bridges); err != nil {
		return nil, err
	}
	ports := dojot.DefaultNodePorts()
	if opts.NodePorts != nil {
		ports = *opts.NodePorts
	}
	insecure := true
	if opts.InsecureMQTT != nil {
		insecure = *opts.InsecureMQTT
	}
	s, err := stack.New(stack.Options{Name: name, Namespace: nsOr(opts, "dojot"), PartOf: "dojot", Topology: topo})
	if err != nil {
		return nil, err
	}
	group := func(g dojot.Group) map[string]string { return map[string]string{DojotGroupLabel: pools[g]} }
	// The guide's local volumes (local_storage_example/volumes), one per claim.
	volumes := []dojot.LocalVolume{
		{Name: "local-pv-kafka", Path: "/mnt/data/kafka", Size: "2Gi", Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupKafka), Claim: "data-kafka-server-0"},
		{Name: "local-pv-zk-data", Path: "/mnt/data/zookeeper/data", Size: "1Gi", Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupKafka), Claim: "data-zookeeper-0"},
		{Name: "local-pv-zk-log", Path: "/mnt/data/zookeeper/log", Size: "1Gi", Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupKafka), Claim: "datalog-zookeeper-0"},
		{Name: "local-pv-postgres", Path: "/mnt/data/postgres", Size: "2Gi", Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupDojot), Claim: "data-postgres-0"},
		{Name: "local-pv-mongo", Path: "/mnt/data/mongodb", Size: "2Gi", Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupDojot), Claim: "data-mongodb-0"},
		{Name: "local-pv-x509-identity-mgmt", Path: "/mnt/data/ejbca", Size: "10Mi", Mode: corev1.ReadWriteMany, NodeLabels: group(dojot.GroupX509), Claim: "x509-identity-mgmt"},
	}
	if !hundred {
		volumes = append(volumes, dojot.LocalVolume{Name: "local-pv-minio", Path: "/mnt/data/minio", Size: "2Gi", Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupDojot), Claim: "data-minio-0"})
	}
	if err := dojot.AddLocalStorage(s, volumes); err != nil {
		return nil, err
	}
	class := dojot.LocalStorageClass
	local := func(size string) stack.Storage { return stack.Storage{Size: resource.MustParse(size), Class: class} }
	lean := !hundred
	res := func(cpu, mem string) stack.Resources {
		r := stack.MustLimits(cpu, mem)
		if lean {
			r.MemoryRequest = *resource.NewQuantity(r.MemoryLimit.Value()/2, resource.BinarySI)
		}
		return r
	}
	zk, err := zookeeper.New(s, zookeeper.Config{Replicas: 1, Pool: pools[dojot.GroupKafka], Resources: res("500m", "512Mi"), HeapMiB: 256, Data: local("1Gi"), Log: local("1Gi")})
	if err != nil {
		return nil, err
	}
	kf, err := kafka.New(s, kafka.Config{Name: "kafka-server", Brokers: 1, Pool: pools[dojot.GroupKafka], Resources: res("1", "1Gi"), HeapMiB: 512,
		Data: local("2Gi"), DefaultReplicationFactor: 1, MinInsyncReplicas: 1, OffsetsTopicReplicationFactor: 1,
		TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1, NumPartitions: partitions, AutoCreateTopics: true})
	if err != nil {
		return nil, err
	}
	pg, err := postgres.New(s, postgres.Config{Instances: 1, PoolerReplicas: 1, Pool: pools[dojot.GroupDojot],
		Resources: res("1", "1Gi"), PoolerResources: res("200m", "128Mi"), Data: local("2Gi"), PoolSize: 10,
		Tuning: postgres.Tuning{MaxConnections: 100, SharedBuffers: "128MB", WorkMem: "4MB", MaintenanceWorkMem: "64MB", EffectiveCacheSize: "512MB"}})
	if err != nil {
		return nil, err
	}
	ca, err := x509.New(s, pg, x509.Config{Image: "dojot/x509-identity-mgmt:" + version, Pool: pools[dojot.GroupX509],
		Resources: res("1", "1536Mi"), Storage: stack.Storage{Size: resource.MustParse("10Mi"), Class: class},
		MongoURI: "mongodb://" + s.ServiceHost("mongodb") + ":27017/" + x509.MongoDatabase})
	if err != nil {
		return nil, err
	}
	broker, err := vernemq.New(s, vernemq.Config{Image: "dojot/vernemq-dojot:" + version, Replicas: verneReplicas, Pool: pools[dojot.GroupVerneMQ],
		InsecureMQTT: insecure, NodePortMQTT: ports.MQTT, NodePortMQTTS: ports.MQTTS, EJBCAAddress: ca.Address, Resources: res("2", "1Gi")})
	if err != nil {
		return nil, err
	}
	broker.Component.DependsOn(ca.Component)
	if err := dojot.New(s, dojot.Deps{Kafka: kf, ZooKeeper: zk, Postgres: pg, X509: ca, VerneMQ: broker}, dojot.Config{
		Version: version, Services: services, Bridges: bridges, Pools: pools, StorageClass: class, NodePorts: ports, Lean: lean,
	}); err != nil {
		return nil, err
	}
	b := defaultBackends(topo, pools)
	if opts.Backends != nil {
		b = *opts.Backends
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	built := &Built{Stack: s}
	if hundred {
		built.Files = []stack.File{
			{Name: "haproxy/haproxy.cfg", Data: []byte(dojot.HAProxyConfig(ports, b, insecure))},
			{Name: "haproxy/90-dojot-haproxy.conf", Data: []byte(dojot.SysctlConfig)},
		}
	} else {
		built.Files = []stack.File{{Name: "nginx/nginx.conf", Data: []byte(dojot.NginxConfig(ports, b, insecure))}}
	}
	return built, nil
}

// defaultBackends are documentation addresses (192.0.2.0/24, RFC 5737),
// one per node of each group's pool: replace them with the workers'.
func defaultBackends(topo stack.Topology, pools map[dojot.Group]string) dojot.Backends {
	addrs := map[string][]string{}
	n := 10
	for _, p := range topo.Pools {
		for i := 0; i < p.Nodes(topo); i++ {
			addrs[p.Name] = append(addrs[p.Name], "192.0.2."+strconv.Itoa(n))
			n++
		}
	}
	return dojot.Backends{
		APIGateway: addrs[pools[dojot.GroupDojot]],
		MQTT:       addrs[pools[dojot.GroupVerneMQ]],
		LwM2M:      addrs[pools[dojot.GroupDojot]],
		Metrics:    addrs[pools[dojot.GroupDojot]],
	}
}
