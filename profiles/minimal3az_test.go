package profiles

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// TestMinimal3AZPodTable compares what the profile renders with the
// ThingsBoard article's pod table (section "Pod distribution across the
// cluster"):
// every row is either rendered with the table's replicas per zone and
// limits, or listed here as a documented deviation.
func TestMinimal3AZPodTable(t *testing.T) {
	type row struct {
		replicas    int32
		cpu, memory string
	}
	table := map[string]row{
		"tb-core": {3, "3", "3Gi"}, "tb-rule-engine": {3, "3", "3584Mi"}, "tb-js-executor": {3, "1", "512Mi"},
		"tb-http-transport": {3, "1", "1Gi"}, "tb-mqtt-transport": {3, "1", "1536Mi"}, "tb-web-ui": {3, "500m", "512Mi"},
		"tb-vc-executor": {3, "1", "1Gi"}, "postgres": {3, "3", "4Gi"}, "kafka": {3, "3", "2Gi"}, "zookeeper": {3, "500m", "512Mi"},
		"cassandra-a": {1, "3", "4Gi"}, "cassandra-b": {1, "3", "4Gi"}, "cassandra-c": {1, "3", "4Gi"},
		"redis-a": {2, "1", "1Gi"}, "redis-b": {2, "1", "1Gi"}, "redis-c": {2, "1", "1Gi"},
		// pgpool 1 / 1 becomes PgBouncer, two pods in two zones.
		"postgres-pooler": {2, "1", "1Gi"},
		// Kafka-exporter 0.5 / 0.5 becomes kafka_exporter 0.5 / 512Mi.
		"kafka-exporter": {1, "500m", "512Mi"},
		// Cassandra-reaper 1 / 1.
		"reaper": {1, "1", "1Gi"},
		// Kafka-ui becomes kafbat/kafka-ui (ui.kafka).
		"kafka-ui": {1, "1", "1Gi"},
	}
	// Rows of the table deliberately not rendered, with the reason.
	deviations := map[string]string{
		"tb-integration-executor": "a Professional Edition service; this profile is CE",
		"Pgpool-exporter":         "PgBouncer replaces pgpool; PostgreSQL metrics come from postgres_exporter sidecars",
		"Prometheus":              "rendered in the monitoring part (monitoring/, 2 replicas, 1 CPU / 1 GiB), checked by the monitoring tests",
		"Grafana":                 "rendered in the monitoring part (monitoring/, one per zone, 1 CPU / 1 GiB), checked by the monitoring tests",
		"Backup-job":              "CronJobs (1 CPU / 1 GiB), rendered when backup.store and cassandra.backup are set; off by default",
	}
	p, _ := Get(Minimal3AZ)
	s, err := p.Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Objects {
		name := o.Object.GetName()
		var replicas int32
		var spec corev1.PodSpec
		switch w := o.Object.(type) {
		case *appsv1.Deployment:
			replicas, spec = *w.Spec.Replicas, w.Spec.Template.Spec
		case *appsv1.StatefulSet:
			replicas, spec = *w.Spec.Replicas, w.Spec.Template.Spec
		default:
			continue
		}
		want, ok := table[name]
		if !ok {
			t.Errorf("%s is rendered but not in the pod table", name)
			continue
		}
		delete(table, name)
		lim := spec.Containers[0].Resources.Limits
		if cpu, mem := lim.Cpu(), lim.Memory(); replicas != want.replicas || cpu.String() != want.cpu || mem.String() != want.memory {
			t.Errorf("%s: %d x %s / %s; the table says %d x %s / %s", name, replicas, cpu.String(), mem.String(), want.replicas, want.cpu, want.memory)
		}
	}
	for name := range table {
		t.Errorf("pod table row %s is not rendered", name)
	}
	if len(deviations) != 5 {
		t.Fatal("the documented deviations changed; update the profile doc")
	}
}

// TestMinimal3AZOptions rejects impossible settings with the component's
// own message.
func TestMinimal3AZOptions(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{KafkaReplicationFactor: 4}, "profile minimal-3az: options: KafkaReplicationFactor: 4; allowed 1 to 3 (the profile's Kafka brokers; 0 keeps the default 2)"},
		{Options{Replicas: map[string]int32{"tb-mqtt-transport": 4}}, "profile minimal-3az: options: Replicas[tb-mqtt-transport]: 4; allowed 1 to 3 (one per node of pool thingsboard)"},
		{Options{Replicas: map[string]int32{"tb-mqtt": 2}}, `profile minimal-3az: options: Replicas[tb-mqtt]: the service is not enabled in profile minimal-3az; allowed services: tb-core,`},
		{Options{ThingsBoardVersion: "latest"}, `profile minimal-3az: options: ThingsBoardVersion: "latest"; must be a pinned image tag such as 4.3.1`},
	} {
		if _, err := p.Build(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v; want %q", tc.opts, err, tc.want)
		}
	}
	s, err := p.Build(Options{ThingsBoardVersion: "4.3.1.3", Replicas: map[string]int32{"tb-js-executor": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Synth(); err != nil {
		t.Fatal(err)
	}
}

// TestMinimal3AZGeneric: the generic variant has no AWS annotations and no
// StorageClass of its own; the AWS variant has the gp3 class and uses it.
func TestMinimal3AZGeneric(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	for _, generic := range []bool{false, true} {
		s, err := p.Build(Options{Generic: generic})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Synth()
		if err != nil {
			t.Fatal(err)
		}
		var classes []*storagev1.StorageClass
		aws := false
		for _, o := range out.Objects {
			switch x := o.Object.(type) {
			case *storagev1.StorageClass:
				classes = append(classes, x)
			case *networkingv1.Ingress:
				aws = aws || len(x.Annotations) > 0
			case *corev1.Service:
				aws = aws || len(x.Annotations) > 0
			}
		}
		if generic && (len(classes) != 0 || aws) {
			t.Errorf("generic variant has %d StorageClasses, AWS annotations %v", len(classes), aws)
		}
		if !generic && (len(classes) != 1 || classes[0].Provisioner != "ebs.csi.aws.com" || *classes[0].VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer || !*classes[0].AllowVolumeExpansion || !aws) {
			t.Errorf("AWS variant: classes %+v, annotations %v", classes, aws)
		}
	}
}

// TestLoadTestPart: the performance test is rendered into loadtest/ with
// its own kustomization, and the main kustomization does not list it.
func TestLoadTestPart(t *testing.T) {
	outs, err := Synth(Options{}, Minimal3AZ)
	if err != nil {
		t.Fatal(err)
	}
	main := string(outs[0].File("kustomization.yaml").Data)
	if strings.Contains(main, "loadtest") || strings.Contains(main, "performance") {
		t.Errorf("the main kustomization includes the load test:\n%s", main)
	}
	lt := outs[0].File("loadtest/kustomization.yaml")
	if lt == nil || !strings.Contains(string(lt.Data), "tb-ce-performance-test.yaml") || strings.Contains(string(lt.Data), "namespace.yaml") {
		t.Fatalf("loadtest kustomization: %v", lt)
	}
	p, _ := Get(Minimal3AZ)
	b, _ := p.BuildAll(Options{})
	part := b.Parts[0].Stack
	o, err := part.Synth()
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range o.Objects {
		if obj.Ref.Kind == "Namespace" {
			t.Error("the load test renders the namespace the main stack owns")
		}
	}
}
