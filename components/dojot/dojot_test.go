package dojot

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/google/go-cmp/cmp"

	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/vernemq"
	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func deps(t testing.TB, s *stack.Stack) Deps {
	t.Helper()
	zk, err := zookeeper.New(s, zookeeper.Config{Replicas: 1, Pool: "main"})
	if err != nil {
		t.Fatal(err)
	}
	kf, err := kafka.New(s, kafka.Config{Name: "kafka-server", Brokers: 1, Pool: "main", DefaultReplicationFactor: 1, MinInsyncReplicas: 1,
		OffsetsTopicReplicationFactor: 1, TransactionStateLogReplicationFactor: 1, TransactionStateLogMinISR: 1})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.New(s, postgres.Config{Instances: 1, PoolerReplicas: 1, Pool: "main", PoolSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.New(s, pg, x509.Config{Image: "dojot/x509-identity-mgmt:v0.5.0", Pool: "main", MongoURI: "mongodb://mongodb:27017/x509"})
	if err != nil {
		t.Fatal(err)
	}
	vmq, err := vernemq.New(s, vernemq.Config{Image: "dojot/vernemq-dojot:v0.5.0", Pool: "main", EJBCAAddress: ca.Address, NodePortMQTTS: 30005})
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Kafka: kf, ZooKeeper: zk, Postgres: pg, X509: ca, VerneMQ: vmq}
}

var pools = map[Group]string{GroupDojot: "main", GroupKafka: "main", GroupVerneMQ: "main", GroupX509: "main"}

func build(t *testing.T, cfg Config) *stack.Output {
	t.Helper()
	cfg.Pools = pools
	_, out := stacktest.Build(t, func(s *stack.Stack) error { return New(s, deps(t, s), cfg) })
	return out
}

func TestGolden(t *testing.T) {
	out := build(t, Config{})
	stacktest.Golden(t, filepath.Join("testdata", "golden"), out, *update, "run `go test ./components/dojot -update` and review the diff")
}

func TestScriptsParse(t *testing.T) {
	stacktest.CheckScripts(t, build(t, Config{}))
}

// TestRoutes: the gateway routes only to services that run; protected
// routes get auth's PDP and JWT; the migrations run through a shell.
func TestRoutes(t *testing.T) {
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	w := &wiring{s: s, cfg: Config{Services: HundredServices()}, d: Deps{X509: &x509.Handle{Address: "x509-identity-mgmt.iot.svc.cluster.local:3000"}}}
	var names []string
	for _, r := range w.routes() {
		names = append(names, r.name)
	}
	want := []string{"data-broker", "data-streams", "ws-http", "auth-permissions-service", "auth-service", "auth-revoke", "user-service", "x509-identity-mgmt", "kafka-ws"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("100k routes (-want +got):\n%s", d)
	}
	script := w.routesScript()
	for _, want := range []string{`plugin data-broker pepkong --data config.pdpUrl=http://auth.iot.svc.cluster.local:5000/pdp`, `plugin auth-service rate-limiting`, `route x509-identity-mgmt "\"/x509\"" true`} {
		if !strings.Contains(script, want) {
			t.Errorf("routes.sh lacks %q", want)
		}
	}
	if strings.Contains(script, "gui") {
		t.Error("routes to gui, which 100k does not run")
	}
	out := build(t, Config{Services: []string{"kong", "auth"}})
	found := false
	for _, o := range out.Objects {
		if j, ok := o.Object.(*batchv1.Job); ok && strings.HasPrefix(j.Name, "kong-migrations-") {
			found = true
			if got := j.Spec.Template.Spec.Containers[0].Command; strings.Join(got, " ") != "/bin/sh -c kong migrations bootstrap && kong migrations up && kong migrations finish" {
				t.Errorf("migrations command %q is not chained through a shell", got)
			}
		}
	}
	if !found {
		t.Error("no migrations Job")
	}
}

// TestFlowbrokerRBAC: the Role allows every Kubernetes call flowbroker
// v0.5.0 makes (kubernetesRemoteNode/index.js), each verb is needed by one
// of them, and nothing else is allowed.
func TestFlowbrokerRBAC(t *testing.T) {
	out := build(t, Config{Services: []string{"flowbroker"}})
	var role *rbacv1.Role
	for _, o := range out.Objects {
		if r, ok := o.Object.(*rbacv1.Role); ok && r.Name == "flowbroker" {
			role = r
		}
	}
	if role == nil {
		t.Fatal("no flowbroker Role")
	}
	type call struct{ group, resource, verb, why string }
	allows := func(rules []rbacv1.PolicyRule, c call) bool {
		has := func(set []string, v string) bool {
			for _, s := range set {
				if s == v || s == "*" {
					return true
				}
			}
			return false
		}
		for _, r := range rules {
			if has(r.APIGroups, c.group) && has(r.Resources, c.resource) && has(r.Verbs, c.verb) && len(r.ResourceNames) == 0 {
				return true
			}
		}
		return false
	}
	uses := []call{
		{"apps", "deployments", "list", "retrieveDeployments: deployments('').get()"},
		{"apps", "deployments", "get", "the same read through a named path"},
		{"apps", "deployments", "create", "create: deployments.post"},
		{"", "services", "create", "create: services.post"},
		{"apps", "deployments", "patch", "remove: deployments(name).patch (scale to 0)"},
		{"apps", "deployments", "delete", "remove: deployments(name).delete"},
		{"", "services", "delete", "remove: services(name).delete"},
	}
	for _, c := range uses {
		if !allows(role.Rules, c) {
			t.Errorf("the Role does not allow %s %s/%s (%s)", c.verb, c.group, c.resource, c.why)
		}
	}
	for _, c := range []call{
		{"", "services", "get", ""}, {"", "services", "list", ""}, {"", "services", "patch", ""}, {"", "services", "update", ""},
		{"apps", "deployments", "update", ""}, {"apps", "deployments", "watch", ""}, {"apps", "deployments", "deletecollection", ""},
		{"apps", "deployments/scale", "patch", ""}, {"", "secrets", "get", ""}, {"", "secrets", "list", ""}, {"", "pods", "create", ""},
		{"", "pods/exec", "create", ""}, {"apps", "statefulsets", "create", ""}, {"rbac.authorization.k8s.io", "roles", "create", ""},
	} {
		if allows(role.Rules, c) {
			t.Errorf("the Role allows %s %s/%s, which flowbroker never does", c.verb, c.group, c.resource)
		}
	}
	// Minimal: without any one of its verbs the Role fails a call.
	for i, r := range role.Rules {
		for j := range r.Verbs {
			less := append([]rbacv1.PolicyRule(nil), role.Rules...)
			less[i].Verbs = append(append([]string(nil), r.Verbs[:j]...), r.Verbs[j+1:]...)
			needed := false
			for _, c := range uses {
				if !allows(less, c) {
					needed = true
				}
			}
			if !needed {
				t.Errorf("verb %s on %v is not needed by any call", r.Verbs[j], r.Resources)
			}
		}
	}
	for _, r := range role.Rules {
		for _, v := range append(append(append([]string{}, r.Verbs...), r.Resources...), r.APIGroups...) {
			if v == "*" {
				t.Errorf("wildcard in %+v", r)
			}
		}
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Version: "latest"}, `dojot: version "latest"`},
		{Config{Services: []string{"mosca"}}, `dojot: services: unknown service "mosca"`},
		{Config{Services: []string{"history"}}, "dojot: services: history needs mongodb"},
		{Config{Services: []string{"auth", "auth"}}, `dojot: services: "auth" listed twice`},
		{Config{Bridges: 500}, "dojot: bridges 500; allowed 1 to 100"},
	} {
		cfg := tc.cfg
		cfg.Pools = pools
		s := stacktest.NewStack(t, stacktest.ThreeZones())
		d := deps(t, s)
		before := len(s.Components())
		if err := New(s, d, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v; want %q", tc.cfg, err, tc.want)
		}
		if len(s.Components()) != before {
			t.Errorf("%+v: a rejected Config added components", tc.cfg)
		}
	}
	if err := CheckPartitions(9, 9); err != nil {
		t.Error(err)
	}
}

