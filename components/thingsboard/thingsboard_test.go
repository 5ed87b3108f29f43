package thingsboard

import (
	"flag"
	"k8s.io/apimachinery/pkg/api/resource"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// dataTier adds the five data-tier components to s and returns their handles.
func dataTier(t testing.TB, s *stack.Stack) Deps {
	t.Helper()
	zk, err := zookeeper.New(s, zookeeper.Config{Pool: "main"})
	if err != nil {
		t.Fatal(err)
	}
	kf, err := kafka.New(s, kafka.Config{Pool: "main", DefaultReplicationFactor: 2, MinInsyncReplicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := redis.New(s, redis.Config{Pool: "main"})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cassandra.New(s, cassandra.Config{Pool: "main"})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.New(s, postgres.Config{Pool: "main"})
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Kafka: kf, ZooKeeper: zk, Cassandra: cs, Redis: rd, Postgres: pg}
}

func build(t *testing.T, cfg Config) (*stack.Stack, *Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	s, out := stacktest.Build(t, func(s *stack.Stack) (err error) {
		h, err = New(s, dataTier(t, s), cfg)
		return err
	})
	return s, h, out
}

// thingsboardFiles keeps only this component's files, so the golden files
// do not repeat the data tier's.
func thingsboardFiles(out *stack.Output) *stack.Output {
	filtered := &stack.Output{Stack: out.Stack}
	for _, f := range out.Files {
		if strings.Contains(f.Name, "-tb-") || strings.Contains(f.Name, "-thingsboard") {
			filtered.Files = append(filtered.Files, f)
		}
	}
	return filtered
}

func TestGolden(t *testing.T) {
	_, _, out := build(t, Config{Pool: "main"})
	stacktest.Golden(t, filepath.Join("testdata", "golden"), thingsboardFiles(out), *update, "run `go test ./components/thingsboard -update` and review the diff")
}

// TestWiring: every address in the shared ConfigMap comes from a handle,
// and no password is in it.
func TestWiring(t *testing.T) {
	_, _, out := build(t, Config{Pool: "main"})
	var settings map[string]string
	for _, o := range out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == clusterConfig {
			settings = cm.Data
		}
	}
	want := map[string]string{
		"SPRING_DATASOURCE_URL":             "jdbc:postgresql://postgres-pooler.iot.svc.cluster.local:5432/thingsboard",
		"SPRING_DATASOURCE_USERNAME":        "thingsboard",
		"ZOOKEEPER_URL":                     "zookeeper-0.zookeeper-headless.iot.svc.cluster.local:2181,zookeeper-1.zookeeper-headless.iot.svc.cluster.local:2181,zookeeper-2.zookeeper-headless.iot.svc.cluster.local:2181",
		"CASSANDRA_KEYSPACE_NAME":           "thingsboard",
		"CASSANDRA_LOCAL_DATACENTER":        "datacenter1",
		"CASSANDRA_READ_CONSISTENCY_LEVEL":  "QUORUM",
		"CASSANDRA_WRITE_CONSISTENCY_LEVEL": "QUORUM",
		"TB_QUEUE_KAFKA_REPLICATION_FACTOR": "2",
		"TB_QUEUE_CORE_PARTITIONS":          "6",
		"REDIS_CONNECTION_TYPE":             "cluster",
		"CACHE_SPECS_DEVICES_MAX_SIZE":      "1048000",
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("%s = %q; want %q", k, settings[k], v)
		}
	}
	if !strings.HasPrefix(settings["TB_KAFKA_SERVERS"], "kafka-0.kafka-headless.iot.svc.cluster.local:9092,") ||
		!strings.HasPrefix(settings["REDIS_NODES"], "redis-a-0.redis-headless.iot.svc.cluster.local:6379,") ||
		!strings.HasPrefix(settings["CASSANDRA_URL"], "cassandra-a-0.cassandra-headless.iot.svc.cluster.local:9042,") {
		t.Errorf("addresses not from the handles: %v", settings)
	}
	for k := range settings {
		if strings.Contains(strings.ToUpper(k), "PASSWORD") {
			t.Errorf("the ConfigMap carries %s", k)
		}
	}
	for _, o := range out.Objects {
		d, ok := o.Object.(*appsv1.Deployment)
		if !ok || d.Name != string(Core) {
			continue
		}
		env := map[string]*corev1.EnvVar{}
		for i, e := range d.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = &d.Spec.Template.Spec.Containers[0].Env[i]
		}
		for _, name := range []string{"SPRING_DATASOURCE_PASSWORD", "CASSANDRA_PASSWORD", "REDIS_PASSWORD"} {
			if e := env[name]; e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s is not a Secret reference: %+v", name, e)
			}
		}
		if env["JAVA_OPTS"].Value != "-Xms2027m -Xmx2027m -Xss384k" || env["TB_SERVICE_TYPE"].Value != "tb-core" {
			t.Errorf("tb-core env: JAVA_OPTS %q, TB_SERVICE_TYPE %q", env["JAVA_OPTS"].Value, env["TB_SERVICE_TYPE"].Value)
		}
	}
}

