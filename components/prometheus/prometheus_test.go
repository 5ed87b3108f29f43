package prometheus

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/alertmanager"
	"github.com/iotstack/iotstack/components/redis"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

// build returns Prometheus watching a target stack with ZooKeeper and
// Redis, and the monitoring stack's output.
func build(t *testing.T, cfg Config) (*Handle, *stack.Stack, *stack.Output) {
	t.Helper()
	target := stacktest.NewStack(t, stacktest.ThreeZones())
	if _, err := zookeeper.New(target, zookeeper.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := redis.New(target, redis.Config{}); err != nil {
		t.Fatal(err)
	}
	mon, err := stack.New(stack.Options{Name: "test-monitoring", Namespace: "monitoring", Topology: stacktest.ThreeZones()})
	if err != nil {
		t.Fatal(err)
	}
	am, err := alertmanager.New(mon, alertmanager.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(mon, target, am, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := mon.Synth()
	if err != nil {
		t.Fatal(err)
	}
	return h, target, out
}

func TestScrapeJobsFromTheTarget(t *testing.T) {
	h, target, _ := build(t, Config{})
	for _, job := range []string{"zookeeper", "redis", "alertmanager", "prometheus", "kubelet", "cadvisor"} {
		if !strings.Contains(h.Config, "job_name: "+job+"\n") {
			t.Errorf("no job %s in\n%s", job, h.Config)
		}
	}
	if !strings.Contains(h.Config, "names:\n      - iot\n") {
		t.Errorf("pod discovery is not limited to the target namespace iot")
	}
	if strings.Contains(h.Config, "app_kubernetes_io_instance") || strings.Contains(h.Config, "target_label: instance") {
		t.Errorf("the instance label is rewritten")
	}
	if !strings.Contains(h.Config, "regex: metrics\n") {
		t.Errorf("targets are not kept on the named metrics port")
	}
	// The rule file holds the target's rules and the cluster rules.
	for _, g := range []string{"name: zookeeper\n", "name: redis\n", "name: kubernetes\n", "name: capacity\n", "name: watchdog\n", "alert: Watchdog\n", "alert: RedisClusterStateNotOK\n"} {
		if !strings.Contains(h.Rules, g) {
			t.Errorf("rule file lacks %q", g)
		}
	}
	// A rule added to the target after Prometheus read it is an error.
	c, err := target.AddComponent("late", stack.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	c.Alert(stack.AlertRule{Alert: "LateDown", Expr: "up == 0", Why: "w", Severity: stack.SeverityWarning, Summary: "s"})
	if _, err := target.Synth(); err == nil || !strings.Contains(err.Error(), "LateDown is added after test-monitoring/prometheus read") {
		t.Fatalf("synthesis of the target: %v; want the late rule reported", err)
	}
}

// TestLeastPrivilege: pods only in the two namespaces, nodes and
// nodes/proxy cluster-wide, nothing else; only Prometheus mounts a token.
func TestLeastPrivilege(t *testing.T) {
	_, _, out := build(t, Config{})
	var roles, clusterRoles int
	for _, r := range out.Objects {
		switch o := r.Object.(type) {
		case *rbacv1.Role:
			roles++
			if len(o.Rules) != 1 || strings.Join(o.Rules[0].Resources, ",") != "pods" || strings.Join(o.Rules[0].Verbs, ",") != "get,list,watch" {
				t.Errorf("Role %s/%s rules %+v; want get/list/watch pods", o.Namespace, o.Name, o.Rules)
			}
		case *rbacv1.ClusterRole:
			clusterRoles++
			var got []string
			for _, pr := range o.Rules {
				got = append(got, strings.Join(pr.Resources, ",")+":"+strings.Join(pr.Verbs, ","))
			}
			if strings.Join(got, " ") != "nodes:get,list,watch nodes/proxy:get" {
				t.Errorf("ClusterRole %s rules %v", o.Name, got)
			}
		case *appsv1.StatefulSet:
			mount := o.Spec.Template.Spec.AutomountServiceAccountToken
			if want := o.Name == "prometheus"; mount == nil || *mount != want {
				t.Errorf("StatefulSet %s automountServiceAccountToken %v; want %v", o.Name, mount, want)
			}
			if o.Name == "prometheus" && *o.Spec.Replicas != 2 {
				t.Errorf("prometheus replicas %d; want 2", *o.Spec.Replicas)
			}
		}
	}
	if roles != 2 || clusterRoles != 1 {
		t.Errorf("%d Roles and %d ClusterRoles; want 2 (iot, monitoring) and 1", roles, clusterRoles)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "Prom"}, `name "Prom" must be a DNS-1035 label`},
		{Config{Replicas: 7}, "replicas 7; allowed 1 to 5"},
		{Config{Data: stack.Storage{Size: resource.MustParse("100Mi")}}, "data.size 100Mi; allowed 1Gi or more"},
		{Config{Retention: 90 * time.Minute}, "retention 1h30m0s; allowed a whole number of hours"},
		{Config{RetentionSizePercent: 99}, "retentionSizePercent 99; allowed 10 to 95"},
		{Config{ScrapeInterval: time.Second}, "scrapeInterval 1s; allowed whole seconds from 5s to 5m"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v; want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestRetentionSize(t *testing.T) {
	c := Config{}
	c.Default()
	if got := c.retentionSize(); got != "40960MB" {
		t.Errorf("retention size of 80 %% of 50Gi = %s; want 40960MB", got)
	}
}

// FuzzConfig: any configuration is refused with an error or synthesizes.
func FuzzConfig(f *testing.F) {
	f.Add("prometheus", int32(2), "50Gi", int64(360), 80, int64(30), int64(30))
	f.Add("", int32(0), "", int64(0), 0, int64(0), int64(0))
	f.Add("P", int32(9), "1Mi", int64(-1), 100, int64(1), int64(9999))
	f.Fuzz(func(t *testing.T, name string, replicas int32, size string, retentionHours int64, pct int, scrape, eval int64) {
		cfg := Config{Name: name, Replicas: replicas, Retention: time.Duration(retentionHours) * time.Hour, RetentionSizePercent: pct,
			ScrapeInterval: time.Duration(scrape) * time.Second, EvaluationInterval: time.Duration(eval) * time.Second}
		if q, err := resource.ParseQuantity(size); err == nil {
			cfg.Data.Size = q
		}
		target := stacktest.NewStack(t, stacktest.ThreeZones())
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			am, err := alertmanager.New(s, alertmanager.Config{})
			if err != nil {
				return err
			}
			_, err = New(s, target, am, cfg)
			return err
		})
	})
}

// A target component whose name is one of Prometheus' own rule groups
// would merge two concerns under one component label: refused.
func TestOwnGroupNamesReserved(t *testing.T) {
	target := stacktest.NewStack(t, stacktest.ThreeZones())
	c, err := target.AddComponent(GroupCapacity, stack.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	c.Alert(stack.AlertRule{Alert: "Full", Expr: "vector(1)", Why: "w", Severity: stack.SeverityCritical, Summary: "s"})
	mon, err := stack.New(stack.Options{Name: "mon", Namespace: "monitoring", Topology: stacktest.ThreeZones()})
	if err != nil {
		t.Fatal(err)
	}
	am, err := alertmanager.New(mon, alertmanager.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(mon, target, am, Config{}); err == nil || !strings.Contains(err.Error(), "target component capacity has alert rules") {
		t.Fatalf("New = %v; want the clash named", err)
	}
	if _, err := mon.Synth(); err != nil {
		t.Fatalf("a refused Prometheus left the monitoring stack broken: %v", err)
	}
}
