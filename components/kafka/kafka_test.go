package kafka

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func synth(t *testing.T, cfg Config) (*Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	_, out := stacktest.Build(t, func(s *stack.Stack) (err error) { h, err = New(s, cfg); return err })
	return h, out
}

func TestGolden(t *testing.T) {
	_, out := synth(t, Config{Pool: "main"})
	stacktest.Golden(t, filepath.Join("testdata", "golden"), out, *update, "run `go test ./components/kafka -update` and review the diff")
}

func TestHandle(t *testing.T) {
	h, out := synth(t, Config{})
	want := "kafka-0.kafka-headless.iot.svc.cluster.local:9092,kafka-1.kafka-headless.iot.svc.cluster.local:9092,kafka-2.kafka-headless.iot.svc.cluster.local:9092"
	if h.BootstrapServers() != want || h.Service != "kafka" || h.Port != 9092 || h.ReplicationFactor != 3 {
		t.Fatalf("handle %+v", h)
	}
	if h.ClusterID != (stack.SecretKeyRef{Name: "kafka-kraft", Key: "cluster-id"}) {
		t.Fatalf("cluster ID ref %+v", h.ClusterID)
	}
	if len(out.Secrets) != 1 || out.Secrets[0].Keys[0].Kind != stack.ClusterID {
		t.Fatalf("declared secrets %+v", out.Secrets)
	}
}

func TestServerProperties(t *testing.T) {
	cfg := Config{DefaultReplicationFactor: 2, AutoCreateTopics: true}
	cfg.Default()
	props := serverProperties(cfg, []string{"0@a:9093", "1@b:9093", "2@c:9093"})
	for _, want := range []string{
		"process.roles=broker,controller\n", "controller.quorum.voters=0@a:9093,1@b:9093,2@c:9093\n",
		"default.replication.factor=2\n", "min.insync.replicas=2\n", "offsets.topic.replication.factor=3\n",
		"transaction.state.log.min.isr=2\n", "auto.create.topics.enable=true\n", "inter.broker.listener.name=INTERNAL\n",
	} {
		if !strings.Contains(props, want) {
			t.Errorf("server.properties lacks %q:\n%s", want, props)
		}
	}
	start := startScript(".kafka-headless.iot.svc.cluster.local")
	for _, want := range []string{`echo "node.id=${ordinal}"`, "advertised.listeners=CLIENT://${host}:9092,INTERNAL://${host}:9094", "--ignore-formatted", "refusing to start under a wrong identity"} {
		if !strings.Contains(start, want) {
			t.Errorf("start.sh lacks %q", want)
		}
	}
}

func TestOnePerZone(t *testing.T) {
	_, out := synth(t, Config{Pool: "main"})
	pods, err := stacktest.Schedule(stacktest.ThreeZones(), out)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	for _, p := range pods["kafka"] {
		zones[p.Zone] = true
	}
	if len(pods["kafka"]) != 3 || len(zones) != 3 {
		t.Fatalf("brokers %v in zones %v; want one per zone", pods["kafka"], zones)
	}
}

func TestNoCredentialRendered(t *testing.T) {
	_, out := synth(t, Config{})
	for _, f := range out.Files {
		if strings.Contains(string(f.Data), "kind: Secret") {
			t.Errorf("%s renders a Secret", f.Name)
		}
	}
	found := false
	for _, o := range out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && strings.Contains(cm.Data["server.properties"], "cluster.id") {
			t.Error("the cluster ID is in a ConfigMap")
		}
		set, ok := o.Object.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		for _, e := range set.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "CLUSTER_ID" {
				found = true
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "kafka-kraft" {
					t.Errorf("CLUSTER_ID is not taken from the Secret: %+v", e)
				}
			}
		}
	}
	if !found {
		t.Error("no CLUSTER_ID variable")
	}
}

