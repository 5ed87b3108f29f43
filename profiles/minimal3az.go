package profiles

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
)

// Minimal3AZ is the minimal three-zone cluster of the ThingsBoard article
// "ThingsBoard k8s cluster - minimal design" (section "Cluster architecture"):
// three r7g.xlarge nodes (4 vCPU, 32 GiB, arm64), one in each of eu-west-1a/b/c,
// labelled role=thingsboard as in the ThingsBoard article's eksctl node group.
// Fault tolerance: one of the three nodes may be down at a time.
//
// Every row of the ThingsBoard article's pod table is rendered with its limits
// and one replica per zone, except where the table cannot be followed as written
// (TestMinimal3AZPodTable keeps this list honest):
//   - tb-web-ui gets the table's 0.5 CPU / 0.5 GiB, not the 100Mi of the
//     ThingsBoard article's YAML;
//   - tb-integration-executor is a Professional Edition service: not in CE;
//   - pgpool (1 pod) becomes PgBouncer with 2 pods in 2 zones, and
//     Pgpool-exporter becomes postgres_exporter sidecars;
//   - Prometheus and Grafana are rendered in the monitoring part
//     (monitoring/, on by default); Cassandra Reaper (reaper.enabled,
//     1 CPU / 1 GiB as in the table) is rendered, and the Backup-job rows
//     are CronJobs rendered when backup.store and cassandra.backup are set;
//   - Kafka-ui is kafbat/kafka-ui (the maintained fork, read-only, with a
//     login form) where the ThingsBoard article installed Redpanda
//     Console (values ui.kafka).
//
// Options: Generic (no AWS annotations, no gp3 class: the cluster's default
// StorageClass), ThingsBoardVersion, Replicas per ThingsBoard service,
// KafkaReplicationFactor. The ThingsBoard article's performance test (10
// generator pods, 100,000 devices) is rendered into dist/minimal-3az/loadtest/
// with a kustomization of its own, on a tainted client pool (m7g.medium,
// role=client); it needs a Secret tb-loadtest-rest with a tenant administrator's
// username and password.
const Minimal3AZ = "minimal-3az"

func init() {
	register(Profile{
		Name:        Minimal3AZ,
		Description: "ThingsBoard CE microservices on 3 zones x 1 r7g.xlarge, surviving the loss of one zone",
		Source:      `ThingsBoard article "ThingsBoard k8s cluster - minimal design" (three-zone EKS cluster)`,
		build:       buildMinimal3AZ,
		defaults:    func() Values { return Minimal3AZDefaults() },
		fromOptions: minimal3AZFromOptions,
		validate:    validateMinimal3AZOptions,
	})
}

// LoadTestDir is the directory of minimal-3az's opt-in performance test in
// dist/minimal-3az/: applied separately, never by applying the stack.
const LoadTestDir = "loadtest"

// clientPool runs the load generators.
const clientPool = "client"

// Minimal3AZTopology is the profile's cluster shape: the three r7g.xlarge nodes,
// and the ThingsBoard article's client node group (m7g.medium, role=client) for
// the performance test, tainted so nothing else lands there.
func Minimal3AZTopology() stack.Topology {
	return stack.Topology{
		Zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"},
		Pools: []stack.NodePool{{
			Name:         "thingsboard",
			InstanceType: "r7g.xlarge",
			Arch:         "arm64",
			CPU:          resource.MustParse("4"),
			Memory:       resource.MustParse("32Gi"),
			NodesPerZone: 1,
			Labels:       map[string]string{"role": "thingsboard"},
		}, {
			Name:         clientPool,
			InstanceType: "m7g.medium",
			Arch:         "arm64",
			CPU:          resource.MustParse("1"),
			Memory:       resource.MustParse("4Gi"),
			NodesPerZone: 1,
			Labels:       map[string]string{"role": "client"},
			Taints:       []corev1.Taint{{Key: "dedicated", Value: "client", Effect: corev1.TaintEffectNoSchedule}},
		}},
	}
}

// minimal3AZPool is the node pool every ThingsBoard workload runs on.
const minimal3AZPool = "thingsboard"

