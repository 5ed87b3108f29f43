package redis

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func synth(t *testing.T, cfg Config) (*stack.Stack, *Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	s, out := stacktest.Build(t, func(s *stack.Stack) (err error) { h, err = New(s, cfg); return err })
	return s, h, out
}

func TestGolden(t *testing.T) {
	_, _, out := synth(t, Config{Pool: "main"})
	stacktest.Golden(t, filepath.Join("testdata", "golden"), out, *update, "run `go test ./components/redis -update` and review the diff")
}

// TestPlanMatchesWriteUp: zone A holds master A and the replica of C, zone
// B master B and the replica of A, zone C master C and the replica of B.
func TestPlanMatchesWriteUp(t *testing.T) {
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	cfg := Config{}
	cfg.Default()
	var got []string
	for _, n := range Plan(s, cfg) {
		role := fmt.Sprintf("master-%d", n.Master)
		if n.ReplicaOf >= 0 {
			role = fmt.Sprintf("replica-of-%d", n.ReplicaOf)
		}
		got = append(got, n.Pod+"@"+n.Zone+"="+role)
	}
	want := "redis-a-0@zone-a=master-0 redis-a-1@zone-a=replica-of-2 redis-b-0@zone-b=master-1 redis-b-1@zone-b=replica-of-0 redis-c-0@zone-c=master-2 redis-c-1@zone-c=replica-of-1"
	if strings.Join(got, " ") != want {
		t.Fatalf("plan\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

// TestPlacement schedules the rendered StatefulSets: two nodes per zone,
// and every master's replica in another zone than its master.
func TestPlacement(t *testing.T) {
	for _, tc := range []struct {
		masters, replicas int
	}{{3, 1}, {3, 2}, {6, 1}, {5, 1}} {
		t.Run(fmt.Sprintf("%dx%d", tc.masters, tc.replicas), func(t *testing.T) {
			topo := stacktest.ThreeZones()
			topo.Pools[0].NodesPerZone = 2
			s := stacktest.NewStack(t, topo)
			cfg := Config{Masters: tc.masters, Replicas: tc.replicas, Pool: "main", Resources: stack.MustLimits("500m", "512Mi")}
			if _, err := New(s, cfg); err != nil {
				t.Fatal(err)
			}
			out, err := s.Synth()
			if err != nil {
				t.Fatal(err)
			}
			pods, err := stacktest.Schedule(topo, out)
			if err != nil {
				t.Fatal(err)
			}
			zoneOf := map[string]string{}
			perZone := map[string]int{}
			for _, ps := range pods {
				for _, p := range ps {
					zoneOf[p.Name] = p.Zone
					perZone[p.Zone]++
				}
			}
			total := tc.masters * (1 + tc.replicas)
			if len(zoneOf) != total {
				t.Fatalf("%d pods scheduled, want %d", len(zoneOf), total)
			}
			for z, n := range perZone {
				if n < total/3 || n > (total+2)/3 {
					t.Errorf("zone %s has %d nodes of %d: not balanced", z, n, total)
				}
			}
			cfg.Default()
			plan := Plan(s, cfg)
			master := map[int]string{}
			for _, n := range plan {
				if n.ReplicaOf < 0 {
					master[n.Master] = n.Pod
				}
			}
			for _, n := range plan {
				if zoneOf[n.Pod] != n.Zone {
					t.Errorf("%s planned in %s, scheduled in %s", n.Pod, n.Zone, zoneOf[n.Pod])
				}
				if n.ReplicaOf >= 0 && zoneOf[n.Pod] == zoneOf[master[n.ReplicaOf]] {
					t.Errorf("%s replicates %s in the same zone %s", n.Pod, master[n.ReplicaOf], zoneOf[n.Pod])
				}
			}
		})
	}
}

func TestHandle(t *testing.T) {
	_, h, out := synth(t, Config{})
	if !strings.HasPrefix(h.SeedNodes(), "redis-a-0.redis-headless.iot.svc.cluster.local:6379,redis-b-0.") || len(h.Nodes) != 6 {
		t.Fatalf("seed nodes %s", h.SeedNodes())
	}
	if h.Password != (stack.SecretKeyRef{Name: "redis-auth", Key: "password"}) || len(out.Secrets) != 1 {
		t.Fatalf("password ref %+v, secrets %+v", h.Password, out.Secrets)
	}
}

func TestScriptsParse(t *testing.T) {
	_, _, out := synth(t, Config{})
	stacktest.CheckScripts(t, out)
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"two masters", Config{Masters: 2}, "redis: masters 2; a Redis Cluster needs at least 3 masters"},
		{"negative replicas", Config{Replicas: -1}, "redis: replicas -1 per master; allowed 0 to 5"},
		{"replicas need zones", Config{Replicas: 3}, "redis: replicas 3 per master need 4 zones to keep a master and each of its replicas in different zones; the topology has 3"},
		{"bad name", Config{Name: "Redis"}, `redis: name "Redis" must be a DNS-1035 label`},
		{"maxmemory", Config{MaxMemoryPercent: 95}, "redis: maxMemoryPercent 95; allowed 10 to 90"},
		{"node timeout", Config{NodeTimeoutMillis: 10}, "redis: nodeTimeoutMillis 10; allowed 1000 to 120000"},
		{"storage class", Config{Data: stack.Storage{Class: "Fast SSD"}}, `redis.data.class: "Fast SSD" is not a valid StorageClass name`},
		{"unknown pool", Config{Pool: "cache"}, `redis: pool: topology: no node pool "cache"`},
		{"4 masters on 3 zones", Config{Masters: 4}, "redis: masters 4 on 3 zones put 2 masters in one zone; losing it leaves 2 of 4, no majority to vote a failover: every zone must hold fewer than half of the masters: on 3 zones use 3 (one per zone) or 5 masters"},
		{"100 masters on 3 hosts", Config{Masters: 100, Replicas: 0, ReplicasSet: true}, "redis: 100 pods request cpu 10 and memory 100Gi in all, more than the 3 nodes of pool main allocate (cpu 12, memory 96Gi)"},
		{"memory overflow", Config{Resources: stack.FromLimits(resource.MustParse("1"), resource.MustParse("1e20"))}, "redis.resources.memoryRequest: 100e18; allowed at most 64Ti"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, tc.cfg); return err }, tc.want)
		})
	}
	// Two zones can never keep a majority of masters through a zone loss.
	two := stacktest.ThreeZones()
	two.Zones = two.Zones[:2]
	s := stacktest.NewStack(t, two)
	if _, err := New(s, Config{Masters: 3, Replicas: 1}); err == nil || !strings.Contains(err.Error(), "redis: masters 3 on 2 zones put 2 masters in one zone; losing it leaves 1 of 3, no majority to vote a failover: every zone must hold fewer than half of the masters, which takes 3 or more zones") {
		t.Errorf("3 masters on 2 zones: %v", err)
	}
	for m, ok := range map[int]bool{3: true, 4: false, 5: true, 6: true, 7: true, 100: true} {
		if err := checkMasterZones(m, 3); (err == nil) != ok {
			t.Errorf("%d masters on 3 zones: %v", m, err)
		}
	}
	// Zero replicas must be asked for explicitly.
	cfg := Config{ReplicasSet: true}
	cfg.Default()
	if cfg.Replicas != 0 {
		t.Errorf("ReplicasSet with 0 replicas defaulted to %d", cfg.Replicas)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("redis", 3, 1, "1", "1Gi", 75, 5000, false)
	f.Add("", 0, 0, "", "", 0, 0, true)
	f.Add("r", 101, 9, "-1", "1Ki", 5, 1, false)
	f.Fuzz(func(t *testing.T, name string, masters, replicas int, cpu, mem string, maxmem, timeout int, aof bool) {
		cfg := Config{Name: name, Masters: masters, Replicas: replicas, MaxMemoryPercent: maxmem, NodeTimeoutMillis: timeout, AppendOnly: aof}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}