func TestScriptsParse(t *testing.T) {
	_, out := synth(t, Config{})
	stacktest.CheckScripts(t, out)
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no brokers", Config{Brokers: -1}, "kafka: brokers -1; allowed 1 to 9"},
		{"8 CPU on a 4 vCPU pool", Config{Resources: stack.FromLimits(resource.MustParse("80"), resource.MustParse("2Gi"))}, "kafka: resources: a pod requests cpu 8 and memory 2Gi, more than a node of pool main allocates (cpu 4, memory 32Gi)"},
		{"1000-voter quorum", Config{Brokers: 1000}, "kafka: brokers 1000; allowed 1 to 9 (3 for a quorum that survives a failure): every broker is a KRaft controller voter"},
		{"digest without tag", Config{Image: "apache/kafka@sha256:" + strings.Repeat("1", 64)}, `kafka: image: "apache/kafka@sha256:1111`},
		{"memory overflow", Config{Resources: stack.FromLimits(resource.MustParse("1"), resource.MustParse("1e20"))}, "kafka.resources.memoryRequest: 100e18; allowed at most 64Ti"},
		{"RF above brokers", Config{DefaultReplicationFactor: 4}, "kafka: defaultReplicationFactor 4; must be 1 to 3 (the number of brokers)"},
		{"offsets RF above brokers", Config{Brokers: 1, DefaultReplicationFactor: 1, MinInsyncReplicas: 1}, "kafka: offsetsTopicReplicationFactor 3; must be 1 to 1"},
		{"min ISR above RF", Config{DefaultReplicationFactor: 2, MinInsyncReplicas: 3}, "kafka: minInsyncReplicas 3; must be 1 to 2 (defaultReplicationFactor)"},
		{"txn min ISR above txn RF", Config{TransactionStateLogReplicationFactor: 1}, "kafka: transactionStateLogMinISR 2; must be 1 to 1"},
		{"heap above limit", Config{HeapMiB: 4096}, "kafka: heapMiB 4096; must be 128 to 1536"},
		{"bad name", Config{Name: "Kafka"}, `kafka: name "Kafka" must be a DNS-1035 label`},
		{"partitions", Config{NumPartitions: -3}, "kafka: numPartitions -3; allowed 1 to 10000"},
		{"storage", Config{Data: stack.Storage{Size: resource.MustParse("-1Gi")}}, "kafka.data.size: -1Gi; must be a positive quantity"},
		{"more brokers than hosts", Config{Brokers: 4, DefaultReplicationFactor: 3}, "kafka: replicas 4 exceed the 3 nodes available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, tc.cfg); return err }, tc.want)
		})
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("kafka", int32(3), 1024, "3", "2Gi", 3, 2, 3, 3, 2, 3, 168, 0, 0, int64(0), int64(0), "")
	f.Add("", int32(0), 0, "", "", 0, 0, 0, 0, 0, 0, 0, 0, 0, int64(0), int64(0), "")
	f.Add("k", int32(1), -1, "1m", "1Ki", 9, -2, 1, 1, 5, -1, 0, 30, 64, int64(262144000), int64(0), "2Gi")
	f.Add("k", int32(1), 0, "", "", 1, 1, 1, 1, 1, 9, 0, 30, 64, int64(0), int64(-1), "1Gi")
	f.Fuzz(func(t *testing.T, name string, brokers int32, heap int, cpu, mem string, rf, isr, orf, trf, tisr, parts, hours, minutes, planned int, segment, retention int64, data string) {
		cfg := Config{Name: name, Brokers: brokers, HeapMiB: heap, DefaultReplicationFactor: rf, MinInsyncReplicas: isr,
			OffsetsTopicReplicationFactor: orf, TransactionStateLogReplicationFactor: trf, TransactionStateLogMinISR: tisr,
			NumPartitions: parts, RetentionHours: hours, RetentionMinutes: minutes, PartitionsPerBroker: planned,
			SegmentBytes: segment, RetentionBytes: retention}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		if d, err := resource.ParseQuantity(data); err == nil {
			cfg.Data.Size = d
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}

// TestTwoCopies: two clusters in one stack each get their own selector
// (the name label is the component name), so each Service selects its own
// brokers only and synthesis accepts both.
func TestTwoCopies(t *testing.T) {
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		for _, name := range []string{"kafka-000", "kafka-001"} {
			if _, err := New(s, Config{Name: name, Brokers: 1, DefaultReplicationFactor: 1, MinInsyncReplicas: 1,
				OffsetsTopicReplicationFactor: 1, TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, o := range out.Objects {
		if svc, ok := o.Object.(*corev1.Service); ok && svc.Spec.Selector[stack.LabelName] != o.Component {
			t.Errorf("%s of %s selects name %q", o.Ref, o.Component, svc.Spec.Selector[stack.LabelName])
		}
	}
}

// TestDiskSizing: with partitionsPerBroker the segment and retention sizes
// follow the volume and are rendered; a configuration whose retained logs
// cannot fit is refused with the fields named; without it nothing changes.
func TestDiskSizing(t *testing.T) {
	cfg := Config{Brokers: 1, DefaultReplicationFactor: 1, MinInsyncReplicas: 1, OffsetsTopicReplicationFactor: 1,
		TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1, RetentionMinutes: 30, PartitionsPerBroker: 64}
	cfg.Data.Size = resource.MustParse("2Gi")
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	usable := int64(2<<30) / 100 * 90
	share := usable / 64
	if cfg.SegmentBytes != share/4 || cfg.RetentionBytes != share-share/4 || cfg.RetentionHours != 0 {
		t.Fatalf("derived segment %d retention %d hours %d; want %d, %d, 0", cfg.SegmentBytes, cfg.RetentionBytes, cfg.RetentionHours, share/4, share-share/4)
	}
	if need := int64(64) * (cfg.RetentionBytes + cfg.SegmentBytes); need > usable {
		t.Fatalf("derived sizes need %d of %d bytes", need, usable)
	}
	props := serverProperties(cfg, []string{"0@a:9093"})
	for _, want := range []string{"log.retention.minutes=30\n", fmt.Sprintf("log.segment.bytes=%d\n", cfg.SegmentBytes), fmt.Sprintf("log.retention.bytes=%d\n", cfg.RetentionBytes)} {
		if !strings.Contains(props, want) {
			t.Errorf("server.properties lacks %q:\n%s", want, props)
		}
	}
	if strings.Contains(props, "log.retention.hours") {
		t.Errorf("both retention settings rendered:\n%s", props)
	}
	// A large volume caps derived segments at 256 MiB.
	big := cfg
	big.SegmentBytes, big.RetentionBytes, big.Data.Size = 0, 0, resource.MustParse("500Gi")
	big.Default()
	if big.SegmentBytes != 256<<20 {
		t.Errorf("segment on 500Gi: %d; want 256 MiB", big.SegmentBytes)
	}

	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want []string
	}{
		{"upstream segments on a small volume", func(c *Config) { c.SegmentBytes, c.RetentionBytes = 262144000, 0 },
			[]string{"cannot fit", "partitionsPerBroker 64", "segmentBytes 262144000", "kafka.data.size 2Gi"}},
		{"explicit retention too large", func(c *Config) { c.SegmentBytes, c.RetentionBytes = 0, 1<<30 },
			[]string{"cannot fit", "retentionBytes 1073741824"}},
		{"retention without a plan", func(c *Config) { c.PartitionsPerBroker, c.SegmentBytes, c.RetentionBytes = 0, 0, 1<<20 },
			[]string{"retentionBytes 1048576 needs partitionsPerBroker"}},
		{"tiny segment", func(c *Config) { c.SegmentBytes, c.RetentionBytes = 1000, 0 }, []string{"segmentBytes 1000"}},
		{"retention beyond any volume", func(c *Config) { c.RetentionBytes = 1 << 62 }, []string{"retentionBytes 4611686018427387904", "kafka.data.size (2Gi)"}},
		{"both retentions", func(c *Config) { c.RetentionHours = 2 }, []string{"retentionMinutes 30 and retentionHours 2"}},
	} {
		c := Config{Brokers: 1, DefaultReplicationFactor: 1, MinInsyncReplicas: 1, OffsetsTopicReplicationFactor: 1,
			TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1, RetentionMinutes: 30, PartitionsPerBroker: 64}
		c.Data.Size = resource.MustParse("2Gi")
		tc.mut(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want %q", tc.name, err, w)
			}
		}
	}

	// Without a plan (minimal-3az), nothing new is rendered.
	plain := Config{}
	plain.Default()
	props = serverProperties(plain, []string{"0@a:9093"})
	if !strings.Contains(props, "log.retention.hours=168\n") || strings.Contains(props, "log.segment.bytes") || strings.Contains(props, "log.retention.bytes") {
		t.Errorf("default server.properties changed:\n%s", props)
	}
}

func TestExporterKafkaVersion(t *testing.T) {
	for image, want := range map[string]string{
		Image39: "3.9.0", Image: "3.6.0", "apache/kafka:2.8.2": "2.8.0", "apache/kafka:latest": "3.6.0",
		"apache/kafka@sha256:" + strings.Repeat("a", 64): "3.6.0",
	} {
		if got := exporterKafkaVersion(image); got != want {
			t.Errorf("%s: %s; want %s", image, got, want)
		}
	}
	_, out := synth(t, Config{Image: Image39})
	found := false
	for _, o := range out.Objects {
		if d, ok := o.Object.(*appsv1.Deployment); ok && d.Name == "kafka-exporter" {
			found = strings.Contains(strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "), "--kafka.version=3.9.0")
		}
	}
	if !found {
		t.Error("the exporter of a 3.9 broker does not run with --kafka.version=3.9.0")
	}
}
