package profiles

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/google/go-cmp/cmp"

	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/stack"
)

func synthProfile(t *testing.T, name string, opts Options) (*stack.Stack, *stack.Output) {
	t.Helper()
	p, _ := Get(name)
	s, err := p.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	return s, out
}

// workloads returns the profile's workload names and pod specs.
func workloads(out *stack.Output) map[string]corev1.PodSpec {
	w := map[string]corev1.PodSpec{}
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *appsv1.Deployment:
			w[x.Name] = x.Spec.Template.Spec
		case *appsv1.StatefulSet:
			w[x.Name] = x.Spec.Template.Spec
		}
	}
	return w
}

// TestHundredComponentSet: the 100k profile runs the guide's subset
// (deploy.yaml --tags 100k) and nothing of what it leaves out.
func TestHundredComponentSet(t *testing.T) {
	_, out := synthProfile(t, Hundred, Options{})
	var got []string
	for name := range workloads(out) {
		got = append(got, name)
	}
	sort.Strings(got)
	want := []string{"auth", "data-broker", "data-broker-redis", "k2v-bridge", "kafka-loopback", "kafka-server", "kafka-server-exporter",
		"kafka-ws", "kafka-ws-redis", "kong", "mongodb", "postgres", "postgres-pooler", "v2k-bridge", "vernemq", "x509-identity-mgmt", "zookeeper"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("100k workloads (-want +got):\n%s", d)
	}
	_, small := synthProfile(t, Small, Options{})
	sw := workloads(small)
	for _, name := range []string{"device-manager", "history", "persister", "flowbroker", "gui", "image-manager", "backstage", "cron", "data-manager", "kafka2ftp", "minio", "rabbitmq"} {
		if _, ok := sw[name]; !ok {
			t.Errorf("small lacks %s", name)
		}
	}
	if _, ok := sw["kafka-loopback"]; ok {
		t.Error("small runs kafka-loopback, a 100k-only service")
	}
}

// TestHundredSizingAndGroups: VerneMQ x3, 9 of each bridge, Kafka topics
// with 9 partitions, and every workload pinned to its node group.
func TestHundredSizingAndGroups(t *testing.T) {
	s, out := synthProfile(t, Hundred, Options{})
	groupOf := map[string]string{"vernemq": "vernemq", "k2v-bridge": "vernemq", "v2k-bridge": "vernemq",
		"kafka-server": "kafka", "kafka-server-exporter": "kafka", "zookeeper": "kafka", "kafka-loopback": "kafka", "x509-identity-mgmt": "x509"}
	for _, o := range out.Objects {
		if set, ok := o.Object.(*appsv1.StatefulSet); ok {
			want := map[string]int32{"vernemq": 3, "k2v-bridge": 9, "v2k-bridge": 9, "kafka-loopback": 9}[set.Name]
			if want != 0 && *set.Spec.Replicas != want {
				t.Errorf("%s has %d replicas; want %d", set.Name, *set.Spec.Replicas, want)
			}
		}
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == "kafka-server-config" && !strings.Contains(cm.Data["server.properties"], "num.partitions=9\n") {
			t.Error("Kafka topics do not get 9 partitions")
		}
	}
	for name, spec := range workloads(out) {
		want := groupOf[name]
		if want == "" {
			want = "dojot"
		}
		aff := spec.Affinity
		if aff == nil || aff.NodeAffinity == nil {
			t.Errorf("%s is not pinned to a node group", name)
			continue
		}
		expr := aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
		if expr.Key != DojotGroupLabel || expr.Values[0] != want {
			t.Errorf("%s is pinned to %s=%v; want %s", name, expr.Key, expr.Values, want)
		}
	}
	_ = s
}

// TestLocalVolumesServeTheirClaims: every local PersistentVolume is
// reserved for a claim the profile really makes, on its group's nodes.
func TestLocalVolumesServeTheirClaims(t *testing.T) {
	for _, name := range []string{Small, Hundred} {
		_, out := synthProfile(t, name, Options{})
		claims := map[string]bool{}
		for _, o := range out.Objects {
			switch x := o.Object.(type) {
			case *appsv1.StatefulSet:
				for _, vct := range x.Spec.VolumeClaimTemplates {
					for i := int32(0); i < *x.Spec.Replicas; i++ {
						claims[vct.Name+"-"+x.Name+"-"+itoaTest(i)] = true
					}
				}
			case *corev1.PersistentVolumeClaim:
				claims[x.Name] = true
			}
		}
		pvs := 0
		for _, o := range out.Objects {
			pv, ok := o.Object.(*corev1.PersistentVolume)
			if !ok {
				continue
			}
			pvs++
			if !claims[pv.Spec.ClaimRef.Name] {
				t.Errorf("%s: %s is reserved for claim %s, which nothing makes (claims: %v)", name, pv.Name, pv.Spec.ClaimRef.Name, claims)
			}
			if pv.Spec.StorageClassName != dojot.LocalStorageClass || pv.Spec.Local == nil || !strings.HasPrefix(pv.Spec.Local.Path, "/mnt/data/") {
				t.Errorf("%s: %s is not a local-storage volume under /mnt/data", name, pv.Name)
			}
		}
		if pvs == 0 || pvs != len(claims) {
			t.Errorf("%s: %d local volumes for %d claims", name, pvs, len(claims))
		}
	}
}

