package profiles

import (
	"fmt"
	"net"
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
// installation guide "Dojot v0.5.0 – Guia de Instalação: Instalando a dojot no
// Kubernetes", in Portuguese): few devices behind NGINX on one worker, and
// 100,000 devices behind HAProxy on node groups.
//
// Both run a single Kafka broker, ZooKeeper server and PostgreSQL instance
// (the guide's sizes; dojot's Kafka topics have replication 1), on local
// PersistentVolumes (StorageClass local-storage) at the guide's paths,
// each volume reserved for its claim and pinned to its group's nodes.
// With nodeAffinity (100k's default) every workload is pinned to its node
// group (dojot.components/group); small, as the guide runs it
// (dojot_enable_node_affinity: false), asks for no node label, so it runs
// on an unlabelled worker (DojotValues.NodeAffinity).
// The load-balancer configuration is written next to the YAML: small's
// nginx/nginx.conf, 100k's haproxy/haproxy.cfg and the host's
// haproxy/90-dojot-haproxy.conf sysctl file; the worker addresses come from
// Options.Backends (the defaults are documentation addresses).
// 100k also renders dojot's Locust MQTT load test into loadtest/, applied
// separately, on a tainted client pool of its own (DojotLoadTest).
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
		Source:      `dojot v0.5.0 installation guide "Guia de Instalação: Instalando a dojot no Kubernetes", few-devices environment`,
		build:       func(v Values) (*Built, error) { return buildDojot(Small, v) },
		defaults:    func() Values { return SmallDefaults() },
		fromOptions: dojotFromOptions,
		validate:    validateDojotOptions,
	})
	register(Profile{
		Name:        Hundred,
		Description: "dojot v0.5.0 for 100k MQTT devices: VerneMQ x3, 9 bridges, node groups, HAProxy in front",
		Source:      `dojot v0.5.0 installation guide "Guia de Instalação: Instalando a dojot no Kubernetes", 100,000-devices environment`,
		build:       func(v Values) (*Built, error) { return buildDojot(Hundred, v) },
		defaults:    func() Values { return HundredDefaults() },
		fromOptions: dojotFromOptions,
		validate:    validateDojotOptions,
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
			hundredClientPool(),
		},
	}
}