// TestLocalStorageRejects: a malformed volume is an error naming the
// volume and the field, never a panic.
func TestLocalStorageRejects(t *testing.T) {
	good := LocalVolume{Name: "local-pv-kafka", Path: "/mnt/data/kafka", Size: "2Gi", Mode: "ReadWriteOnce", Claim: "data-kafka-0"}
	for _, tc := range []struct {
		mod  func(v *LocalVolume)
		want string
	}{
		{func(v *LocalVolume) { v.Size = "2 GB" }, `dojot: volumes[0] (local-pv-kafka).size: "2 GB"; must be a positive quantity such as "2Gi"`},
		{func(v *LocalVolume) { v.Size = "" }, `dojot: volumes[0] (local-pv-kafka).size: ""`},
		{func(v *LocalVolume) { v.Size = "-1Gi" }, `dojot: volumes[0] (local-pv-kafka).size: "-1Gi"`},
		{func(v *LocalVolume) { v.Mode = "ReadWrite" }, `dojot: volumes[0] (local-pv-kafka).mode: "ReadWrite"; allowed: ReadWriteOnce`},
		{func(v *LocalVolume) { v.Path = "mnt/data" }, `dojot: volumes[0] (local-pv-kafka).path: "mnt/data"; must be an absolute path`},
		{func(v *LocalVolume) { v.Claim = "" }, `dojot: volumes[0] (local-pv-kafka).claim: empty`},
	} {
		v := good
		tc.mod(&v)
		s := stacktest.NewStack(t, stacktest.ThreeZones())
		if err := AddLocalStorage(s, []LocalVolume{v}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v; want %q", v, err, tc.want)
		}
	}
	if err := AddLocalStorage(nil, nil); err == nil || !strings.Contains(err.Error(), "stack is nil") {
		t.Errorf("nil stack: %v", err)
	}
	if err := New(nil, Deps{}, Config{}); err == nil || !strings.Contains(err.Error(), "dojot: stack is nil") {
		t.Errorf("nil stack: %v", err)
	}
}

func TestLeanResources(t *testing.T) {
	r := Config{Lean: true}.resources("1", "1Gi")
	if r.MemoryRequest.String() != "512Mi" || r.MemoryLimit.String() != "1Gi" {
		t.Errorf("lean: %s / %s", r.MemoryRequest.String(), r.MemoryLimit.String())
	}
	if r := (Config{}).resources("1", "1Gi"); r.MemoryRequest.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("not lean: %s", r.MemoryRequest.String())
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("v0.5.0", int32(1), "auth,kong,data-broker", "small")
	f.Add("", int32(0), "", "")
	f.Add("latest", int32(200), "mosca,auth,auth", "x")
	f.Fuzz(func(t *testing.T, version string, bridges int32, services, _ string) {
		cfg := Config{Version: version, Bridges: bridges, Pools: pools}
		if services != "" {
			cfg.Services = strings.Split(services, ",")
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { return New(s, deps(t, s), cfg) })
	})
}