// buildMinimal3AZ builds the stack. The data tier follows the ThingsBoard
// article's Helm settings ("Setup databases with Helm"):
//   - ZooKeeper: 3 servers, heap 256 MiB, 1 GiB data and log volumes,
//     autopurge every 24 h (the component's defaults);
//   - Kafka: 3 brokers, 20 GiB, offsets and transaction logs replicated 3 times,
//     defaultReplicationFactor 2 (ThingsBoard's
//     TB_QUEUE_KAFKA_REPLICATION_FACTOR is 2 too); min.insync.replicas 1, the
//     broker default the ThingsBoard article keeps, so a partition stays
//     writable with one of its two replicas down (ThingsBoard produces with
//     acks=1);
//   - Redis Cluster: 6 nodes, 3 masters x 1 replica, AOF off, 2 GiB;
//   - Cassandra: 3 nodes (one rack per zone), cluster "cassandra",
//     datacenter "datacenter1", heap 2048/400 MiB, 50 GiB (the component's
//     defaults); ThingsBoard declares its keyspace (RF 3, QUORUM);
//   - PostgreSQL: 3 Patroni instances, 30 GiB, max_connections 250 and the
//     ThingsBoard article's override.conf tuning (the component's defaults),
//     with PgBouncer in place of pgpool: 2 pooler pods in two zones where the
//     ThingsBoard article ran a single pgpool, its one point of failure.
func buildMinimal3AZ(vals Values) (*Built, error) {
	v, ok := vals.(*Minimal3AZValues)
	if !ok {
		return nil, fmt.Errorf("values: %T; want *profiles.Minimal3AZValues", vals)
	}
	s, err := stack.New(v.stackOptions(Minimal3AZ, "thingsboard"))
	if err != nil {
		return nil, err
	}
	class, err := addStorageClass(s, v.Topology.StorageClass)
	if err != nil {
		return nil, err
	}
	withClass := func(st stack.Storage) stack.Storage {
		if st.Class == "" {
			st.Class = class
		}
		return st
	}
	zkc := v.ZooKeeper
	zkc.Data, zkc.Log = withClass(zkc.Data), withClass(zkc.Log)
	zk, err := zookeeper.New(s, zkc)
	if err != nil {
		return nil, err
	}
	kfc := v.Kafka
	kfc.Data = withClass(kfc.Data)
	kf, err := kafka.New(s, kfc)
	if err != nil {
		return nil, err
	}
	rdc := v.Redis
	rdc.Data = withClass(rdc.Data)
	rd, err := redis.New(s, rdc)
	if err != nil {
		return nil, err
	}
	csc := v.Cassandra
	csc.Data = withClass(csc.Data)
	csc.Backup.Store = v.Backup.Store
	cs, err := cassandra.New(s, csc)
	if err != nil {
		return nil, err
	}
	pgc := postgresBackup(&v.Common, v.Postgres)
	pgc.Data = withClass(pgc.Data)
	pg, err := postgres.New(s, pgc)
	if err != nil {
		return nil, err
	}
	tb := thingsboard.Config{
		Pool: minimal3AZPool, Version: v.ThingsBoard.Version, UpgradeFrom: v.ThingsBoard.UpgradeFrom, Registry: v.ThingsBoard.Registry,
		Exposure: thingsboard.AWS, Services: map[thingsboard.Service]thingsboard.ServiceConfig{},
		LoadDemo: v.ThingsBoard.Demo, QueueReplicationFactor: v.ThingsBoard.QueueReplicationFactor,
		Partitions: v.ThingsBoard.Partitions, Host: v.ThingsBoard.Host,
		CertificateARN: v.ThingsBoard.CertificateARN, TLSSecret: v.ThingsBoard.TLSSecret,
		MQTTS: v.ThingsBoard.MQTTS,
	}
	if v.Topology.LoadBalancer == "generic" {
		tb.Exposure = thingsboard.Generic
	}
	for name, sc := range v.ThingsBoard.Services {
		tb.Services[thingsboard.Service(name)] = sc
	}
	target, err := thingsboard.New(s, thingsboard.Deps{Kafka: kf, ZooKeeper: zk, Cassandra: cs, Redis: rd, Postgres: pg}, tb)
	if err != nil {
		return nil, err
	}
	if err := addReaper(s, cs, v.Reaper, class); err != nil {
		return nil, err
	}
	if err := buildUIs(s, v.UI, minimal3AZPool, kf, pg, rd, tbShare(s, target)); err != nil {
		return nil, err
	}
	if err := useExisting(s, v.Credentials, "credentials.existingSecrets"); err != nil {
		return nil, err
	}
	// The ThingsBoard article's performance test, as a separate kustomization in
	// dist/minimal-3az/loadtest/: applying the stack never starts load.
	lo := v.stackOptions(Minimal3AZ+"-loadtest", "thingsboard")
	lo.ExistingNamespace = true
	lt, err := stack.New(lo)
	if err != nil {
		return nil, err
	}
	if err := thingsboard.NewLoadTest(lt, target, v.LoadTest); err != nil {
		return nil, err
	}
	return &Built{Stack: s, Parts: []Part{{Dir: LoadTestDir, Stack: lt}}, Grafana: minimal3AZGrafana(v, target)}, nil
}

// minimal3AZFromOptions maps the Options shorthand onto the values.
func minimal3AZFromOptions(vals Values, opts Options) {
	v := vals.(*Minimal3AZValues)
	if opts.Generic {
		v.Topology.LoadBalancer = "generic"
		v.Topology.StorageClass = StorageClass{}
	}
	v.ThingsBoard.Demo = opts.Demo
	if opts.ThingsBoardVersion != "" {
		v.ThingsBoard.Version = opts.ThingsBoardVersion
	}
	if opts.Replicas != nil {
		v.ThingsBoard.Services = map[string]thingsboard.ServiceConfig{}
		for name, n := range opts.Replicas {
			v.ThingsBoard.Services[name] = thingsboard.ServiceConfig{Replicas: n}
		}
	}
	if opts.KafkaReplicationFactor != 0 {
		v.Kafka.DefaultReplicationFactor = opts.KafkaReplicationFactor
	}
}

// gp3 is the StorageClass of the AWS variant.
const gp3 = "gp3"

// addStorageClass renders the configured class when it is to be created (the
// ThingsBoard article's gp3: EBS CSI driver, volumes created in the zone of the
// pod that first uses them, expandable, retained when their claim goes) and
// returns the class name the claims use ("" for the cluster's default).
func addStorageClass(s *stack.Stack, sc StorageClass) (string, error) {
	if !sc.Create {
		if sc.Name != "" {
			s.External("StorageClass", sc.Name, "the cluster's storage class (topology.storageClass.create is off)")
		}
		return sc.Name, nil
	}
	c, err := s.AddComponent("storage", stack.Meta{App: "storage", Role: "storage-class"})
	if err != nil {
		return "", err
	}
	params := map[string]string{}
	for k, v := range sc.Parameters {
		params[k] = v
	}
	c.Add(&storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: sc.Name},
		Provisioner:          sc.Provisioner,
		Parameters:           params,
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowVolumeExpansion: ptr.To(true),
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimRetain),
	})
	return sc.Name, nil
}

func nsOr(opts Options, def string) string {
	if opts.Namespace != "" {
		return opts.Namespace
	}
	return def
}