func buildDojot(name string, vals Values) (*Built, error) {
	v, ok := vals.(*DojotValues)
	if !ok {
		return nil, fmt.Errorf("values: %T; want *profiles.DojotValues", vals)
	}
	pools := map[dojot.Group]string{}
	for g, p := range v.Groups {
		pools[dojot.Group(g)] = p
	}
	partitions := int(v.Bridges)
	if err := dojot.CheckPartitions(partitions, v.Bridges); err != nil {
		return nil, fmt.Errorf("bridges: %w", err)
	}
	if v.hasLwM2M() && name == Hundred {
		// The guide fronts 100k with HAProxy, which forwards TCP only.
		return nil, fmt.Errorf("agents: %q in %s: the LwM2M agent speaks CoAP over UDP, and %s's load balancer is HAProxy, which cannot carry UDP (the dojot v0.5.0 installation guide, p. 2, runs LwM2M behind NGINX in its small environment); choose vernemq or mosca here, or the small profile for LwM2M", v.Agents, name, name)
	}
	ports := v.EffectiveNodePorts()
	ns := v.Namespace
	common := v.Common
	if !v.NodeAffinity {
		// No required node affinity: the pools' labels are not asked for
		// (stack.PoolAffinity renders none for a pool without labels).
		common.Topology.Pools = append([]Pool(nil), common.Topology.Pools...)
		for i := range common.Topology.Pools {
			common.Topology.Pools[i].Labels = nil
		}
	}
	s, err := stack.New(common.stackOptions(name, "dojot"))
	if err != nil {
		return nil, err
	}
	topo := s.Topology()
	group := func(g dojot.Group) map[string]string { return map[string]string{DojotGroupLabel: pools[g]} }
	if !v.NodeAffinity {
		// Validate allows this with local volumes only on a one-node pool:
		// every Linux node label matches that node.
		group = func(dojot.Group) map[string]string { return map[string]string{corev1.LabelOSStable: "linux"} }
	}
	sc := v.Topology.StorageClass
	local := sc.Create && sc.Provisioner == localProvisioner
	class := sc.Name
	if local {
		// The guide's local volumes (local_storage_example/volumes), one
		// per claim, sized as the claims; their directories are the
		// guide's under /mnt/data/<namespace>/ so that two stacks on the
		// same nodes never share a directory.
		dir := func(p string) string { return "/mnt/data/" + ns + "/" + p }
		size := func(q resource.Quantity) string { return q.String() }
		// A store whose persistence is off claims nothing, so no volume
		// is reserved for it (and prepare-node.sh, which follows the
		// rendered volumes, makes no directory for it).
		p := v.Persistence
		var volumes []dojot.LocalVolume
		for _, lv := range []struct {
			on bool
			dojot.LocalVolume
		}{
			{persistent(p.Kafka), dojot.LocalVolume{Name: "local-pv-kafka", Path: dir("kafka"), Size: size(v.Kafka.Data.Size), Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupKafka), Claim: "data-" + kafkaName(v) + "-0"}},
			{persistent(p.ZooKeeper), dojot.LocalVolume{Name: "local-pv-zk-data", Path: dir("zookeeper/data"), Size: size(v.ZooKeeper.Data.Size), Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupKafka), Claim: "data-zookeeper-0"}},
			{persistent(p.ZooKeeper), dojot.LocalVolume{Name: "local-pv-zk-log", Path: dir("zookeeper/log"), Size: size(v.ZooKeeper.Log.Size), Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupKafka), Claim: "datalog-zookeeper-0"}},
			// persistence.postgres is always on (validatePersistence).
			{true, dojot.LocalVolume{Name: "local-pv-postgres", Path: dir("postgres"), Size: size(v.Postgres.Data.Size), Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupDojot), Claim: "data-postgres-0"}},
			{persistent(p.MongoDB), dojot.LocalVolume{Name: "local-pv-mongo", Path: dir("mongodb"), Size: size(v.MongoDBSize), Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupDojot), Claim: "data-mongodb-0"}},
			{persistent(p.X509IdentityMgmt), dojot.LocalVolume{Name: "local-pv-x509-identity-mgmt", Path: dir("ejbca"), Size: size(v.X509.Storage.Size), Mode: corev1.ReadWriteMany, NodeLabels: group(dojot.GroupX509), Claim: "x509-identity-mgmt"}},
			{persistent(p.MinIO) && contains(v.Services, "minio"), dojot.LocalVolume{Name: "local-pv-minio", Path: dir("minio"), Size: size(v.MinIOSize), Mode: corev1.ReadWriteOnce, NodeLabels: group(dojot.GroupDojot), Claim: "data-minio-0"}},
		} {
			if lv.on {
				volumes = append(volumes, lv.LocalVolume)
			}
		}
		if err := dojot.AddLocalStorage(s, volumes); err != nil {
			return nil, err
		}
		class = dojot.LocalStorageClass
	} else if class, err = addStorageClass(s, sc); err != nil {
		return nil, err
	}
	withClass := func(st stack.Storage) stack.Storage {
		if st.Class == "" {
			st.Class = class
		}
		return st
	}
	zkc := v.ZooKeeper
	zkc.Pool = pools[dojot.GroupKafka]
	zkc.Data, zkc.Log = withClass(zkc.Data), withClass(zkc.Log)
	zk, err := zookeeper.New(s, zkc)
	if err != nil {
		return nil, err
	}
	if !persistent(v.Persistence.ZooKeeper) {
		if err := dojot.Ephemeral(zk.Component, "data", "datalog"); err != nil {
			return nil, err
		}
	}
	kfc := v.Kafka
	kfc.Pool, kfc.NumPartitions = pools[dojot.GroupKafka], partitions
	kfc.Data = withClass(kfc.Data)
	kf, err := kafka.New(s, kfc)
	if err != nil {
		return nil, err
	}
	if !persistent(v.Persistence.Kafka) {
		if err := dojot.Ephemeral(kf.Component, "data"); err != nil {
			return nil, err
		}
	}
	pgc := postgresBackup(&v.Common, v.Postgres)
	pgc.Pool = pools[dojot.GroupDojot]
	pgc.Data = withClass(pgc.Data)
	pg, err := postgres.New(s, pgc)
	if err != nil {
		return nil, err
	}
	xc := v.X509
	xc.Pool = pools[dojot.GroupX509]
	xc.Storage = withClass(xc.Storage)
	xc.Ephemeral = !persistent(v.Persistence.X509IdentityMgmt)
	if xc.Image == "" {
		xc.Image = "dojot/x509-identity-mgmt:" + v.Version
	}
	if xc.MongoURI == "" {
		xc.MongoURI = "mongodb://" + s.ServiceHost("mongodb") + ":27017/" + x509.MongoDatabase
	}
	ca, err := x509.New(s, pg, xc)

	if err != nil {
		return nil, err
	}
	var broker *vernemq.Handle
	if v.hasVerneMQ() {
		vc := v.VerneMQ
		vc.Pool = pools[dojot.GroupVerneMQ]
		if vc.Image == "" {
			vc.Image = "dojot/vernemq-dojot:" + v.Version
		}
		vc.InsecureMQTT, vc.NodePortMQTT, vc.NodePortMQTTS, vc.EJBCAAddress = v.InsecureMQTT, ports.MQTT, ports.MQTTS, ca.Address
		if vc.ExternalHostname == "" && vc.ExternalIP == "" && v.Domain != "" {
			vc.ExternalHostname = v.Domain
			if net.ParseIP(v.Domain) != nil {
				vc.ExternalIP = v.Domain
			}
		}
		if broker, err = vernemq.New(s, vc); err != nil {
			return nil, err
		}
		broker.Component.DependsOn(ca.Component)
		broker.Component.Uses(ca.API()) // the brokers fetch their certificates at start (EJBCAAddress)
	}
	if err := dojot.New(s, dojot.Deps{Kafka: kf, ZooKeeper: zk, Postgres: pg, X509: ca, VerneMQ: broker}, dojot.Config{
		Version: v.Version, Services: v.dojotServices(), Bridges: v.Bridges, Pools: pools, StorageClass: class, NodePorts: ports, Lean: v.Lean, Domain: v.Domain,
		InsecureMQTT: v.InsecureMQTT, Email: v.AuthEmail, MutualTLS: v.MutualTLS, KafkaWSTLS: v.KafkaWSTLS,
	}); err != nil {
		return nil, err
	}
	for _, st := range []struct {
		name string
		on   bool
	}{{"mongodb", persistent(v.Persistence.MongoDB)}, {"minio", persistent(v.Persistence.MinIO)}} {
		if c := s.ComponentByName(st.name); c != nil && !st.on {
			if err := dojot.Ephemeral(c, "data"); err != nil {
				return nil, err
			}
		}
	}
	if mosca := s.ComponentByName(dojot.IoTAgentMosca); mosca != nil {
		mosca.DependsOn(ca.Component) // its certificate is signed at start (initialConf.py)
	}
	// x509-identity-mgmt's MongoURI names dojot's MongoDB, which dojot.New
	// adds after it.
	if mongo := s.ComponentByName("mongodb"); mongo != nil {
		ca.Component.Uses(mongo.Pods("").Port("mongodb"))
	}
	if err := buildUIs(s, dojotUIs(v), pools[dojot.GroupKafka], kf, pg, nil, nil); err != nil {
		return nil, err
	}
	if err := buildDojotBackups(s, v, pools[dojot.GroupDojot]); err != nil {
		return nil, err
	}
	if err := useExisting(s, v.Credentials, "credentials.existingSecrets"); err != nil {
		return nil, err
	}
	b := defaultBackends(topo, pools)
	if !v.hasVerneMQ() {
		b.MQTT = b.APIGateway // Mosca runs on the dojot workers (its role's dojot node label)
	}
	if ports.MetricsServed() {
		b.Metrics = b.APIGateway // the guide runs metrics on the dojot workers
	}
	if ports.LwM2MServed() {
		b.LwM2M = b.APIGateway // the LwM2M agent too (its role's dojot node label)
	}
	if v.Backends != nil {
		b = *v.Backends
		if ports.MetricsServed() && len(b.Metrics) == 0 {
			b.Metrics = b.APIGateway // as above, unless listed
		}
		if ports.LwM2MServed() && len(b.LwM2M) == 0 {
			b.LwM2M = b.APIGateway // as above, unless listed
		}
	}
	built := &Built{Stack: s, Grafana: GrafanaAccess{NodePort: ports.Metrics},
		// The guide runs Prometheus on the dojot node (its
		// local-pv-prometheus in /mnt/data/prometheus there); the
		// monitoring follows nodeAffinity like every workload.
		monitoring: monitoringPlacement{common: &common, pool: pools[dojot.GroupDojot]}}
	if local {
		built.monitoring.localNodes = group(dojot.GroupDojot)
	}
	if v.LoadTest.Enabled {
		// The load test, as a separate kustomization in
		// dist/<profile>/loadtest/: applying the stack never starts load.
		part, err := buildDojotLoadTest(name, v, common, s)
		if err != nil {
			return nil, err
		}
		built.Parts = append(built.Parts, part)
	}
	if name == Hundred {
		conf, err := dojot.HAProxyConfig(ports, b, v.InsecureMQTT)
		if err != nil {
			return nil, err
		}
		built.Files = []stack.File{
			{Name: "haproxy/haproxy.cfg", Data: []byte(conf)},
			{Name: "haproxy/" + haproxySysctlsFile, Data: []byte(dojot.SysctlConfig)},
		}
		// The node script installs the same file on the HAProxy host.
		built.cluster = &clusterSpec{lbSysctls: dojot.SysctlConfig, lbSysctlsFile: haproxySysctlsFile}
	} else {
		conf, err := dojot.NginxConfig(ports, b, v.InsecureMQTT)
		if err != nil {
			return nil, err
		}
		built.Files = []stack.File{{Name: "nginx/nginx.conf", Data: []byte(conf)}}
	}
	return built, nil
}

// kafkaName is the Kafka component's name (kafka-server unless set).
func kafkaName(v *DojotValues) string {
	if v.Kafka.Name != "" {
		return v.Kafka.Name
	}
	return "kafka"
}

// dojotFromOptions maps the Options shorthand onto the values.
func dojotFromOptions(vals Values, opts Options) {
	v := vals.(*DojotValues)
	if opts.Bridges != 0 {
		v.Bridges = opts.Bridges
	}
	if opts.KafkaPartitions != 0 {
		v.Kafka.NumPartitions = opts.KafkaPartitions
	}
	if opts.NodePorts != nil {
		v.NodePorts = *opts.NodePorts
	}
	if opts.Backends != nil {
		b := *opts.Backends
		v.Backends = &b
	}
	if opts.InsecureMQTT != nil {
		v.InsecureMQTT = *opts.InsecureMQTT
	}
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
	}
}
