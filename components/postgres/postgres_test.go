package postgres

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/google/go-cmp/cmp"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func synth(t *testing.T, cfg Config, dbs ...DatabaseSpec) (*stack.Stack, *Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	s, out := stacktest.Build(t, func(s *stack.Stack) (err error) {
		if h, err = New(s, cfg); err != nil {
			return err
		}
		for _, d := range dbs {
			if _, err := h.Database(d); err != nil {
				return err
			}
		}
		return nil
	})
	return s, h, out
}

func TestGolden(t *testing.T) {
	_, _, out := synth(t, Config{Pool: "main"}, DatabaseSpec{Name: "thingsboard"})
	stacktest.Golden(t, filepath.Join("testdata", "golden"), out, *update, "run `go test ./components/postgres -update` and review the diff")
}

// TestRBAC lists the Role exactly: Patroni's Kubernetes DCS in Endpoints
// mode, nothing more, no wildcards.
func TestRBAC(t *testing.T) {
	_, _, out := synth(t, Config{})
	var role *rbacv1.Role
	var binding *rbacv1.RoleBinding
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *rbacv1.Role:
			role = x
		case *rbacv1.RoleBinding:
			binding = x
		}
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"endpoints"}, Verbs: []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "patch", "update", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"create"}},
	}
	if d := cmp.Diff(want, role.Rules); d != "" {
		t.Fatalf("Role rules (-want +got):\n%s", d)
	}
	for _, r := range role.Rules {
		for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs} {
			for _, v := range list {
				if strings.Contains(v, "*") {
					t.Errorf("wildcard %q in %+v", v, r)
				}
			}
		}
	}
	if binding.RoleRef.Name != role.Name || binding.Subjects[0].Name != "postgres" {
		t.Errorf("binding %+v", binding)
	}
}

func TestServicesAndPlacement(t *testing.T) {
	s, h, out := synth(t, Config{Pool: "main"})
	pods, err := stacktest.Schedule(s.Topology(), out)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"postgres", "postgres-pooler"} {
		zones := map[string]bool{}
		for _, p := range pods[w] {
			if zones[p.Zone] {
				t.Errorf("%s: two pods in %s", w, p.Zone)
			}
			zones[p.Zone] = true
		}
	}
	if len(pods["postgres"]) != 3 || len(pods["postgres-pooler"]) != 2 {
		t.Fatalf("pods %v", pods)
	}
	for _, o := range out.Objects {
		svc, ok := o.Object.(*corev1.Service)
		if !ok {
			continue
		}
		switch svc.Name {
		case h.Primary:
			if len(svc.Spec.Selector) != 0 {
				t.Errorf("the read-write Service has a selector %v; Patroni keeps its Endpoints on the primary", svc.Spec.Selector)
			}
		case h.Replicas:
			if svc.Spec.Selector[roleLabel] != "replica" {
				t.Errorf("the read-only Service selects %v", svc.Spec.Selector)
			}
		}
		if svc.Name == h.Pooler && svc.Spec.Ports[0].Port != 5432 {
			t.Errorf("pooler port %v", svc.Spec.Ports)
		}
	}
	for _, o := range out.Objects {
		if set, ok := o.Object.(*appsv1.StatefulSet); ok {
			if set.Spec.Template.Labels[clusterLabel] != "postgres" || set.Spec.Selector.MatchLabels[clusterLabel] != "" {
				t.Errorf("scope label: template %v, selector %v", set.Spec.Template.Labels, set.Spec.Selector.MatchLabels)
			}
			if !*set.Spec.Template.Spec.AutomountServiceAccountToken || set.Spec.Template.Spec.ServiceAccountName != "postgres" {
				t.Error("Patroni needs its ServiceAccount token")
			}
		}
	}
}

func TestTuning(t *testing.T) {
	cfg := Config{}
	cfg.Default()
	conf := spiloConfiguration(cfg)
	for _, want := range []string{`synchronous_commit: "off"`, `shared_buffers: "1GB"`, `work_mem: "32MB"`, `maintenance_work_mem: "320MB"`, `huge_pages: "try"`, `effective_cache_size: "2GB"`, "max_connections: 250", "use_pg_rewind: true"} {
		if strings.Count(conf, want) < 1 {
			t.Errorf("SPILO_CONFIGURATION lacks %q:\n%s", want, conf)
		}
	}
}

func TestDatabases(t *testing.T) {
	_, h, out := synth(t, Config{}, DatabaseSpec{Name: "thingsboard"}, DatabaseSpec{Name: "kong"}, DatabaseSpec{Name: "auth", User: "kong"})
	dbs := h.Databases()
	if len(dbs) != 3 || dbs[0].JDBCURL() != "jdbc:postgresql://postgres-pooler.iot.svc.cluster.local:5432/thingsboard" {
		t.Fatalf("databases %+v", dbs)
	}
	if dbs[1].Password != dbs[2].Password {
		t.Errorf("one user, two password Secrets: %+v %+v", dbs[1].Password, dbs[2].Password)
	}
	names := map[string]bool{}
	for _, sec := range out.Secrets {
		names[sec.Name] = true
	}
	for _, want := range []string{"postgres-auth", "postgres-user-thingsboard", "postgres-user-kong"} {
		if !names[want] {
			t.Errorf("secret %s not declared: %v", want, names)
		}
	}
	var job *batchv1.Job
	var pooler *appsv1.Deployment
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *batchv1.Job:
			job = x
		case *appsv1.Deployment:
			pooler = x
		}
	}
	if !strings.HasPrefix(job.Name, "postgres-databases-") {
		t.Errorf("job name %s", job.Name)
	}
	env := pooler.Spec.Template.Spec.Containers[0].Env
	if len(env) != 3 || env[0].Name != "PASSWORD_THINGSBOARD" || env[1].Name != "PASSWORD_KONG" || env[2].Name != "PASSWORD_PGBOUNCER_STATS" {
		t.Errorf("pooler password variables %+v", env)
	}
}

