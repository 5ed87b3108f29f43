package locust_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/locust"
	"github.com/iotstack/iotstack/stack"
)

// topo is the published run's generators beside one other pool.
func topo() stack.Topology {
	return stack.Topology{Zones: []string{"zone-a"}, Pools: []stack.NodePool{
		{Name: "dojot", Arch: "amd64", CPU: resource.MustParse("4"), Memory: resource.MustParse("4Gi"), NodesPerZone: 1, Labels: map[string]string{"group": "dojot"}},
		{Name: "client", Arch: "amd64", CPU: resource.MustParse("9"), Memory: resource.MustParse("14Gi"), NodesPerZone: 5, Labels: map[string]string{"group": "client"},
			Taints: []corev1.Taint{{Key: "dedicated", Value: "client", Effect: corev1.TaintEffectNoSchedule}}},
	}}
}

func valid() locust.Config {
	return locust.Config{Host: "dojot.example.com", APIURL: "http://kong:8000"}
}

// TestValidate: the defaults (the published run) pass; a worker asked for
// more connections than Linux's default local port range is refused with
// the figures and the fix, as are the other bad values.
func TestValidate(t *testing.T) {
	if err := valid().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if locust.EphemeralPorts != 28232 {
		t.Fatalf("EphemeralPorts %d; want 28232 (32768-60999)", locust.EphemeralPorts)
	}
	edge := valid()
	edge.Clients, edge.Workers = 2*28232, 2
	if err := edge.Validate(); err != nil {
		t.Errorf("28232 clients per worker, the range's size: %v", err)
	}
	for _, tc := range []struct {
		edit func(*locust.Config)
		want string
	}{
		{func(c *locust.Config) { c.Clients, c.Workers = 100000, 3 }, "100000 clients over 3 workers is 33334 connections per worker pod, more than its local port range allows (28232"},
		{func(c *locust.Config) { c.Clients, c.Workers = 100000, 3 }, "use at least 4 workers"},
		{func(c *locust.Config) { c.Clients, c.Workers = 2*28232+1, 2 }, "28233 connections per worker pod"},
		{func(c *locust.Config) { c.Clients, c.Workers = 5, 10 }, "clients 5 are fewer than workers 10"},
		{func(c *locust.Config) { c.Workers = -1 }, "workers -1; allowed 1 to 1000"},
		{func(c *locust.Config) { c.HatchRate = -5 }, "hatchRate -5"},
		{func(c *locust.Config) { c.DurationSeconds = 10 }, "durationSeconds 10; allowed 60 to 604800"},
		{func(c *locust.Config) { c.CertificatesSeconds = 30 }, "certificatesSeconds 30"},
		{func(c *locust.Config) { c.Clients, c.Workers, c.CertificateProcesses = 2, 1, 4 }, "certificateProcesses 4"},
		{func(c *locust.Config) { c.Host = "" }, "host is empty"},
		{func(c *locust.Config) { c.APIURL = "" }, "apiURL is empty"},
		{func(c *locust.Config) { c.Image = "dojot/locust" }, "loadTest"},
	} {
		c := valid()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v; want it to contain %q", c, err, tc.want)
		}
	}
}