// TestPodTable: each service's replicas and limits are the ThingsBoard
// article's.
func TestPodTable(t *testing.T) {
	s, _, out := build(t, Config{Pool: "main"})
	table := map[string][2]string{
		"tb-core": {"3", "3Gi"}, "tb-rule-engine": {"3", "3584Mi"}, "tb-js-executor": {"1", "512Mi"}, "tb-http-transport": {"1", "1Gi"},
		"tb-mqtt-transport": {"1", "1536Mi"}, "tb-web-ui": {"500m", "512Mi"}, "tb-vc-executor": {"1", "1Gi"},
	}
	pods, err := stacktest.Schedule(s.Topology(), out)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Objects {
		d, ok := o.Object.(*appsv1.Deployment)
		if !ok {
			continue
		}
		want, ok := table[d.Name]
		if !ok {
			continue
		}
		delete(table, d.Name)
		lim := d.Spec.Template.Spec.Containers[0].Resources.Limits
		if cpu, mem := lim.Cpu(), lim.Memory(); cpu.String() != want[0] || mem.String() != want[1] {
			t.Errorf("%s limits %s / %s; the pod table says %s / %s", d.Name, cpu.String(), mem.String(), want[0], want[1])
		}
		zones := map[string]bool{}
		for _, p := range pods[d.Name] {
			zones[p.Zone] = true
		}
		if *d.Spec.Replicas != 3 || len(zones) != 3 {
			t.Errorf("%s: %d replicas in %d zones; want one per zone", d.Name, *d.Spec.Replicas, len(zones))
		}
	}
	if len(table) != 0 {
		t.Errorf("services missing: %v", table)
	}
}

func TestIngressRoutes(t *testing.T) {
	for _, exp := range []Exposure{AWS, Generic} {
		_, _, out := build(t, Config{Pool: "main", Exposure: exp})
		var ing *networkingv1.Ingress
		var lb *corev1.Service
		for _, o := range out.Objects {
			switch x := o.Object.(type) {
			case *networkingv1.Ingress:
				ing = x
			case *corev1.Service:
				if x.Spec.Type == corev1.ServiceTypeLoadBalancer {
					lb = x
				}
			}
		}
		var routes []string
		for _, p := range ing.Spec.Rules[0].HTTP.Paths {
			routes = append(routes, p.Path+"="+p.Backend.Service.Name)
		}
		if got := strings.Join(routes, " "); got != "/api/v1/=tb-http-transport /static/rulenode/=tb-core /static/=tb-web-ui /index.html=tb-web-ui /=tb-core" {
			t.Errorf("%s routes: %s", exp, got)
		}
		aws := ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName == "alb" && lb.Annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
		if aws != (exp == AWS) {
			t.Errorf("%s: AWS annotations present = %v", exp, aws)
		}
		if lb.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal || len(lb.Spec.Ports) != 1 {
			t.Errorf("MQTT load balancer %+v", lb.Spec)
		}
	}
}

