package grafana

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/components/alertmanager"
	"github.com/iotstack/iotstack/components/prometheus"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

// build adds Alertmanager, Prometheus (watching an empty target stack)
// and Grafana to a monitoring stack and synthesizes it.
func build(t *testing.T, cfg Config) (*Handle, *stack.Output) {
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
	p, err := prometheus.New(mon, target, am, prometheus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(mon, Prometheus{URL: "http://prometheus.monitoring.svc:9090", Web: p.Component.Pods("").Port("web")}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := mon.Synth()
	if err != nil {
		t.Fatal(err)
	}
	return h, out
}

func find[T any](out *stack.Output) []T {
	var r []T
	for _, o := range out.Objects {
		if x, ok := o.Object.(T); ok {
			r = append(r, x)
		}
	}
	return r
}

func TestProvisioningAndSecret(t *testing.T) {
	h, out := build(t, Config{RootURL: "https://iot.example.com/grafana/", Dashboards: []Dashboard{
		{Name: "overview", JSON: []byte(`{"title":"o"}`)}, {Name: "redis", JSON: []byte(`{"title":"r"}`)}}})
	if h.SubPath != "/grafana/" {
		t.Errorf("sub path %q", h.SubPath)
	}
	sets := find[*appsv1.StatefulSet](out)
	if len(sets) != 3 {
		t.Fatalf("%d StatefulSets", len(sets))
	}
	g := sets[2]
	if g.Name != "grafana" || *g.Spec.Replicas != 3 {
		t.Fatalf("StatefulSet %s replicas %d", g.Name, *g.Spec.Replicas)
	}
	spec := g.Spec.Template.Spec
	if sc := spec.SecurityContext; sc == nil || *sc.RunAsUser != 472 {
		t.Errorf("pod security %+v; want the image's grafana user 472", sc)
	}
	env := map[string]string{}
	for _, e := range spec.Containers[0].Env {
		if e.ValueFrom != nil {
			t.Errorf("env %s from %v: the password is read from a file", e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{
		"GF_SERVER_ROOT_URL":               "https://iot.example.com/grafana/",
		"GF_SERVER_SERVE_FROM_SUB_PATH":    "true",
		"GF_SECURITY_ADMIN_PASSWORD__FILE": "/etc/grafana/secrets/admin-password",
		"GF_LOG_MODE":                      "console",
	} {
		if env[k] != v {
			t.Errorf("env %s=%q; want %q", k, env[k], v)
		}
	}
	if p := spec.Containers[0].ReadinessProbe.HTTPGet.Path; p != "/grafana/api/health" {
		t.Errorf("readiness path %s", p)
	}
	if len(out.Secrets) != 1 || out.Secrets[0].Name != "grafana-admin" || out.Secrets[0].Keys[0].Key != AdminPasswordKey {
		t.Errorf("secrets %+v", out.Secrets)
	}
	mounts := map[string]string{}
	for _, m := range spec.Containers[0].VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	for name, path := range map[string]string{"datasources": "/etc/grafana/provisioning/datasources", "providers": "/etc/grafana/provisioning/dashboards",
		"dashboard-overview": "/etc/grafana/dashboards/overview", "dashboard-redis": "/etc/grafana/dashboards/redis", "admin": "/etc/grafana/secrets", "data": "/var/lib/grafana"} {
		if mounts[name] != path {
			t.Errorf("mount %s at %q; want %s", name, mounts[name], path)
		}
	}
	cms := map[string]*corev1.ConfigMap{}
	for _, cm := range find[*corev1.ConfigMap](out) {
		cms[cm.Name] = cm
	}
	if ds := cms["grafana-datasources"]; ds == nil || !strings.Contains(ds.Data["prometheus.yaml"], "uid: prometheus\n") || !strings.Contains(ds.Data["prometheus.yaml"], "url: http://prometheus.monitoring.svc:9090\n") {
		t.Errorf("datasource ConfigMap %+v", ds)
	}
	if d := cms["grafana-dashboard-redis"]; d == nil || d.Data["redis.json"] != `{"title":"r"}` {
		t.Errorf("one ConfigMap per dashboard: %+v", d)
	}
	// Grafana may open Prometheus' web port: the NetworkPolicy of
	// Prometheus admits it.
	admitted := false
	for _, np := range find[*networkingv1.NetworkPolicy](out) {
		if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != "prometheus" {
			continue
		}
		for _, r := range np.Spec.Ingress {
			for _, f := range r.From {
				if f.PodSelector != nil && f.PodSelector.MatchLabels["app.kubernetes.io/name"] == "grafana" {
					admitted = true
				}
			}
		}
	}
	if !admitted {
		t.Error("Prometheus' NetworkPolicy does not admit Grafana")
	}
}

func TestNodePortAndRoot(t *testing.T) {
	h, out := build(t, Config{NodePort: 30003, Replicas: 1})
	if h.SubPath != "/" {
		t.Errorf("sub path %q", h.SubPath)
	}
	var svc *corev1.Service
	for _, s := range find[*corev1.Service](out) {
		if s.Name == "grafana" {
			svc = s
		}
	}
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Ports[0].NodePort != 30003 {
		t.Fatalf("Service %+v", svc)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "Grafana"}, `name "Grafana"`},
		{Config{Replicas: 10}, "replicas 10"},
		{Config{RootURL: "iot.example.com/grafana/"}, `rootURL "iot.example.com/grafana/"`},
		{Config{RootURL: "https://iot.example.com/grafana"}, "ending in /"},
		{Config{NodePort: 80}, "nodePort 80"},
		{Config{Dashboards: []Dashboard{{Name: "a", JSON: []byte("{}")}, {Name: "a", JSON: []byte("{}")}}}, `dashboards[1].name "a" is used twice`},
		{Config{Dashboards: []Dashboard{{Name: "Bad_Name", JSON: []byte("{}")}}}, `dashboards[0].name "Bad_Name"`},
		{Config{Dashboards: []Dashboard{{Name: "a"}}}, "dashboards[0] (a) has no JSON"},
		{Config{Dashboards: []Dashboard{{Name: "a", JSON: []byte(`{"uid":"${DS_PROMETHEUS}"}`)}}}, "placeholder"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error with %q", c.cfg, err, c.want)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("grafana", int32(3), "http://localhost:3000/", int32(0), "d")
	f.Fuzz(func(t *testing.T, name string, replicas int32, root string, nodePort int32, dash string) {
		_ = Config{Name: name, Replicas: replicas, RootURL: root, NodePort: nodePort, Dashboards: []Dashboard{{Name: dash, JSON: []byte("{}")}}}.Validate()
	})
}
