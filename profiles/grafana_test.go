package profiles

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/stack"
)

// monitoringObjects returns the objects of the monitoring part and of the
// main stack of a profile with monitoring on and its values changed by set.
func monitoringObjects(t *testing.T, name string, set func(Values)) (mon, main []stack.Object, files map[string]string) {
	t.Helper()
	p, err := Get(name)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Defaults()
	v.Base().Monitoring.Enabled = true
	if set != nil {
		set(v)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := SynthBuilt(name, b)
	if err != nil {
		t.Fatal(err)
	}
	files = map[string]string{}
	for _, f := range out.Files {
		files[f.Name] = string(f.Data)
	}
	for _, r := range out.Objects {
		main = append(main, r.Object)
	}
	for _, part := range b.Parts {
		if part.Dir != MonitoringDir {
			continue
		}
		po, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range po.Objects {
			mon = append(mon, r.Object)
		}
	}
	return mon, main, files
}

func grafanaEnv(t *testing.T, objs []stack.Object) map[string]string {
	t.Helper()
	for _, o := range objs {
		if s, ok := o.(*appsv1.StatefulSet); ok && s.Name == "grafana" {
			env := map[string]string{}
			for _, e := range s.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			return env
		}
	}
	t.Fatal("no grafana StatefulSet")
	return nil
}

// TestGrafanaBehindTheALBPath: on minimal-3az Grafana serves /grafana/ of
// the ThingsBoard host, through an Ingress of its own in the ALB's
// IngressGroup, ordered before ThingsBoard's catch-all.
func TestGrafanaBehindTheALBPath(t *testing.T) {
	mon, main, _ := monitoringObjects(t, Minimal3AZ, func(v Values) {
		v.(*Minimal3AZValues).ThingsBoard.Host = "iot.example.com"
	})
	env := grafanaEnv(t, mon)
	if env["GF_SERVER_ROOT_URL"] != "http://iot.example.com/grafana/" || env["GF_SERVER_SERVE_FROM_SUB_PATH"] != "true" {
		t.Errorf("root URL %q, sub path %q", env["GF_SERVER_ROOT_URL"], env["GF_SERVER_SERVE_FROM_SUB_PATH"])
	}
	var gi, tbi *networkingv1.Ingress
	for _, o := range mon {
		if i, ok := o.(*networkingv1.Ingress); ok {
			gi = i
		}
	}
	for _, o := range main {
		if i, ok := o.(*networkingv1.Ingress); ok {
			tbi = i
		}
	}
	if gi == nil || tbi == nil {
		t.Fatalf("Ingresses: grafana %v, thingsboard %v", gi, tbi)
	}
	p := gi.Spec.Rules[0].HTTP.Paths[0]
	if gi.Spec.Rules[0].Host != "iot.example.com" || p.Path != "/grafana/" || p.Backend.Service.Name != "grafana" || p.Backend.Service.Port.Name != "http" {
		t.Errorf("grafana Ingress rule %+v", gi.Spec.Rules[0])
	}
	group := "alb.ingress.kubernetes.io/group.name"
	if gi.Annotations[group] == "" || gi.Annotations[group] != tbi.Annotations[group] {
		t.Errorf("IngressGroup: grafana %q, thingsboard %q; want the same", gi.Annotations[group], tbi.Annotations[group])
	}
	if gi.Annotations["alb.ingress.kubernetes.io/group.order"] != "-1" || gi.Annotations["alb.ingress.kubernetes.io/healthcheck-path"] != "/grafana/api/health" {
		t.Errorf("grafana Ingress annotations %v", gi.Annotations)
	}
	if *gi.Spec.IngressClassName != "alb" {
		t.Errorf("class %v", gi.Spec.IngressClassName)
	}
	// The monitoring namespace's NetworkPolicy admits the ALB on Grafana's port.
	admitted := false
	for _, o := range mon {
		if np, ok := o.(*networkingv1.NetworkPolicy); ok && np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == "grafana" {
			for _, r := range np.Spec.Ingress {
				if len(r.From) == 0 {
					for _, port := range r.Ports {
						if port.Port != nil && port.Port.IntVal == 3000 {
							admitted = true
						}
					}
				}
			}
		}
	}
	if !admitted {
		t.Error("Grafana's NetworkPolicy does not admit the ingress on 3000")
	}
}

// TestGrafanaWithoutHostFollowsTheBrowser: without a host, the root URL
// takes the request's protocol and domain.
func TestGrafanaWithoutHostFollowsTheBrowser(t *testing.T) {
	mon, _, _ := monitoringObjects(t, Minimal3AZ, nil)
	if got := grafanaEnv(t, mon)["GF_SERVER_ROOT_URL"]; got != "%(protocol)s://%(domain)s/grafana/" {
		t.Errorf("root URL %q", got)
	}
}

// TestGrafanaOnTheMetricsNodePort: dojot's Grafana listens on the guide's
// metrics NodePort 30003 and both load balancers forward to it.
func TestGrafanaOnTheMetricsNodePort(t *testing.T) {
	for _, c := range []struct{ profile, file, rule string }{
		{Small, "nginx/nginx.conf", "listen 3000;\n        proxy_pass metrics_backend;"},
		{Hundred, "haproxy/haproxy.cfg", "listen metrics\n    mode tcp\n    bind *:3000"},
	} {
		mon, _, files := monitoringObjects(t, c.profile, nil)
		var svc *corev1.Service
		for _, o := range mon {
			if s, ok := o.(*corev1.Service); ok && s.Name == "grafana" {
				svc = s
			}
		}
		if svc == nil || svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Ports[0].NodePort != 30003 {
			t.Errorf("%s: grafana Service %+v", c.profile, svc)
		}
		conf := files[c.file]
		if !strings.Contains(conf, c.rule) || !strings.Contains(conf, ":30003") {
			t.Errorf("%s: %s has no metrics rule to 30003:\n%s", c.profile, c.file, conf)
		}
		if env := grafanaEnv(t, mon); env["GF_SERVER_SERVE_FROM_SUB_PATH"] != "false" {
			t.Errorf("%s: serve_from_sub_path %q", c.profile, env["GF_SERVER_SERVE_FROM_SUB_PATH"])
		}
	}
	// With the monitoring off, no rule forwards the metrics port.
	for _, name := range []string{Small, Hundred} {
		_, out := render(t, name, nil, "monitoring.enabled=false")
		for _, f := range out.Files {
			if strings.Contains(string(f.Data), "metrics") && (strings.HasSuffix(f.Name, ".conf") || strings.HasSuffix(f.Name, ".cfg")) {
				t.Errorf("%s: %s forwards metrics with the monitoring off", name, f.Name)
			}
		}
	}
}

// TestGrafanaDashboardsProvisioned: one ConfigMap per dashboard of the
// profile, mounted into Grafana.
func TestGrafanaDashboardsProvisioned(t *testing.T) {
	mon, _, _ := monitoringObjects(t, Minimal3AZ, nil)
	var names []string
	for _, o := range mon {
		if cm, ok := o.(*corev1.ConfigMap); ok && strings.HasPrefix(cm.Name, "grafana-dashboard-") && cm.Name != "grafana-dashboard-providers" {
			names = append(names, strings.TrimPrefix(cm.Name, "grafana-dashboard-"))
		}
	}
	if got := strings.Join(names, " "); got != "cassandra kafka overview postgres redis thingsboard zookeeper" {
		t.Errorf("dashboards %q", got)
	}
}
