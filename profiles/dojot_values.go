package profiles

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

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
	// The IoT agents and gui-v2 are chosen by agents and guiV2, not
	// listed; without VerneMQ the k2v and v2k bridges are left out.
	Services []string `json:"services" min:"1"`
	// Bridges is the number of k2v/v2k bridges and kafka-loopbacks; dojot
	// ties its topics' partitions to it.
	Bridges int32 `json:"bridges" min:"1" max:"100"`
	// Groups maps dojot's node groups (dojot, kafka, vernemq, x509) to the
	// topology's pools they run on.
	Groups map[string]string `json:"groups"`
	// NodePorts are the fixed NodePorts the load balancers forward to.
	// A port whose service is off must stay 0; one whose service is on
	// and left 0 takes the guide's value: apiGatewayHTTPS 30002 with
	// mutualTLS, metrics 30003 with the monitoring, coAP, coAPS,
	// fileServer, fileServers and httpAgent 30006-30010 with an lwm2m
	// agent.
	NodePorts dojot.NodePorts `json:"nodePorts"`
	// Backends are the workers' addresses in the load balancers'
	// configurations; null (the default) takes documentation addresses
	// (192.0.2.0/24), one per node of the group's pool, to be replaced.
	Backends *dojot.Backends `json:"backends"`
	// Domain is the name users and devices reach dojot by: the load
	// balancer's DNS name or IP address. The brokers' certificates carry
	// it (VerneMQ's EXTERNAL_SERVER_HOSTNAME, or EXTERNAL_SERVER_IP for an
	// address), and auth's password-reset links name it. Required, and
	// neither localhost nor a loopback address, while MQTTS is served
	// (nodePorts.mqtts set). The default, dojot.example.com (RFC 2606), is
	// a documentation name to replace, as the backends' 192.0.2.x are.
	Domain string `json:"domain"`
	// NodeAffinity pins every workload to its group's pool by the pools'
	// labels (dojot.components/group), as the guide's
	// dojot_enable_node_affinity: true. false (small's default, the
	// guide's setting for few devices) ignores the pools' labels, so the
	// stack runs on an unlabelled worker; it needs a single pool, and with
	// the local storage class a single node, whose local volumes then
	// select it by kubernetes.io/os=linux.
	NodeAffinity bool `json:"nodeAffinity"`
	// InsecureMQTT serves plain MQTT on 1883 beside MQTTS.
	InsecureMQTT bool `json:"insecureMQTT"`
	// Agents are the IoT agents, as the guide's deploy tags select them
	// (ansible-dojot v0.5.0 deploy.yaml): vernemq (the default, no tag),
	// vernemq+lwm2m, mosca+lwm2m or mosca. VerneMQ and Mosca together are
	// refused, as the playbook aborts them. Without VerneMQ the k2v and
	// v2k bridges are left out; Mosca then serves nodePorts.mqtt and
	// nodePorts.mqtts. With lwm2m the LwM2M agent serves nodePorts.coap,
	// coaps, fileServer, fileServers and httpAgent (default 30006-30010)
	// behind NGINX's UDP rules: only in small, since HAProxy (100k)
	// cannot carry UDP.
	Agents string `json:"agents" enum:"vernemq,vernemq+lwm2m,mosca+lwm2m,mosca"`
	// GUIV2 runs dojot's gui-v2, routed by Kong at /v2 (the guide's
	// dojot_guiv2_enabled; off in both of its environments).
	GUIV2 bool `json:"guiV2"`
	// MutualTLS serves the API gateway's TLS port (Kong 8443 on
	// nodePorts.apiGatewayHTTPS, default 30002; the load balancers'
	// 443) with mutual TLS to its upstreams, the guide's
	// dojot_apigw_enable_mutual_tls (off in both its environments). The
	// certificates are the Secret kong-tls (keys ca.crt, kong.crt,
	// kong.key, kong-internal.crt, kong-internal.key), which the user
	// creates: the guide's Kong volume (dojot_apigw_persistent_volumes,
	// local-pv-kong) held the same files.
	MutualTLS bool `json:"mutualTLS"`
	// KafkaWSTLS serves kafka-ws over TLS, requesting clients'
	// certificates (the guide's dojot_kafka_ws_enable_tls, off in both
	// its environments); the certificates are the Secret kafka-ws-tls
	// (keys ca.crt, kafka-ws.crt, kafka-ws.key), which the user creates:
	// the guide's kafka-ws volume (dojot_kafka_ws_persistent_volumes,
	// local-pv-kafka-ws) held the same files.
	KafkaWSTLS bool `json:"kafkaWSTLS"`
	// AuthEmail, when set, lets auth send e-mail (the guide's
	// dojot_auth_email_enabled with dojot_auth_email_host and _user); the
	// password is the key password of the Secret auth-email, which the
	// user creates (or names with credentials.existingSecrets). null (the
	// default) keeps e-mail off.
	AuthEmail *dojot.Email `json:"authEmail"`
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
	// UI is the operators' web UIs (Kafka UI, pgAdmin), off by default.
	UI DojotUIs `json:"ui"`
	// MongoDB is dojot's MongoDB: its backup.
	MongoDB MongoDBValues `json:"mongodb"`
	// MinIO is dojot's MinIO: its backup.
	MinIO MinIOValues `json:"minio"`
	// LoadTest is dojot's Locust MQTT load test (dist/<profile>/loadtest/),
	// on by default in 100k.
	LoadTest DojotLoadTest `json:"loadTest"`
	// Persistence switches each store's volume, the guide's
	// dojot_<service>_persistent_volumes (both guide environments set
	// them all true; ansible-dojot's example inventory sets them false).
	Persistence DojotPersistence `json:"persistence"`
}