func build(t *testing.T, cfg locust.Config) *stack.Stack {
	t.Helper()
	s, err := stack.New(stack.Options{Name: "lt", Namespace: "dojot", Topology: topo(), ExistingNamespace: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := locust.New(s, cfg); err != nil {
		t.Fatal(err)
	}
	return s
}

func jobs(t *testing.T, s *stack.Stack) map[string]*batchv1.Job {
	t.Helper()
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	js := map[string]*batchv1.Job{}
	for _, o := range out.Objects {
		if j, ok := o.Object.(*batchv1.Job); ok {
			js[j.Name] = j
		}
	}
	return js
}

// TestRender: every Job is bounded (the certificates by their own bound;
// master and workers by certificates + ramp + duration + 10 min), 45
// workers run at once, every pod lands on the client pool (affinity and
// the taint's toleration), the master's pod is scraped on the exporter's
// 9646, and the clients get the published run's MQTT settings.
func TestRender(t *testing.T) {
	cfg := valid()
	s := build(t, cfg)
	js := jobs(t, s)
	cfg.Default()
	wantDeadline := map[string]int64{
		"locust-certificates": 21600,
		"locust-master":       21600 + 1000 + 3600 + 600,
		"locust-worker":       21600 + 1000 + 3600 + 600,
	}
	for name, d := range wantDeadline {
		j := js[name]
		if j == nil {
			t.Fatalf("no Job %s in %v", name, js)
		}
		if j.Spec.ActiveDeadlineSeconds == nil || *j.Spec.ActiveDeadlineSeconds != d {
			t.Errorf("%s: activeDeadlineSeconds %v; want %d", name, j.Spec.ActiveDeadlineSeconds, d)
		}
		pod := j.Spec.Template.Spec
		tolerated := false
		for _, tol := range pod.Tolerations {
			if tol.Key == "dedicated" && tol.Value == "client" && tol.Effect == corev1.TaintEffectNoSchedule {
				tolerated = true
			}
		}
		na := pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		if !tolerated || na == nil || na.NodeSelectorTerms[0].MatchExpressions[0].Values[0] != "client" {
			t.Errorf("%s: not placed on the client pool: tolerations %v, affinity %v", name, pod.Tolerations, na)
		}
	}
	if w := js["locust-worker"]; *w.Spec.Parallelism != 45 || *w.Spec.Completions != 45 {
		t.Errorf("workers: parallelism %d, completions %d; want 45", *w.Spec.Parallelism, *w.Spec.Completions)
	}
	env := map[string]string{}
	for _, e := range js["locust-worker"].Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{"DOJOT_MQTT_HOST": "dojot.example.com", "DOJOT_MQTT_PORT": "8883", "DOJOT_MQTT_QOS": "1",
		"TASK_MIN_TIME": "29500", "TASK_MAX_TIME": "30000", "LOCUST_MASTER_HOST": "locust-master", "CERT_DIR": "/usr/src/app/cert/"} {
		if env[k] != v {
			t.Errorf("worker env %s=%q; want %q", k, env[k], v)
		}
	}
	targets, err := s.ScrapeTargets()
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Component != "locust" || targets[0].Port != locust.ExporterPort || targets[0].PortName != "metrics" {
		t.Errorf("scrape targets %+v; want the master's exporter on 9646", targets)
	}
}

// TestRefusesWhatDoesNotFit: more workers than the pool holds, or a pool
// the topology lacks, are errors naming them.
func TestRefusesWhatDoesNotFit(t *testing.T) {
	for _, tc := range []struct {
		edit func(*locust.Config)
		want string
	}{
		{func(c *locust.Config) { c.Workers = 200 }, "loadTest workers"},
		{func(c *locust.Config) { c.Pool = "nope" }, "loadTest: pool"},
	} {
		c := valid()
		tc.edit(&c)
		s, err := stack.New(stack.Options{Name: "lt", Namespace: "dojot", Topology: topo(), ExistingNamespace: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := locust.New(s, c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want %q", c, err, tc.want)
		}
	}
}

// TestScriptsParse: the shell scripts pass sh -n and bash -n, the Python
// script compiles.
func TestScriptsParse(t *testing.T) {
	s := build(t, valid())
	var scripts map[string]string
	for _, c := range s.Components() {
		for _, o := range c.Objects() {
			if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == "locust-scripts" {
				scripts = cm.Data
			}
		}
	}
	if len(scripts) != 3 {
		t.Fatalf("scripts %v", scripts)
	}
	dir := t.TempDir()
	for name, body := range scripts {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		var cmds [][]string
		if strings.HasSuffix(name, ".sh") {
			cmds = [][]string{{"sh", "-n", path}, {"bash", "-n", path}}
		} else {
			cmds = [][]string{{"python3", "-m", "py_compile", path}}
		}
		for _, c := range cmds {
			if _, err := exec.LookPath(c[0]); err != nil {
				t.Skipf("%s not installed", c[0])
			}
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", strings.Join(c, " "), err, out)
			}
		}
	}
}
