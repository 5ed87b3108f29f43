package kubestatemetrics

import (
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/iotstack/iotstack/components/alertmanager"
	"github.com/iotstack/iotstack/components/prometheus"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func build(t *testing.T, cfg Config) (*Handle, *prometheus.Handle, *stack.Output) {
	t.Helper()
	target := stacktest.NewStack(t, stacktest.ThreeZones())
	mon, err := stack.New(stack.Options{Name: "test-monitoring", Namespace: "monitoring", Topology: stacktest.ThreeZones()})
	if err != nil {
		t.Fatal(err)
	}
	am, err := alertmanager.New(mon, alertmanager.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(mon, target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := prometheus.New(mon, target, am, prometheus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := mon.Synth()
	if err != nil {
		t.Fatal(err)
	}
	return h, p, out
}

// TestLeastPrivilege: the RBAC grants list and watch on exactly the
// resources of --resources, the namespaced ones in the target namespace
// only, and --namespaces is that namespace.
func TestLeastPrivilege(t *testing.T) {
	_, _, out := build(t, Config{})
	var granted []string
	var args []string
	for _, o := range out.Objects {
		switch v := o.Object.(type) {
		case *rbacv1.Role:
			if !strings.Contains(v.Name, "kube-state-metrics") {
				continue // Prometheus' own
			}
			if v.Namespace != "iot" {
				t.Errorf("Role %s in namespace %s; want only the target namespace iot", v.Name, v.Namespace)
			}
			for _, r := range v.Rules {
				if strings.Join(r.Verbs, ",") != "list,watch" {
					t.Errorf("Role %s grants %v on %v; want list, watch", v.Name, r.Verbs, r.Resources)
				}
				granted = append(granted, r.Resources...)
			}
		case *rbacv1.ClusterRole:
			if !strings.Contains(v.Name, "kube-state-metrics") {
				continue // Prometheus' own
			}
			for _, r := range v.Rules {
				if strings.Join(r.Resources, ",") != "nodes" || strings.Join(r.Verbs, ",") != "list,watch" {
					t.Errorf("ClusterRole %s grants %v on %v; want list, watch on nodes only", v.Name, r.Verbs, r.Resources)
				}
				granted = append(granted, r.Resources...)
			}
		case *appsv1.Deployment:
			args = v.Spec.Template.Spec.Containers[0].Args
		}
	}
	sort.Strings(granted)
	if got, want := strings.Join(granted, ","), strings.Join(Resources, ","); got != want {
		t.Errorf("granted %s; want exactly --resources %s", got, want)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"--resources=" + strings.Join(Resources, ","), "--namespaces=iot", "--port=8080", "--telemetry-port=8081"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %s", joined, want)
		}
	}
}

// TestScrapedWithItsSeriesLabels: the bundled Prometheus has a job for
// kube-state-metrics that keeps the namespace and pod of the objects it
// describes (honor_labels), and only that job among the pod jobs.
func TestScrapedWithItsSeriesLabels(t *testing.T) {
	h, p, _ := build(t, Config{})
	job := h.Component.Job("")
	if job != "kube-state-metrics" {
		t.Fatalf("job %q; the kubernetes rules' tests expect kube-state-metrics", job)
	}
	i := strings.Index(p.Config, "job_name: "+job+"\n")
	if i < 0 {
		t.Fatalf("no job %s in\n%s", job, p.Config)
	}
	// honor_labels sorts before job_name in the same list item.
	start := strings.LastIndex(p.Config[:i], "\n    - ")
	if !strings.Contains(p.Config[start:i], "honor_labels: true") {
		t.Errorf("job %s does not honor the labels of its series:\n%s", job, p.Config[start:i+40])
	}
	if n := strings.Count(p.Config, "honor_labels: true"); n != 3 {
		t.Errorf("%d jobs honor labels; want 3 (kube-state-metrics, kubelet, cadvisor)", n)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad name", Config{Name: "Kube_State"}, `kube-state-metrics: name "Kube_State"`},
		{"bad image", Config{Image: "not an image"}, "kube-state-metrics: image: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