// DojotPersistence is the guide's dojot_{zk,psql,x509_identity_mgmt,
// mongodb,minio,kafka,kafka_ws,apigw}_persistent_volumes, each true (or
// null) by default. A store switched off keeps its data where ansible-dojot
// v0.5.0 kept it with the variable false: in the pod, not on a volume
// (its role templates then mount nothing: roles/zookeeper/templates/
// zk_statefulset.yaml.j2, roles/databases/postgresql/templates/
// postgres_statefulset.yaml.j2, roles/kafka/templates/
// kafka_statefulset.yaml.j2, roles/databases/mongodb/templates/
// mongodb_statefulset.yaml.j2, roles/minio/templates/
// minio_statefulset.yaml.j2 leave out the volumeClaimTemplates and the
// mount; roles/x509-identity-mgmt/templates/
// x509_identity_mgmt_deployment.yaml.j2 the claim x509-identity-mgmt).
// Here the data directory becomes an emptyDir of the volume's size
// (sizeLimit, and the container's ephemeral-storage request and limit
// grow by it): no claim, no local PersistentVolume, no directory in
// prepare-node.sh; the data is lost whenever the pod is deleted or moves
// (a restart of the container keeps it). A backup of a store without
// persistence is refused, and so is PostgreSQL without it (see Postgres).
type DojotPersistence struct {
	// ZooKeeper keeps ZooKeeper's data and transaction log
	// (local-pv-zk-data, local-pv-zk-log).
	ZooKeeper *bool `json:"zookeeper"`
	// Postgres keeps PostgreSQL's data (local-pv-postgres): Kong's,
	// auth's, device-manager's and EJBCA's databases. Off is refused: PostgreSQL runs under Patroni here, which
	// keeps the cluster's initialization in the Kubernetes API, so a pod
	// without its data would wait for a leader forever instead of
	// initializing again (the guide's plain PostgreSQL started empty).
	Postgres *bool `json:"postgres"`
	// X509IdentityMgmt keeps x509-identity-mgmt's shared directory
	// /mnt/persistent (local-pv-x509-identity-mgmt): the lock file its
	// setup scripts take so that replicas never configure EJBCA at the
	// same time. Off, x509.replicas must be 1.
	X509IdentityMgmt *bool `json:"x509IdentityMgmt"`
	// MongoDB keeps MongoDB's data (local-pv-mongo): device history and
	// the certificate-to-device map.
	MongoDB *bool `json:"mongodb"`
	// MinIO keeps MinIO's data (local-pv-minio): image-manager's files.
	MinIO *bool `json:"minio"`
	// Kafka keeps Kafka's log (local-pv-kafka).
	Kafka *bool `json:"kafka"`
	// KafkaWS is the guide's kafka-ws volume (local-pv-kafka-ws, mounted
	// at /opt/kafka-ws/certs): it held only kafka-ws's TLS certificates,
	// which here come from the Secret kafka-ws-tls, mounted at the same
	// path. Off, nothing provides them, so kafkaWSTLS is refused; with
	// kafkaWSTLS off both settings render the same.
	KafkaWS *bool `json:"kafkaWS"`
	// APIGW is the guide's Kong volume (local-pv-kong, mounted at
	// /certs): it held only Kong's TLS certificates, which here come from
	// the Secret kong-tls, mounted at the same path. Off, nothing provides
	// them, so mutualTLS is refused; with mutualTLS off both settings
	// render the same.
	APIGW *bool `json:"apigw"`
}

