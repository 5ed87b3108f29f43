package profiles

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

// buildWith loads a profile's defaults with the --set overrides, builds
// and synthesizes it (no golden file: the defaults' dist/ is the golden
// test's), and places every replica of the stack and its parts (the
// monitoring) together on the profile's nodes as the scheduler would
// (nothing stays Pending).
func buildWith(t *testing.T, name string, sets ...string) *stack.Output {
	t.Helper()
	b, out := render(t, name, nil, sets...)
	// The stack and its parts (the monitoring) share the nodes: place
	// them together.
	all := &stack.Output{Objects: append([]stack.Rendered(nil), out.Objects...)}
	for _, part := range b.Parts {
		po, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		all.Objects = append(all.Objects, po.Objects...)
	}
	if _, err := stacktest.Schedule(b.Stack.Topology(), all); err != nil {
		t.Fatalf("%s %v: %v", name, sets, err)
	}
	return out
}

// TestMinimal3AZUIsBehindIngress turns every UI on, two of them under
// paths of ThingsBoard's ALB: the stack still fits the three nodes, each
// path gets an Ingress in the ALB's group with the UI's health check, the
// UIs' NetworkPolicies admit the ingress on their http port only, and
// RedisInsight (no login) gets no Ingress and admits nobody.
func TestMinimal3AZUIsBehindIngress(t *testing.T) {
	out := buildWith(t, Minimal3AZ, "ui.kafka.path=/kafka-ui/", "ui.pgadmin.enabled=true", "ui.pgadmin.path=/pgadmin/",
		"ui.redisInsight.enabled=true", "ui.redisInsight.acceptTerms=true", "thingsboard.host=iot.example.com")
	ingresses := map[string]*networkingv1.Ingress{}
	policies := map[string]*networkingv1.NetworkPolicy{}
	deployments := map[string]bool{}
	for _, r := range out.Objects {
		switch o := r.Object.(type) {
		case *networkingv1.Ingress:
			ingresses[o.Name] = o
		case *networkingv1.NetworkPolicy:
			policies[o.Name] = o
		case *appsv1.Deployment:
			deployments[o.Name] = true
		}
	}
	for _, d := range []string{"kafka-ui", "pgadmin", "redisinsight"} {
		if !deployments[d] {
			t.Errorf("no Deployment %s", d)
		}
	}
	for name, want := range map[string][2]string{"kafka-ui": {"/kafka-ui/", "/kafka-ui/actuator/health"}, "pgadmin": {"/pgadmin/", "/pgadmin/misc/ping"}} {
		ing := ingresses[name]
		if ing == nil {
			t.Errorf("no Ingress %s", name)
			continue
		}
		rule := ing.Spec.Rules[0]
		if rule.Host != "iot.example.com" || rule.HTTP.Paths[0].Path != want[0] || rule.HTTP.Paths[0].Backend.Service.Name != name {
			t.Errorf("Ingress %s: host %q path %q backend %q", name, rule.Host, rule.HTTP.Paths[0].Path, rule.HTTP.Paths[0].Backend.Service.Name)
		}
		if ing.Annotations["alb.ingress.kubernetes.io/healthcheck-path"] != want[1] || ing.Annotations["alb.ingress.kubernetes.io/group.name"] != "thingsboard" {
			t.Errorf("Ingress %s annotations %v", name, ing.Annotations)
		}
		np := policies[name]
		if np == nil || len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 0 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 8080 {
			t.Errorf("NetworkPolicy %s: %+v; want the http port open to the ingress only", name, np)
		}
	}
	if ingresses["redisinsight"] != nil {
		t.Errorf("RedisInsight has no login and must not be behind the ingress")
	}
	if np := policies["redisinsight"]; np == nil || len(np.Spec.Ingress) != 0 {
		t.Errorf("redisinsight admits %+v; want nobody", np)
	}
}

func TestUIValuesErrors(t *testing.T) {
	for _, tc := range []struct {
		profile string
		sets    []string
		want    string
	}{
		{Minimal3AZ, []string{"ui.redisInsight.enabled=true"}, "ui.redisInsight: redisinsight: acceptTerms false"},
		{Minimal3AZ, []string{"ui.kafka.path=kafka"}, `ui.kafka: kafka-ui: path "kafka"`},
		{Minimal3AZ, []string{"ui.pgadmin.enabled=true", "ui.pgadmin.email=root"}, `ui.pgadmin: pgadmin: email "root"`},
		{Minimal3AZ, []string{"ui.kafka.pool=nope"}, `ui.kafka.pool: "nope"; not a pool`},
		{Small, []string{"ui.kafka.enabled=true", "ui.kafka.path=/kafka-ui/"}, `ui.kafka.path: "/kafka-ui/"; dojot has no HTTP ingress`},
	} {
		p, _ := Get(tc.profile)
		_, err := p.Load(nil, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v; want an error containing %q", tc.profile, tc.sets, err, tc.want)
		}
	}
}

// TestDojotUIs renders the dojot profiles with Kafka UI and pgAdmin:
// they fit 100k's nodes beside the monitoring, and small's one worker
// without it; pgAdmin pre-registers dojot's databases.
func TestDojotUIs(t *testing.T) {
	for name, sets := range map[string][]string{
		Small:   {"ui.kafka.enabled=true", "ui.pgadmin.enabled=true", "monitoring.enabled=false"},
		Hundred: {"ui.kafka.enabled=true", "ui.pgadmin.enabled=true"},
	} {
		out := buildWith(t, name, sets...)
		var servers string
		for _, r := range out.Objects {
			if cm, ok := r.Object.(*corev1.ConfigMap); ok && cm.Name == "pgadmin-servers" {
				servers = cm.Data["servers.json"]
			}
		}
		var doc struct {
			Servers map[string]struct{ MaintenanceDB, Username, Host string }
		}
		if err := json.Unmarshal([]byte(servers), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dbs := map[string]bool{}
		for _, s := range doc.Servers {
			dbs[s.MaintenanceDB] = true
			if s.Host != "postgres.dojot.svc.cluster.local" {
				t.Errorf("%s: host %q", name, s.Host)
			}
		}
		for _, db := range []string{"postgres", "kong", "auth"} {
			if !dbs[db] {
				t.Errorf("%s: %s not pre-registered in %v", name, db, dbs)
			}
		}
	}
}

// TestUIValuesErrorOnce: a UI's own validation is reported once, at its
// values path.
func TestUIValuesErrorOnce(t *testing.T) {
	p, _ := Get(Minimal3AZ)
	_, err := p.Load(nil, []string{"ui.redisInsight.enabled=true"})
	if err == nil || strings.Count(err.Error(), "acceptTerms false") != 1 {
		t.Errorf("%v; want the acceptTerms error once", err)
	}
}
