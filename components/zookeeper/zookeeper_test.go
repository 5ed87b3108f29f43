package zookeeper

import (
	"flag"
	appsv1 "k8s.io/api/apps/v1"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func synth(t *testing.T, cfg Config) (*Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	_, out := stacktest.Build(t, func(s *stack.Stack) (err error) { h, err = New(s, cfg); return err })
	return h, out
}

func TestGolden(t *testing.T) {
	_, out := synth(t, Config{Pool: "main"})
	stacktest.Golden(t, filepath.Join("testdata", "golden"), out, *update, "run `go test ./components/zookeeper -update` and review the diff")
}

func TestHandle(t *testing.T) {
	h, _ := synth(t, Config{})
	want := "zookeeper-0.zookeeper-headless.iot.svc.cluster.local:2181,zookeeper-1.zookeeper-headless.iot.svc.cluster.local:2181,zookeeper-2.zookeeper-headless.iot.svc.cluster.local:2181"
	if h.ConnectString() != want || h.Service != "zookeeper" || h.Port != 2181 {
		t.Fatalf("handle %+v, connect string %s", h, h.ConnectString())
	}
}

func TestOnePerZone(t *testing.T) {
	_, out := synth(t, Config{Pool: "main"})
	pods, err := stacktest.Schedule(stacktest.ThreeZones(), out)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]string{}
	for _, p := range pods["zookeeper"] {
		if other, dup := zones[p.Zone]; dup {
			t.Errorf("%s and %s share zone %s", other, p.Name, p.Zone)
		}
		zones[p.Zone] = p.Name
	}
	if len(zones) != 3 {
		t.Fatalf("placed in %d zones, want 3: %v", len(zones), pods)
	}
}

func TestStartScript(t *testing.T) {
	cfg := Config{}
	cfg.Default()
	script := startScript(cfg, []string{"server.1=a:2888:3888;2181", "server.2=b:2888:3888;2181", "server.3=c:2888:3888;2181"})
	for _, want := range []string{
		`id=$((ordinal + 1))`, `if [ -s /data/myid ]; then`, "4lw.commands.whitelist=ruok,srvr,mntr",
		"autopurge.purgeInterval=24", "server.3=c:2888:3888;2181", "standaloneEnabled=false", "exec zkServer.sh start-foreground",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("start script lacks %q:\n%s", want, script)
		}
	}
	single := startScript(cfg, []string{"server.1=a:2888:3888;2181"})
	if strings.Contains(single, "server.1=") || strings.Contains(single, "standaloneEnabled=false") {
		t.Errorf("a single server must run standalone:\n%s", single)
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"even ensemble", Config{Replicas: 4}, "zookeeper: replicas 4 is even; a quorum needs a majority, so 4 servers survive no more failures than 3"},
		{"negative replicas", Config{Replicas: -1}, "zookeeper: replicas -1; allowed 1 to 255"},
		{"more than 255 servers", Config{Replicas: 257}, "zookeeper: replicas 257; allowed 1 to 255 (3 or more for HA; server ids run from 1 to 255)"},
		{"untagged image", Config{Image: "zookeeper"}, `zookeeper: image: "zookeeper" has no tag`},
		{"digest without tag", Config{Image: "zookeeper@sha256:" + strings.Repeat("0", 64)}, `zookeeper: image: "zookeeper@sha256:0000`},
		{"memory overflow", Config{Resources: stack.FromLimits(resource.MustParse("1"), resource.MustParse("1e20"))}, "zookeeper.resources.memoryRequest: 100e18; allowed at most 64Ti"},
		{"bad name", Config{Name: "ZK"}, `zookeeper: name "ZK" must be a DNS-1035 label`},
		{"heap above limit", Config{HeapMiB: 512}, "zookeeper: heapMiB 512; must be 32 to 384"},
		{"bad resources", Config{Resources: stack.Resources{CPULimit: resource.MustParse("1")}}, "zookeeper.resources.cpuRequest: 0; must be a positive quantity"},
		{"bad storage class", Config{Data: stack.Storage{Size: resource.MustParse("1Gi"), Class: "Fast_SSD"}}, `zookeeper.data.class: "Fast_SSD" is not a valid StorageClass name`},
		{"tick too small", Config{TickTime: 5}, "zookeeper: tickTime 5; allowed 100 to 60000"},
		{"snap retain too small", Config{SnapRetainCount: 2}, "zookeeper: snapRetainCount 2; allowed 3 to 1000"},
		{"more servers than hosts", Config{Replicas: 5}, "zookeeper: replicas 5 exceed the 3 nodes available; with one per host"},
		{"unknown pool", Config{Pool: "db"}, `zookeeper: pool: topology: no node pool "db"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, tc.cfg); return err }, tc.want)
		})
	}
}

// TestImagePinnedByDigest: name:tag@sha256:digest is accepted and the
// version label is the tag.
func TestImagePinnedByDigest(t *testing.T) {
	img := "zookeeper:3.9.3@sha256:" + strings.Repeat("ab", 32)
	_, out := synth(t, Config{Image: img})
	for _, o := range out.Objects {
		if o.Component == "zookeeper" && o.Object.GetLabels()[stack.LabelVersion] != "3.9.3" {
			t.Errorf("%s: version label %q; want 3.9.3", o.Ref, o.Object.GetLabels()[stack.LabelVersion])
		}
		if set, ok := o.Object.(*appsv1.StatefulSet); ok && set.Spec.Template.Spec.Containers[0].Image != img {
			t.Errorf("image %q; want %q", set.Spec.Template.Spec.Containers[0].Image, img)
		}
	}
}

func TestProbesAskTheService(t *testing.T) {
	_, out := synth(t, Config{})
	if !strings.Contains(readyScript, "printf srvr") || !strings.Contains(readyScript, "Mode: follower") || !strings.Contains(livenessScript, "imok") {
		t.Error("probes do not ask ZooKeeper itself")
	}
	var cm *corev1.ConfigMap
	for _, o := range out.Objects {
		if x, ok := o.Object.(*corev1.ConfigMap); ok {
			cm = x
		}
	}
	if cm == nil || cm.Data["ready.sh"] != readyScript {
		t.Fatal("ready.sh is not rendered")
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("zookeeper", int32(3), 256, "500m", "512Mi", 2000, 10, 5, 24, 3, "main")
	f.Add("", int32(0), 0, "", "", 0, 0, 0, 0, 0, "")
	f.Add("zk", int32(2), -1, "-1", "1Ei", -5, 0, 99999, -1, 1, "nope")
	f.Fuzz(func(t *testing.T, name string, replicas int32, heap int, cpu, mem string, tick, initL, syncL, purge, retain int, pool string) {
		cfg := Config{Name: name, Replicas: replicas, HeapMiB: heap, TickTime: tick, InitLimit: initL, SyncLimit: syncL,
			AutopurgeHours: purge, SnapRetainCount: retain, Pool: pool}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}

func TestScriptsParse(t *testing.T) {
	_, out := synth(t, Config{})
	stacktest.CheckScripts(t, out)
}