func TestInstallJob(t *testing.T) {
	for _, tc := range []struct {
		cfg              Config
		name, fromEnvVal string
	}{
		{Config{Pool: "main", LoadDemo: true}, "tb-install-4-3-1", ""},
		{Config{Pool: "main", UpgradeFrom: "4.2.1"}, "tb-upgrade-4-2-1-to-4-3-1", "4.2.1"},
	} {
		_, _, out := build(t, tc.cfg)
		var jobs []*batchv1.Job
		for _, o := range out.Objects {
			if j, ok := o.Object.(*batchv1.Job); ok && strings.HasPrefix(j.Name, "tb-") {
				jobs = append(jobs, j)
			}
		}
		if len(jobs) != 1 || jobs[0].Name != tc.name {
			t.Fatalf("jobs %v; want one, %s", jobs, tc.name)
		}
		var names []string
		env := map[string]string{}
		for _, c := range jobs[0].Spec.Template.Spec.InitContainers {
			names = append(names, c.Name)
		}
		for _, e := range jobs[0].Spec.Template.Spec.InitContainers[0].Env {
			env[e.Name] = e.Value
		}
		if strings.Join(names, ",") != "wait-for-databases,wait-for-keyspace" {
			t.Errorf("init containers %v", names)
		}
		if env["TB_VERSION"] != "4.3.1" || env["TB_SCHEMA_VERSION"] != "4003001000" || env["UPGRADE_FROM"] != tc.fromEnvVal {
			t.Errorf("plan env %v", env)
		}
	}
	// Every JVM service waits for its schema; tb-web-ui and tb-js-executor
	// do not touch the database.
	_, _, out := build(t, Config{Pool: "main"})
	for _, o := range out.Objects {
		d, ok := o.Object.(*appsv1.Deployment)
		if !ok {
			continue
		}
		inits := d.Spec.Template.Spec.InitContainers
		waits := len(inits) == 1 && inits[0].Name == "wait-for-schema"
		if jvm := specs[Service(d.Name)].jvm; waits != jvm {
			t.Errorf("%s: init containers %v; JVM service %v", d.Name, inits, jvm)
		}
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"latest", Config{Version: "latest"}, `thingsboard: version "latest"; must be a pinned image tag`},
		{"queue RF above brokers", Config{QueueReplicationFactor: 4}, "thingsboard: queueReplicationFactor 4; must be 1 to 3 (the Kafka brokers)"},
		{"transports above hosts", Config{Pool: "main", Services: map[Service]ServiceConfig{MQTTTransport: {Replicas: 4}}}, "thingsboard: tb-mqtt-transport: replicas 4 exceed the 3 nodes available"},
		{"unknown service", Config{Services: map[Service]ServiceConfig{"tb-integration-executor": {Replicas: 1}}}, `unknown service "tb-integration-executor"`},
		{"exposure", Config{Exposure: "gcp"}, `thingsboard: exposure "gcp"`},
		{"upgrade from itself", Config{UpgradeFrom: Version}, `thingsboard: upgradeFrom "4.3.1"; must be an earlier ThingsBoard release than version 4.3.1`},
		{"upgrade from a newer version", Config{UpgradeFrom: "4.3.2"}, `thingsboard: upgradeFrom "4.3.2"; must be an earlier ThingsBoard release`},
		{"custom tag", Config{Version: "4.3.1-mine"}, `thingsboard: version "4.3.1-mine": part "1-mine" is not a number`},
		{"memory overflow", Config{Services: map[Service]ServiceConfig{Core: {Replicas: 1, Resources: stack.FromLimits(resource.MustParse("1"), resource.MustParse("1e20"))}}}, "thingsboard.services[tb-core].resources.memoryRequest: 100e18; allowed at most 64Ti"},
		{"8 CPU on a 4 vCPU pool", Config{Services: map[Service]ServiceConfig{Core: {Replicas: 1, Resources: stack.MustLimits("80", "1Gi")}}}, "thingsboard: tb-core: resources: a pod requests cpu 8 and memory 1Gi, more than a node of pool main allocates (cpu 4, memory 32Gi)"},
		{"keyspace RF", Config{KeyspaceReplication: 2}, "thingsboard: cassandra: keyspace thingsboard: readConsistency QUORUM with replication factor 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := stacktest.NewStack(t, stacktest.ThreeZones())
			d := dataTier(t, s)
			before := len(s.Components())
			_, err := New(s, d, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want %q", err, tc.want)
			}
			if len(s.Components()) != before {
				t.Error("a rejected Config added components")
			}
		})
	}
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	if _, err := New(s, Deps{}, Config{}); err == nil || !strings.Contains(err.Error(), "handles are all required") {
		t.Errorf("missing deps: %v", err)
	}
}