// persistent reads a persistence switch: null is the default, on.
func persistent(b *bool) bool { return b == nil || *b }

// dojotMonitoring is the monitoring sized as ansible-dojot v0.5.0 sizes
// its own (roles/metrics/templates/prometheus-servicelprometheus.yaml.j2:
// a 400Mi memory request, --storage.tsdb.retention.time=80h, one replica;
// roles/metrics/templates/grafana-deployment.yaml.j2: Grafana with
// 100m/100Mi requests and 200m/200Mi limits)
// on the guide's 2Gi local-pv-prometheus, so that it fits beside dojot on
// the guide's dojot node; Alertmanager and kube-state-metrics, which the
// guide does not run, at half their defaults.
func dojotMonitoring() Monitoring {
	q := resource.MustParse
	return Monitoring{
		Enabled: true,
		Prometheus: PrometheusValues{Retention: 80 * time.Hour, Size: q("2Gi"),
			Resources: stack.Resources{CPURequest: q("100m"), CPULimit: q("1"), MemoryRequest: q("400Mi"), MemoryLimit: q("800Mi")}},
		Grafana:          Sizing{Resources: stack.Resources{CPURequest: q("100m"), CPULimit: q("200m"), MemoryRequest: q("100Mi"), MemoryLimit: q("200Mi")}},
		Alertmanager:     Sizing{Resources: stack.Resources{CPURequest: q("10m"), CPULimit: q("100m"), MemoryRequest: q("64Mi"), MemoryLimit: q("128Mi")}},
		KubeStateMetrics: Sizing{Resources: stack.Resources{CPURequest: q("20m"), CPULimit: q("200m"), MemoryRequest: q("64Mi"), MemoryLimit: q("128Mi")}},
	}
}