func itoaTest(i int32) string { return string(rune('0' + i)) }

func TestDojotOptions(t *testing.T) {
	collide := dojot.DefaultNodePorts()
	collide.MQTT = collide.APIGatewayHTTP
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{Hundred, Options{NodePorts: &collide}, "profile 100k: options: NodePorts: dojot: nodePorts.mqtt 30001 is also nodePorts.apiGatewayHTTP"},
		{Hundred, Options{KafkaPartitions: 6}, "kafka.numPartitions: 6; must equal bridges 9"},
		{Small, Options{Bridges: 2, KafkaPartitions: 1}, "profile small: options: KafkaPartitions: 1 must equal Bridges 2"},
		{Small, Options{Backends: &dojot.Backends{APIGateway: []string{"10.0.0.1"}, MQTT: []string{"bad host!"}}}, `profile small: options: Backends: dojot: backends.mqtt[0]: "bad host!"`},
	} {
		p, _ := Get(tc.name)
		if _, err := p.Build(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: got %v; want %q", tc.name, tc.opts, err, tc.want)
		}
	}
	ports := dojot.DefaultNodePorts()
	ports.APIGatewayHTTP, ports.MQTTS = 31001, 31005
	_, out := synthProfile(t, Small, Options{NodePorts: &ports})
	found := map[string]int32{}
	for _, o := range out.Objects {
		if svc, ok := o.Object.(*corev1.Service); ok && svc.Spec.Type == corev1.ServiceTypeNodePort {
			for _, p := range svc.Spec.Ports {
				found[svc.Name+"/"+p.Name] = p.NodePort
			}
		}
	}
	if found["kong-external/http"] != 31001 || found["vernemq-k8s-external-service/mqtts"] != 31005 || found["vernemq-k8s-external-service/mqtt"] != 30004 {
		t.Errorf("NodePorts %v", found)
	}
	// Every load-balancer rule forwards to a NodePort a rendered Service
	// serves (metrics 30003 and LwM2M 30006-30010 used not to be).
	for _, name := range []string{Small, Hundred} {
		_, out := synthProfile(t, name, Options{})
		served := map[int32]bool{}
		for _, o := range out.Objects {
			if svc, ok := o.Object.(*corev1.Service); ok {
				for _, p := range svc.Spec.Ports {
					if p.NodePort != 0 {
						served[p.NodePort] = true
					}
				}
			}
		}
		for _, f := range out.Files {
			if !strings.HasSuffix(f.Name, "nginx.conf") && !strings.HasSuffix(f.Name, "haproxy.cfg") {
				continue
			}
			for _, m := range regexp.MustCompile(`:(3\d{4})\b`).FindAllStringSubmatch(string(f.Data), -1) {
				port, _ := strconv.Atoi(m[1])
				if !served[int32(port)] {
					t.Errorf("%s: %s forwards to NodePort %d, which no Service serves (served: %v)", name, f.Name, port, served)
				}
			}
		}
	}
}

// TestDistLoadBalancers runs the real programs on the committed
// configurations: haproxy -c on 100k's, nginx -t on small's.
func TestDistLoadBalancers(t *testing.T) {
	if hp, err := exec.LookPath("haproxy"); err == nil {
		if out, err := exec.Command(hp, "-c", "-f", filepath.Join(distRoot, Hundred, "haproxy", "haproxy.cfg")).CombinedOutput(); err != nil {
			t.Errorf("haproxy -c: %v\n%s", err, out)
		}
	} else if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
		t.Errorf("haproxy is required: %v", err)
	}
	if ng, err := exec.LookPath("nginx"); err == nil {
		if out, err := exec.Command(ng, "-t", "-c", mustAbs(t, filepath.Join(distRoot, Small, "nginx", "nginx.conf"))).CombinedOutput(); err != nil {
			t.Errorf("nginx -t: %v\n%s", err, out)
		}
	} else if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
		t.Errorf("nginx is required: %v", err)
	}
	sysctl, err := os.ReadFile(filepath.Join(distRoot, Hundred, "haproxy", "90-dojot-haproxy.conf"))
	if err != nil || !strings.Contains(string(sysctl), "net.ipv4.ip_local_port_range = 1024 65535") {
		t.Errorf("sysctl file: %v %s", err, sysctl)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