func TestLoadTest(t *testing.T) {
	topo := stacktest.ThreeZones()
	topo.Pools = append(topo.Pools, stack.NodePool{Name: "client", CPU: topo.Pools[0].CPU, Memory: topo.Pools[0].Memory, NodesPerZone: 1, Labels: map[string]string{"role": "client"}})
	s := stacktest.NewStack(t, topo)
	target := &Handle{RESTURL: "http://tb-core.iot.svc.cluster.local:8080", MQTTHost: "tb-mqtt-transport.iot.svc.cluster.local"}
	if err := NewLoadTest(s, target, LoadTestConfig{}); err != nil {
		t.Fatal(err)
	}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	var set *appsv1.StatefulSet
	for _, o := range out.Objects {
		if x, ok := o.Object.(*appsv1.StatefulSet); ok {
			set = x
		}
	}
	env := map[string]string{}
	for _, e := range set.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	// The ThingsBoard article's manifest: 10 pods, 100k devices, 1,000 msg/s in all,
	// the wide local port range, the current image.
	if *set.Spec.Replicas != 10 || env["DEVICE_COUNT"] != "10000" || env["MESSAGES_PER_SECOND"] != "100" || env["USE_INSTANCE_IDX"] != "true" || env["MQTT_HOST"] != target.MQTTHost {
		t.Errorf("load test env %v", env)
	}
	if sc := set.Spec.Template.Spec.SecurityContext; len(sc.Sysctls) != 1 || sc.Sysctls[0] != (corev1.Sysctl{Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"}) {
		t.Errorf("sysctls %v", sc.Sysctls)
	}
	if img := set.Spec.Template.Spec.Containers[0].Image; img != "thingsboard/tb-ce-performance-test:4.0.1" {
		t.Errorf("image %s", img)
	}
	// The peak: 10 % of the devices (the first 10,000, not created again)
	// at 10x the rate, over 5 pods.
	s = stacktest.NewStack(t, topo)
	if err := NewLoadTest(s, target, LoadTestConfig{Peak: PeakConfig{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	out, err = s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string]*appsv1.StatefulSet{}
	for _, o := range out.Objects {
		if x, ok := o.Object.(*appsv1.StatefulSet); ok {
			sets[x.Name] = x
		}
	}
	peak := sets["tb-ce-performance-test-peak"]
	if len(sets) != 2 || peak == nil {
		t.Fatalf("statefulsets %v", sets)
	}
	penv := map[string]string{}
	for _, e := range peak.Spec.Template.Spec.Containers[0].Env {
		penv[e.Name] = e.Value
	}
	if *peak.Spec.Replicas != 5 || penv["DEVICE_COUNT"] != "2000" || penv["MESSAGES_PER_SECOND"] != "2000" || penv["DEVICE_CREATE_ON_START"] != "false" || penv["DURATION_IN_SECONDS"] != "600" {
		t.Errorf("peak env %v", penv)
	}
	if peak.Spec.Selector.MatchLabels[stack.LabelComponent] == set.Spec.Selector.MatchLabels[stack.LabelComponent] {
		t.Errorf("peak and base generators share a selector: %v", peak.Spec.Selector)
	}
	for _, tc := range []struct {
		cfg  LoadTestConfig
		want string
	}{
		{LoadTestConfig{Replicas: 1}, "loadtest: 100000 devices per pod; one pod's IP opens about 64.5k connections, so keep it at most 60000: use at least 2 replicas"},
		{LoadTestConfig{Replicas: 3}, "loadtest: devices 100000 do not split evenly over 3 pods"},
		{LoadTestConfig{MessagesPerSecond: 5}, "loadtest: messagesPerSecond 5 is below one per pod (10 pods)"},
		{LoadTestConfig{Image: "thingsboard/tb-ce-performance-test"}, `loadtest: image: "thingsboard/tb-ce-performance-test" has no tag`},
		{LoadTestConfig{Peak: PeakConfig{Enabled: true, Replicas: 3}}, "loadtest: peak: 10 % of 100000 devices do not split evenly over peak.replicas 3"},
		{LoadTestConfig{Peak: PeakConfig{Enabled: true, DevicesPercent: 101}}, "loadtest: peak.devicesPercent 101; allowed 1 to 100"},
		{LoadTestConfig{Peak: PeakConfig{Enabled: true, DevicesPercent: 100, Replicas: 1}}, "loadtest: peak: 100000 devices per pod; keep it at most 60000"},
		{LoadTestConfig{Peak: PeakConfig{Enabled: true, RateMultiplier: -1}}, "loadtest: peak.rateMultiplier -1; allowed 1 to 100"},
	} {
		s := stacktest.NewStack(t, topo)
		if err := NewLoadTest(s, target, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v; want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestLoadTestNilArguments: nil arguments are errors naming the argument,
// not panics.
func TestLoadTestNilArguments(t *testing.T) {
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	if err := NewLoadTest(s, nil, LoadTestConfig{}); err == nil || !strings.Contains(err.Error(), "loadtest: target is nil") {
		t.Errorf("nil target: %v", err)
	}
	if err := NewLoadTest(nil, &Handle{}, LoadTestConfig{}); err == nil || !strings.Contains(err.Error(), "loadtest: stack is nil") {
		t.Errorf("nil stack: %v", err)
	}
	if _, err := New(nil, Deps{}, Config{}); err == nil || !strings.Contains(err.Error(), "thingsboard: stack is nil") {
		t.Errorf("nil stack: %v", err)
	}
	if _, err := New(s, Deps{}, Config{}); err == nil || !strings.Contains(err.Error(), "thingsboard: deps") {
		t.Errorf("no deps: %v", err)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("4.3.1", 6, int32(3), "aws", "tb.example.org", 3, 0)
	f.Add("", 0, int32(0), "", "", 0, 0)
	f.Add("latest", -1, int32(9), "gcp", "Bad Host", 7, 9)
	f.Fuzz(func(t *testing.T, version string, partitions int, mqtt int32, exposure, host string, rf, queueRF int) {
		cfg := Config{Version: version, Partitions: partitions, Exposure: Exposure(exposure), Host: host, KeyspaceReplication: rf, QueueReplicationFactor: queueRF,
			Services: map[Service]ServiceConfig{MQTTTransport: {Replicas: mqtt}}}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			_, err := New(s, dataTier(t, s), cfg)
			return err
		})
	})
}

func FuzzLoadTestConfig(f *testing.F) {
	f.Add(int32(10), 100000, 1000, true, 10, 10, int32(5), 600)
	f.Add(int32(0), 0, 0, false, 0, 0, int32(0), 0)
	f.Add(int32(3), 7, -1, true, 101, -3, int32(7), -1)
	f.Fuzz(func(t *testing.T, replicas int32, devices, mps int, peak bool, pct, mult int, peakReplicas int32, peakDuration int) {
		cfg := LoadTestConfig{Pool: "main", Replicas: replicas, Devices: devices, MessagesPerSecond: mps,
			Peak: PeakConfig{Enabled: peak, DevicesPercent: pct, RateMultiplier: mult, Replicas: peakReplicas, DurationSeconds: peakDuration}}
		target := &Handle{RESTURL: "http://tb-core.iot.svc.cluster.local:8080", MQTTHost: "tb-mqtt-transport.iot.svc.cluster.local"}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { return NewLoadTest(s, target, cfg) })
	})
}
