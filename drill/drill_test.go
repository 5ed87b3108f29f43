package drill

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// needDrill skips unless IOTSTACK_DRILL is set (the drill runs real
// servers in network namespaces as root for minutes: go tool mage test
// runs the whole drill through mage drill, and the broken-configuration
// tests here with IOTSTACK_DRILL=1, so go test ./... does not run the
// same parts twice), and skips (or, with IOTSTACK_REQUIRE_TOOLS set,
// fails) when it cannot run here.
func needDrill(t *testing.T, programs ...string) {
	t.Helper()
	if os.Getenv("IOTSTACK_DRILL") == "" {
		t.Skip("the zone-loss drill runs with IOTSTACK_DRILL=1 (or go tool mage drill profile=NAME)")
	}
	err := Preflight()
	for _, p := range programs {
		if err == nil {
			if _, e := os.Stat(p); e != nil {
				err = e
			}
		}
	}
	if err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func newHarness(t *testing.T) *Harness {
	t.Helper()
	h, err := NewHarness(testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return h
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestZooKeeperZoneLoss(t *testing.T) {
	needDrill(t, zkDebianBin+"/zkServer.sh")
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, err := ZooKeeperDrill(ctx, h, r, "zookeeper")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Lost != 0 || res.Acknowledged == 0 || len(res.Killed) != 1 {
		t.Errorf("unexpected result: %+v", res)
	}
}

// replaceInConfigMap swaps a rendered ConfigMap for a copy whose file key
// has old (which must be there) replaced by new, once.
func replaceInConfigMap(t *testing.T, r *Rendered, name, key, old, new string) {
	t.Helper()
	for i, o := range r.Out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == name {
			c := cm.DeepCopy()
			if !strings.Contains(c.Data[key], old) {
				t.Fatalf("ConfigMap %s %s has no %q:\n%s", name, key, old, c.Data[key])
			}
			c.Data[key] = strings.Replace(c.Data[key], old, new, 1)
			r.Out.Objects[i].Object = c
			return
		}
	}
	t.Fatalf("no ConfigMap %s", name)
}

// A server list with a wrong name (a typo in the headless Service) must
// fail the drill with a message pointing at the rendered ConfigMap, even
// though two correctly named servers could still form a quorum.
func TestZooKeeperWrongServerName(t *testing.T) {
	needDrill(t, zkDebianBin+"/zkServer.sh")
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	replaceInConfigMap(t, r, "zookeeper-scripts", "start.sh", "server.3=zookeeper-2.zookeeper-headless.", "server.3=zookeeper-2.zookeeper-hedless.")
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, err = ZooKeeperDrill(ctx, h, r, "zookeeper")
	if err == nil {
		t.Fatal("the drill passed with a wrong server name")
	}
	t.Log(err)
	for _, want := range []string{"ConfigMap/thingsboard/zookeeper-scripts (dist/minimal-3az/02-zookeeper.yaml)", "server.3=zookeeper-2.zookeeper-hedless.thingsboard.svc.cluster.local", "want zookeeper-2.zookeeper-headless.thingsboard.svc.cluster.local"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// Close removes every namespace, link, process and file, also when a
// process is still running.
func TestHarnessCleanup(t *testing.T) {
	needDrill(t)
	h, err := NewHarness(testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			h.Close()
		}
	})
	a, err := h.AddPod("a-0", "ns", "z1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.AddPod("b-0", "ns", "z2")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetName("b-0.b.ns.svc.cluster.local", b.Addr); err != nil {
		t.Fatal(err)
	}
	// A listener in b (a shell reading from a fifo keeps it simple: the
	// hosts file and the address are what is tested).
	mnt := t.TempDir()
	if err := os.WriteFile(mnt+"/f", []byte("mounted"), 0o644); err != nil {
		t.Fatal(err)
	}
	pr, err := h.Start(b, StartOptions{Name: "sleeper", Argv: []string{"sleep", "600"}, UID: 1000, GID: 1000, Mounts: []Mount{{Source: mnt, Target: "/iotstack-drill-test-mount"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := h.Exec(ctx, a, StartOptions{Argv: []string{"getent", "hosts", "b-0.b.ns.svc.cluster.local"}})
	if err != nil || !strings.Contains(out, b.Addr.String()) {
		t.Fatalf("name not resolved in pod a: %v %q", err, out)
	}
	out, err = h.Exec(ctx, b, StartOptions{Argv: []string{"sh", "-c", "cat /iotstack-drill-test-mount/f"}, UID: 1000, GID: 1000})
	if err == nil {
		t.Fatalf("a mount of another process leaked into Exec: %q", out)
	}
	out, err = h.Exec(ctx, b, StartOptions{Argv: []string{"sh", "-c", "cat /iotstack-drill-test-mount/f; echo; id -u; ip -4 -o addr show dev eth0"}, UID: 1000, GID: 1000, Mounts: []Mount{{Source: mnt, Target: "/iotstack-drill-test-mount"}}})
	if err != nil || !strings.Contains(out, "mounted\n1000\n") || !strings.Contains(out, b.Addr.String()) {
		t.Fatalf("pod b: %v %q", err, out)
	}
	dir, bridge := h.Dir, h.bridge
	closed = true
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if !pr.Exited() {
		t.Error("process still running after Close")
	}
	for _, path := range []string{dir, "/iotstack-drill-test-mount"} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s still there after Close: %v", path, err)
		}
	}
	links, _ := exec.Command("ip", "-br", "link").CombinedOutput()
	netns, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	for _, name := range []string{bridge, a.hostVeth, b.hostVeth} {
		if strings.Contains(string(links), name) {
			t.Errorf("link %s still there after Close:\n%s", name, links)
		}
	}
	for _, name := range []string{a.netns, b.netns} {
		if strings.Contains(string(netns), name) {
			t.Errorf("network namespace %s still there after Close", name)
		}
	}
}

func TestRedisZoneLoss(t *testing.T) {
	needDrill(t, "/usr/bin/redis-server", "/usr/bin/redis-cli")
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, err := RedisDrill(ctx, h, r, "redis-cluster-create")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if len(res.LostMasters) == 0 || len(res.Promoted) != len(res.LostMasters) {
		t.Errorf("unexpected result: %+v", res)
	}
}

func startAPIServer(t *testing.T) *APIServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	api, err := StartAPIServer(ctx, "..", testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Stop)
	return api
}

// Patroni elects a leader through the simulated API server, authenticated
// as the rendered ServiceAccount with the rendered Role.
func TestPatroniLeaderThroughRole(t *testing.T) {
	needDrill(t, "/usr/bin/patroni", "/usr/lib/postgresql/15/bin/initdb")
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	api := startAPIServer(t)
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	pt, err := StartPatroni(ctx, h, r, api, "postgres", nil)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := pt.WaitLeader(ctx, "", 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %s", leader)
}

// With the endpoints rule removed from the rendered Role, Patroni cannot
// hold its leader lock and the drill says so, naming the Role.
func TestPatroniRoleWithoutEndpoints(t *testing.T) {
	needDrill(t, "/usr/bin/patroni", "/usr/lib/postgresql/15/bin/initdb")
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	api := startAPIServer(t)
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	removed := false
	pt, err := StartPatroni(ctx, h, r, api, "postgres", func(role *rbacv1.Role) {
		var keep []rbacv1.PolicyRule
		for _, rule := range role.Rules {
			if len(rule.Resources) == 1 && rule.Resources[0] == "endpoints" {
				removed = true
				continue
			}
			keep = append(keep, rule)
		}
		role.Rules = keep
	})
	if err != nil {
		t.Fatal(err)
	}
	if !removed {
		t.Fatal("the rendered Role has no endpoints rule to remove")
	}
	_, err = pt.WaitLeader(ctx, "", 45*time.Second)
	if err == nil {
		t.Fatal("Patroni elected a leader without the endpoints rule")
	}
	for _, want := range []string{"denies ServiceAccount postgres list endpoints, watch endpoints, get endpoints, create endpoints, patch endpoints", "the rules of Role/thingsboard/postgres-patroni (dist/minimal-3az/06-postgres.yaml) do not suffice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	t.Log(err)
}

// TestPatroniZoneLoss is the PostgreSQL part of the drill; DRILL_SETS
// (space-separated PATH=VALUE values overrides, e.g.
// postgres.tuning.synchronousCommit=on) measures another configuration.
func TestPatroniZoneLoss(t *testing.T) {
	needDrill(t, "/usr/bin/patroni", "/usr/lib/postgresql/15/bin/initdb", "/usr/bin/psql")
	r, err := Render("minimal-3az", strings.Fields(os.Getenv("DRILL_SETS"))...)
	if err != nil {
		t.Fatal(err)
	}
	api := startAPIServer(t)
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, err := PatroniDrill(ctx, h, r, api, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Pooler != "postgres-pooler" || res.WritesViaPooler <= 0 {
		t.Errorf("no write through the pooler Service measured: %+v", res)
	}
}