func TestDatabaseValidation(t *testing.T) {
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	h, err := New(s, Config{PoolSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec DatabaseSpec
		want string
	}{
		{DatabaseSpec{Name: "Thingsboard"}, `postgres: database name "Thingsboard"`},
		{DatabaseSpec{Name: "tb", User: "postgres"}, `database user "postgres" is reserved`},
		{DatabaseSpec{Name: "tb", User: "pgbouncer_stats"}, `database user "pgbouncer_stats" is reserved`},
		{DatabaseSpec{Name: "tb-x"}, `postgres: database name "tb-x"`},
	} {
		if _, err := h.Database(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v; want %q", tc.spec, err, tc.want)
		}
	}
	if _, err := h.Database(DatabaseSpec{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Database(DatabaseSpec{Name: "a"}); err == nil || !strings.Contains(err.Error(), `database "a" is declared twice`) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := h.Database(DatabaseSpec{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Database(DatabaseSpec{Name: "c"}); err == nil || !strings.Contains(err.Error(), "3 databases x poolSize 100 = 300 pooled connections exceed maxConnections 250 minus 20 reserved") {
		t.Errorf("pool math: %v", err)
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"instances", Config{Instances: -1}, "postgres: instances -1; allowed 1 to 9 (3 for HA"},
		{"more instances than hosts", Config{Instances: 4}, "postgres: replicas 4 exceed the 3 nodes available"},
		{"pool size", Config{PoolSize: 240}, "postgres: poolSize 240; must be 1 to 230 (maxConnections 250 minus 20 reserved)"},
		{"max connections", Config{Tuning: Tuning{MaxConnections: 10}}, "postgres: tuning.maxConnections 10; allowed 30 to 10000"},
		{"sync commit", Config{Tuning: Tuning{SynchronousCommit: "maybe"}}, `postgres: tuning.synchronousCommit "maybe"`},
		{"huge pages", Config{Tuning: Tuning{HugePages: "yes"}}, `postgres: tuning.hugePages "yes"`},
		{"bad size", Config{Tuning: Tuning{WorkMem: "32M"}}, `postgres: tuning.workMem "32M"; use a PostgreSQL size`},
		{"shared buffers", Config{Tuning: Tuning{SharedBuffers: "3GB"}}, "postgres: tuning.sharedBuffers 3GB; allowed at most half the 4Gi memory limit (the rest is for connections, work_mem and the page cache): 2048MB"},
		{"work_mem above the limit", Config{Tuning: Tuning{WorkMem: "100GB"}}, "postgres: tuning.workMem 100GB; allowed at most a quarter of the 4Gi memory limit"},
		{"maintenance_work_mem above the limit", Config{Tuning: Tuning{MaintenanceWorkMem: "5GB"}}, "postgres: tuning.maintenanceWorkMem 5GB; allowed at most half the 4Gi memory limit"},
		{"effective_cache_size above the limit", Config{Tuning: Tuning{EffectiveCacheSize: "8GB"}}, "postgres: tuning.effectiveCacheSize 8GB; allowed at most the 4Gi memory limit"},
		{"effective_cache_size overflow", Config{Tuning: Tuning{EffectiveCacheSize: "9223372036854775807TB"}}, `postgres: tuning.effectiveCacheSize "9223372036854775807TB"; use a PostgreSQL size`},
		{"effective_cache_size wraps", Config{Tuning: Tuning{EffectiveCacheSize: "8388608TB"}}, `postgres: tuning.effectiveCacheSize "8388608TB"; use a PostgreSQL size`},
		{"above PostgreSQL's maximum", Config{Resources: stack.MustLimits("4", "64Ti"), Tuning: Tuning{WorkMem: "3TB"}}, "postgres: tuning.workMem 3TB; PostgreSQL allows at most 2097151MB"},
		{"memory limit overflow", Config{Resources: stack.FromLimits(resource.MustParse("3"), resource.MustParse("1e20"))}, "postgres.resources.memoryRequest: 100e18; allowed at most 64Ti"},
		{"name", Config{Name: "PG"}, `postgres: name "PG"`},
		{"storage", Config{Data: stack.Storage{Size: resource.MustParse("-1")}}, "postgres.data.size: -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, tc.cfg); return err }, tc.want)
		})
	}
}

func TestScriptsParse(t *testing.T) {
	_, _, out := synth(t, Config{}, DatabaseSpec{Name: "thingsboard"}, DatabaseSpec{Name: "devm"})
	stacktest.CheckScripts(t, out)
}

func FuzzConfig(f *testing.F) {
	f.Add("postgres", int32(3), int32(2), 40, 1000, 250, "off", "1GB", "32MB", "try", "3", "4Gi")
	f.Add("", int32(0), int32(0), 0, 0, 0, "", "", "", "", "", "")
	f.Add("p", int32(10), int32(-1), -1, 0, 5, "x", "1G", "0MB", "no", "1m", "1Ki")
	f.Fuzz(func(t *testing.T, name string, inst, poolers int32, pool, clients, maxConn int, sync, shared, work, huge, cpu, mem string) {
		cfg := Config{Name: name, Instances: inst, PoolerReplicas: poolers, PoolSize: pool, MaxClientConnections: clients,
			Tuning: Tuning{MaxConnections: maxConn, SynchronousCommit: sync, SharedBuffers: shared, WorkMem: work, HugePages: huge}}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}