func dojotDefaults(hundred bool) *DojotValues {
	q := resource.MustParse
	v := &DojotValues{
		Common: Common{Namespace: "dojot", Topology: topologyValues(SmallTopology()), RequestScale: 1, MonitoringNamespace: "monitoring",
			Monitoring: dojotMonitoring(), Cluster: dojotCluster(),
			// The few-devices environment names no device count.
			Plan: DefaultPlan(0)},
		Version: "v0.5.0", Services: dojot.SmallServices(), Bridges: 1,
		Groups:    map[string]string{"dojot": "dojot", "kafka": "dojot", "vernemq": "dojot", "x509": "dojot"},
		NodePorts: dojot.DefaultNodePorts(), InsecureMQTT: true, Lean: true, Agents: AgentsVerneMQ,
		MongoDBSize: q("2Gi"), MinIOSize: q("2Gi"),
		Domain: DocumentationDomain, NodeAffinity: hundred,
	}
	if hundred {
		v.Topology = topologyValues(HundredTopology())
		v.Version, v.Services, v.Bridges, v.Lean = "v0.5.0-alpha.4", dojot.HundredServices(), 9, false
		v.Groups = map[string]string{"dojot": "dojot", "kafka": "kafka", "vernemq": "vernemq", "x509": "x509"}
		// The guide's environment for 100,000 devices.
		v.Plan.Devices = 100000
		v.LoadTest.Enabled = true
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
	// Kafka: the 3.9 line (kafka.Image39), which still serves the pre-2.1
	// protocol versions dojot v0.5.0's clients send (see the dojot
	// package's client table); upstream's 30 minutes of retention
	// (ansible-dojot v0.5.0 roles/kafka/templates/kafka_statefulset.yaml.j2:
	// KAFKA_LOG_RETENTION_MINUTES 30, KAFKA_LOG_SEGMENT_BYTES 262144000),
	// with segments and a per-partition size cap sized to the volume for
	// kafkaPartitionsPlanned partitions (250 MB segments do not fit 2Gi).
	v.Kafka = kafka.Config{Name: "kafka-server", Brokers: 1, Image: kafka.Image39, Resources: res("1", "1Gi"), HeapMiB: 512,
		DefaultReplicationFactor: 1, MinInsyncReplicas: 1, OffsetsTopicReplicationFactor: 1,
		TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1, AutoCreateTopics: true,
		RetentionMinutes: 30, PartitionsPerBroker: kafkaPartitionsPlanned}
	v.Kafka.Data.Size = q("2Gi")
	// kafka_exporter for one broker and dojot's few topics: the
	// ThingsBoard article's 512Mi (its Kafka-exporter row) would take what
	// small's worker needs for its install Jobs once the monitoring runs
	// (the simulated cluster left them pending on a re-install). A sizing
	// choice, not measured: watch the exporter's container memory.
	v.Kafka.ExporterResources = res("500m", "128Mi")
	v.Postgres = postgres.Config{Instances: 1, PoolerReplicas: 1, Resources: res("1", "1Gi"), PoolerResources: res("200m", "128Mi"), PoolSize: 10,
		Tuning: postgres.Tuning{MaxConnections: 100, SharedBuffers: "128MB", WorkMem: "4MB", MaintenanceWorkMem: "64MB", EffectiveCacheSize: "512MB"}}
	v.Postgres.Data.Size = q("2Gi")
	v.X509 = x509.Config{Resources: res("1", "1536Mi"), Replicas: 1}
	t := true
	v.Persistence = DojotPersistence{ZooKeeper: &t, Postgres: &t, X509IdentityMgmt: &t, MongoDB: &t, MinIO: &t, Kafka: &t, KafkaWS: &t, APIGW: &t}
	v.X509.Storage.Size = q("10Mi")
	v.VerneMQ = vernemq.Config{Replicas: 1, Resources: res("2", "1Gi")}
	if hundred {
		v.VerneMQ.Replicas = 3
		// Each dedicated node's service gets the node less its system
		// reserve (systemReserve), a DaemonSet allowance and what else
		// the guide puts on that group (hundredCoLocated), requests =
		// limits for memory, CPU requests a tenth of the limit as
		// everywhere; the JVM heaps follow (Kafka's half of its limit).
		topo := HundredTopology()
		for _, d := range []struct {
			pool string
			r    *stack.Resources
		}{{"vernemq", &v.VerneMQ.Resources}, {"kafka", &v.Kafka.Resources}, {"x509", &v.X509.Resources}} {
			pool, _ := topo.Pool(d.pool)
			*d.r = nodeShare(pool, hundredCoLocated[d.pool])
		}
		v.Kafka.HeapMiB = int(v.Kafka.Resources.HeapMiB(50))
	}
	return v
}

// DocumentationDomain is the dojot profiles' default domain: a name
// reserved for documentation (RFC 2606), to be replaced with the load
// balancer's name, as the default backends are documentation addresses.
const DocumentationDomain = "dojot.example.com"

// kafkaPartitionsPlanned is the partition count dojot's Kafka volume is
// sized for by default (kafka.partitionsPerBroker): a planning figure,
// not a count read from dojot: the default tenant's topics at the bridges'
// partitions, __consumer_offsets' 50 and headroom. Raise it, and
// kafka.data.size, with tenants and bridges.
const kafkaPartitionsPlanned = 64

// hundredCoLocated is the memory the other workloads of 100k's dedicated
// groups request per node (dist/100k/): on a vernemq node six bridges
// (18 k2v/v2k-bridge pods of 256Mi over 3 nodes); on the kafka node
// ZooKeeper (512Mi), kafka_exporter (512Mi) and 9 kafka-loopbacks (256Mi
// each); nothing beside x509-identity-mgmt on the x509 node.
var hundredCoLocated = map[string]resource.Quantity{
	"vernemq": resource.MustParse("1536Mi"),
	"kafka":   resource.MustParse("3328Mi"),
	"x509":    resource.MustParse("0"),
}

// daemonAllowance is left on every node for the cluster's own DaemonSets
// (kube-proxy, the CNI agent), which are not part of the stack.
var daemonAllowance = stack.Resources{CPURequest: resource.MustParse("100m"), MemoryRequest: resource.MustParse("256Mi")}

// systemReserve is what a node keeps from pods for the kubelet, the
// container runtime and the OS: the rule GKE documents for its node
// allocatable ("Plan GKE Standard node sizes", memory and CPU
// reservations; kubeadm reserves nothing by default, and the Kubernetes
// documentation, "Reserve Compute Resources for System Daemons", leaves
// the figures to the operator). Memory: 25% of the first 4 GiB, 20% of
// the next 4, 10% of the next 8, 6% of the next 112, 2% above 128 GiB,
// plus the 100 MiB hard eviction threshold. CPU: 6% of the first core,
// 1% of the next, 0.5% of the next 2, 0.25% above 4 cores. A stated rule
// for the guide's bare nodes, not a measurement of them.
func systemReserve(cpu, memory resource.Quantity) (milliCPU, mib int64) {
	tiers := func(total float64, steps [][2]float64) float64 {
		var out, from float64
		for _, st := range steps {
			if total <= from {
				break
			}
			out += (min(total, st[0]) - from) * st[1]
			from = st[0]
		}
		return out
	}
	memMiB := float64(memory.Value() >> 20)
	mib = int64(tiers(memMiB, [][2]float64{{4096, 0.25}, {8192, 0.20}, {16384, 0.10}, {131072, 0.06}, {1 << 40, 0.02}})) + 100
	milliCPU = int64(tiers(float64(cpu.MilliValue()), [][2]float64{{1000, 0.06}, {2000, 0.01}, {4000, 0.005}, {1 << 40, 0.0025}}))
	return milliCPU, mib
}

// nodeShare is what one service may have of a dedicated node: the node's
// memory less systemReserve, daemonAllowance and coLocated, rounded down
// to 128 MiB (requests = limits); whole cores of its CPU less the reserve
// and the allowance as the limit (the request a tenth, stack.FromLimits).
func nodeShare(pool stack.NodePool, coLocated resource.Quantity) stack.Resources {
	rCPU, rMiB := systemReserve(pool.CPU, pool.Memory)
	mib := pool.Memory.Value()>>20 - rMiB - daemonAllowance.MemoryRequest.Value()>>20 - coLocated.Value()>>20
	mib = mib / 128 * 128
	cores := (pool.CPU.MilliValue() - rCPU - daemonAllowance.CPURequest.MilliValue()) / 1000
	return stack.FromLimits(*resource.NewQuantity(cores, resource.DecimalSI), *resource.NewQuantity(mib<<20, resource.BinarySI))
}

// SmallDefaults are small's values as the guide has them.
func SmallDefaults() *DojotValues { return dojotDefaults(false) }

// HundredDefaults are 100k's values as the guide has them.
func HundredDefaults() *DojotValues { return dojotDefaults(true) }

// localProvisioner is the provisioner of local-volume classes.
const localProvisioner = "kubernetes.io/no-provisioner"

// validateDomain requires a name devices can check the broker's
// certificate against while MQTTS is served: a DNS name (RFC 1123
// subdomain) or an IP address, neither localhost nor loopback.
func (v *DojotValues) validateDomain() []values.FieldError {
	d := v.Domain
	if d == "" {
		if v.NodePorts.MQTTS != 0 {
			return []values.FieldError{values.Errorf("domain", d, "required while MQTTS is served (nodePorts.mqtts %d): the brokers' certificates name it; give the load balancer's DNS name or IP address", v.NodePorts.MQTTS)}
		}
		return nil
	}
	if ip := net.ParseIP(d); ip != nil {
		if ip.IsLoopback() || ip.IsUnspecified() {
			return []values.FieldError{values.Errorf("domain", d, "a loopback or unspecified address; devices reach dojot by the load balancer's address")}
		}
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(d); len(errs) > 0 {
		return []values.FieldError{values.Errorf("domain", d, "not a DNS name (%s) nor an IP address", strings.Join(errs, "; "))}
	}
	if v.NodePorts.MQTTS != 0 && (d == "localhost" || strings.HasSuffix(d, ".localhost")) {
		return []values.FieldError{values.Errorf("domain", d, "localhost while MQTTS is served (nodePorts.mqtts %d): devices that check the broker's certificate would reject it; give the load balancer's DNS name or IP address", v.NodePorts.MQTTS)}
	}
	return nil
}

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
	errs = append(errs, postgresBackupErrors(&v.Common, v.Postgres)...)
	errs = append(errs, validateCluster(clusterKubeadm, &v.Common)...)
	for _, g := range slices.Sorted(maps.Keys(v.Groups)) {
		switch g {
		case "dojot", "kafka", "vernemq", "x509":
		default:
			errs = append(errs, values.Errorf("groups."+g, g, "unknown group; allowed: dojot, kafka, vernemq, x509"))
		}
	}
	ports := v.EffectiveNodePorts()
	// nodePorts' own Validate (run by the values machinery) checks ranges
	// and collisions; what runs decides which ports may be set.
	if v.NodePorts.Validate() == nil {
		if err := ports.CheckServed(); err != nil {
			errs = append(errs, values.Errorf("nodePorts", nil, "%v", err))
		}
	}
	errs = append(errs, v.validateAgents()...)
	if v.AuthEmail != nil {
		if err := v.AuthEmail.Validate("authEmail"); err != nil {
			errs = append(errs, values.Errorf("authEmail", nil, "%v", err))
		}
	}
	errs = append(errs, v.validateDomain()...)
	errs = append(errs, v.UI.validate(v.Topology)...)
	errs = append(errs, v.validateBackups()...)
	errs = append(errs, v.LoadTest.validate(v)...)
	errs = append(errs, v.validatePersistence()...)
	if !v.NodeAffinity {
		if n := len(v.Topology.Pools); n != 1 {
			errs = append(errs, values.Errorf("nodeAffinity", false, "needs a single pool (topology.pools has %d): with node groups every workload must be pinned to its group's nodes; set nodeAffinity: true and label the nodes %s=<group>", n, DojotGroupLabel))
		} else if p := v.Topology.Pools[0]; v.Topology.StorageClass.Provisioner == localProvisioner && (p.NodesPerZone != 1 || len(v.Topology.Zones) != 1) {
			errs = append(errs, values.Errorf("nodeAffinity", false, "the local volumes need one node to live on, but pool %s has %d node(s) in %d zone(s): a local volume that any node matches would follow a rescheduled pod to an empty directory; set nodeAffinity: true and label the nodes, or use a provisioned topology.storageClass", p.Name, p.NodesPerZone, len(v.Topology.Zones)))
		}
	}
	if v.Kafka.NumPartitions != 0 && v.Kafka.NumPartitions != int(v.Bridges) {
		errs = append(errs, values.Errorf("kafka.numPartitions", v.Kafka.NumPartitions, "must equal bridges %d (dojot ties its topics' partitions to the bridges); leave it 0 to follow bridges", v.Bridges))
	}
	return errs
}

// The choices of DojotValues.Agents.
const (
	AgentsVerneMQ      = "vernemq"
	AgentsVerneMQLwM2M = "vernemq+lwm2m"
	AgentsMoscaLwM2M   = "mosca+lwm2m"
	AgentsMosca        = "mosca"
)

// hasVerneMQ says whether the agents include VerneMQ ("" is the default,
// vernemq).
func (v *DojotValues) hasVerneMQ() bool {
	return v.Agents == "" || v.Agents == AgentsVerneMQ || v.Agents == AgentsVerneMQLwM2M
}

// hasLwM2M says whether the agents include the LwM2M agent.
func (v *DojotValues) hasLwM2M() bool {
	return v.Agents == AgentsVerneMQLwM2M || v.Agents == AgentsMoscaLwM2M
}

// EffectiveNodePorts are the NodePorts the build renders: nodePorts as
// set, with the guide's default filled in for every served port left 0
// (Grafana's metrics port with the monitoring on, the LwM2M agent's five
// with agents including lwm2m, Kong's HTTPS port with mutualTLS), each
// marked served.
func (v *DojotValues) EffectiveNodePorts() dojot.NodePorts {
	ports := v.NodePorts
	if v.Monitoring.Enabled {
		// Grafana serves the guide's metrics NodePort.
		ports = ports.ServeMetrics()
	}
	if v.hasLwM2M() {
		ports = ports.ServeLwM2M()
	}
	if v.MutualTLS {
		ports = ports.ServeAPIGatewayHTTPS()
	}
	return ports
}

// hasMosca says whether the agents include Mosca.
func (v *DojotValues) hasMosca() bool {
	return v.Agents == AgentsMosca || v.Agents == AgentsMoscaLwM2M
}

// validateAgents checks the agents' choice against the services: the
// agents and gui-v2 are chosen by agents and guiV2, not listed, and
// kafka-loopback echoes VerneMQ's traffic.
func (v *DojotValues) validateAgents() []values.FieldError {
	var errs []values.FieldError // agents itself is checked by its enum tag
	for i, s := range v.Services {
		switch s {
		case dojot.IoTAgentLwM2M, dojot.IoTAgentMosca:
			errs = append(errs, values.Errorf(fmt.Sprintf("services[%d]", i), s, "the IoT agents are chosen by agents (vernemq, vernemq+lwm2m, mosca+lwm2m, mosca), not listed"))
		case "gui-v2":
			errs = append(errs, values.Errorf(fmt.Sprintf("services[%d]", i), s, "gui-v2 is switched by guiV2, not listed"))
		case "kafka-loopback":
			if !v.hasVerneMQ() {
				errs = append(errs, values.Errorf("agents", v.Agents, "services[%d] kafka-loopback echoes VerneMQ's device messages back to the devices, so it needs VerneMQ: choose vernemq or vernemq+lwm2m, or leave kafka-loopback out", i))
			}
		}
	}
	if v.MutualTLS && !contains(v.Services, "kong") {
		errs = append(errs, values.Errorf("mutualTLS", true, "the mutual TLS is Kong's, but services lists no kong"))
	}
	if v.KafkaWSTLS && !contains(v.Services, "kafka-ws") {
		errs = append(errs, values.Errorf("kafkaWSTLS", true, "services lists no kafka-ws"))
	}
	if v.GUIV2 && !contains(v.Services, "kong") {
		errs = append(errs, values.Errorf("guiV2", true, "gui-v2 is reached through Kong's /v2 route, but services lists no kong"))
	}
	return errs
}

// dojotServices are the services New renders: the listed ones, without
// the bridges when VerneMQ is off, with the chosen agents and gui-v2.
func (v *DojotValues) dojotServices() []string {
	var out []string
	for _, s := range v.Services {
		if !v.hasVerneMQ() && (s == "k2v-bridge" || s == "v2k-bridge") {
			continue
		}
		out = append(out, s)
	}
	if v.hasLwM2M() {
		out = append(out, dojot.IoTAgentLwM2M)
	}
	if v.hasMosca() {
		out = append(out, dojot.IoTAgentMosca)
	}
	if v.GUIV2 {
		out = append(out, "gui-v2")
	}
	return out
}

// validatePersistence refuses what a store without its volume cannot do:
// PostgreSQL under Patroni at all, a backup of MongoDB or MinIO, the TLS switches whose certificates the
// guide kept on the Kong and kafka-ws volumes, more than one
// x509-identity-mgmt without the shared volume; and more than one
// x509-identity-mgmt on local volumes spread over several nodes (each
// node's directory is another volume, so the replicas would not share
// the setup lock).
func (v *DojotValues) validatePersistence() []values.FieldError {
	var errs []values.FieldError
	p := v.Persistence
	for _, c := range []struct {
		path  string
		store *bool
		on    bool
		what  string
	}{
		{"mongodb.backup.enabled", p.MongoDB, v.MongoDB.Backup.Enabled, "persistence.mongodb"},
		{"minio.backup.enabled", p.MinIO, v.MinIO.Backup.Enabled, "persistence.minio"},
	} {
		if c.on && !persistent(c.store) {
			errs = append(errs, values.Errorf(c.what, false, "%s is true: a store without persistence loses its data with its pod, and a restore into it would be lost the same way; keep %s true (the default) or turn %s off", c.path, c.what, c.path))
		}
	}
	if !persistent(p.Postgres) {
		errs = append(errs, values.Errorf("persistence.postgres", false, "PostgreSQL runs under Patroni, which records the cluster's initialization in the Kubernetes API (its %s-config object): a member that lost its data directory waits for a leader to copy from instead of initializing again (Patroni's docs/replica_bootstrap.rst: bootstrap only while there is no initialize key), so without its volume PostgreSQL would not come back once its pod is deleted; keep persistence.postgres true", postgresName(v)))
	}
	if v.MutualTLS && !persistent(p.APIGW) {
		errs = append(errs, values.Errorf("persistence.apigw", false, "mutualTLS is true: Kong reads its certificates at /certs, the guide's Kong volume (here the Secret %s); with the volume off nothing provides them; keep persistence.apigw true or turn mutualTLS off", dojot.KongTLSSecret))
	}
	if v.KafkaWSTLS && !persistent(p.KafkaWS) {
		errs = append(errs, values.Errorf("persistence.kafkaWS", false, "kafkaWSTLS is true: kafka-ws reads its certificates at /opt/kafka-ws/certs, the guide's kafka-ws volume (here the Secret %s); with the volume off nothing provides them; keep persistence.kafkaWS true or turn kafkaWSTLS off", dojot.KafkaWSTLSSecret))
	}
	if r := v.X509.Replicas; r > 1 {
		if !persistent(p.X509IdentityMgmt) {
			errs = append(errs, values.Errorf("x509.replicas", r, "needs persistence.x509IdentityMgmt true: the replicas take x509-identity-mgmt's setup lock in /mnt/persistent, one volume they all share; use 1 replica without the volume"))
		} else if sc := v.Topology.StorageClass; sc.Create && sc.Provisioner == localProvisioner {
			if pool, ok := v.pool(v.Groups["x509"]); ok && pool.NodesPerZone*len(v.Topology.Zones) > 1 {
				errs = append(errs, values.Errorf("x509.replicas", r, "the x509 group's pool %s has %d nodes, and a local volume is a directory per node: replicas on different nodes would not share the setup lock in /mnt/persistent; give the x509 pool one node, or a ReadWriteMany topology.storageClass", pool.Name, pool.NodesPerZone*len(v.Topology.Zones)))
			}
		}
	}
	return errs
}

// pool is the topology's pool named name.
func (v *DojotValues) pool(name string) (Pool, bool) {
	for _, p := range v.Topology.Pools {
		if p.Name == name {
			return p, true
		}
	}
	return Pool{}, false
}

// postgresName is the PostgreSQL cluster's name (Patroni's scope).
func postgresName(v *DojotValues) string {
	if v.Postgres.Name != "" {
		return v.Postgres.Name
	}
	return "postgres"
}
