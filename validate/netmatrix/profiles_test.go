package netmatrix

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

var update = flag.Bool("update", false, "rewrite testdata/<profile>.matrix from the rendered policies (review the diff)")

// workload names a pod by its stable labels, name/component: the three
// Redis or Cassandra StatefulSets of one role are one workload, and a
// Job's name (which carries a checksum) does not matter.
func workload(p *Pod) string {
	return p.Labels[stack.LabelName] + "/" + p.Labels[stack.LabelComponent]
}

// profileMatrix is a profile's synthesized output (with its separately
// applied parts) seen by the evaluator.
type profileMatrix struct {
	name      string
	namespace string
	outs      []*stack.Output
	r         *Rendered
	cluster   *Cluster
	// internal maps "dst:port/name" to the in-namespace workloads that may
	// open it; from maps each source of the outside to what it reaches.
	internal map[string]map[string]bool
	outside  map[string]map[string]bool
}

// Sources outside the stack: an address on the internet, a pod of the
// monitoring namespace, and a twin of every workload (same labels) in
// another namespace.
const (
	internet   = "internet"
	monitoring = "monitoring"
	intruder   = "intruder"
)

func buildMatrix(t *testing.T, name string) *profileMatrix {
	t.Helper()
	p, err := profiles.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildAll(profiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := &profileMatrix{name: name, namespace: b.Stack.Namespace()}
	for _, s := range append([]*stack.Stack{b.Stack}, partStacks(b)...) {
		out, err := s.Synth()
		if err != nil {
			t.Fatal(err)
		}
		m.outs = append(m.outs, out)
	}
	m.r = FromOutputs(m.outs...)
	m.cluster = m.r.Cluster()
	m.internal = map[string]map[string]bool{}
	m.outside = map[string]map[string]bool{}

	sources := map[string]Source{
		internet:   External("203.0.113.7"),
		monitoring: FromPod(&Pod{Name: "prometheus", Namespace: "monitoring", Labels: map[string]string{"app.kubernetes.io/name": "prometheus"}}),
	}
	seen := map[string]bool{}
	for _, pod := range m.r.Pods {
		w := workload(pod)
		if seen[w] {
			continue
		}
		seen[w] = true
		sources[w] = FromPod(pod)
		twin := *pod
		twin.Namespace = "intruder"
		sources[intruder+":"+w] = FromPod(&twin)
	}
	for _, pod := range m.r.Pods {
		pod.Name = workload(pod)
	}
	edges, err := m.cluster.Matrix(sources, m.r.Pods)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edges {
		dst := fmt.Sprintf("%s:%d/%s", e.To, e.Port, e.PortName)
		switch {
		case e.From == internet || e.From == monitoring:
			add(m.outside, e.From, dst)
		case strings.HasPrefix(e.From, intruder+":"):
			add(m.outside, e.From, dst)
		default:
			add(m.internal, dst, e.From)
		}
	}
	return m
}

func partStacks(b *profiles.Built) []*stack.Stack {
	var out []*stack.Stack
	for _, p := range b.Parts {
		out = append(out, p.Stack)
	}
	return out
}

func add(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// declaredExternal computes, from the rendered Services and Ingresses
// alone (not from the policies), the ports the stack exposes: the target
// ports of LoadBalancer and NodePort Services and of Ingress backends.
func (m *profileMatrix) declaredExternal() map[string]bool {
	backends := map[string]bool{}
	var services []*corev1.Service
	for _, out := range m.outs {
		for _, o := range out.Objects {
			switch x := o.Object.(type) {
			case *networkingv1.Ingress:
				for _, r := range x.Spec.Rules {
					if r.HTTP == nil {
						continue
					}
					for _, p := range r.HTTP.Paths {
						if b := p.Backend.Service; b != nil {
							backends[b.Name+"/"+b.Port.Name] = true
							backends[b.Name+"/"+strconv.Itoa(int(b.Port.Number))] = true
						}
					}
				}
			case *corev1.Service:
				services = append(services, x)
			}
		}
	}
	want := map[string]bool{}
	for _, svc := range services {
		lb := svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort
		for _, sp := range svc.Spec.Ports {
			if !lb && !backends[svc.Name+"/"+sp.Name] && !backends[svc.Name+"/"+strconv.Itoa(int(sp.Port))] {
				continue
			}
			for _, pod := range m.r.Pods {
				if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
					continue
				}
				for _, cp := range pod.Ports {
					if (sp.TargetPort.Type == intstr.String && cp.Name == sp.TargetPort.StrVal) ||
						(sp.TargetPort.Type == intstr.Int && cp.ContainerPort == sp.TargetPort.IntVal) ||
						(sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal == 0 && cp.ContainerPort == sp.Port) {
						want[fmt.Sprintf("%s:%d/%s", pod.Name, cp.ContainerPort, cp.Name)] = true
					}
				}
			}
		}
	}
	return want
}

// scrapePorts returns the ports named by prometheus.io/port annotations.
func (m *profileMatrix) scrapePorts() map[string]bool {
	want := map[string]bool{}
	for _, out := range m.outs {
		for _, o := range out.Objects {
			var t *corev1.PodTemplateSpec
			switch x := o.Object.(type) {
			case *appsv1.Deployment:
				t = &x.Spec.Template
			case *appsv1.StatefulSet:
				t = &x.Spec.Template
			case *batchv1.Job:
				t = &x.Spec.Template
			}
			if t == nil || t.Annotations["prometheus.io/port"] == "" {
				continue
			}
			w := t.Labels[stack.LabelName] + "/" + t.Labels[stack.LabelComponent]
			for _, c := range t.Spec.Containers {
				for _, p := range c.Ports {
					if strconv.Itoa(int(p.ContainerPort)) == t.Annotations["prometheus.io/port"] {
						want[fmt.Sprintf("%s:%d/%s", w, p.ContainerPort, p.Name)] = true
					}
				}
			}
		}
	}
	return want
}

// render is the in-namespace matrix as text: one line per destination
// port, "any" when it is exposed to every source.
func (m *profileMatrix) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: who may open which port, computed from the rendered NetworkPolicies\n", m.name)
	b.WriteString("# (validate/netmatrix). \"any\": exposed outside the namespace; \"monitoring\": the scraper's namespace.\n")
	var dsts []string
	all := map[string]bool{}
	for d := range m.internal {
		all[d] = true
	}
	for d := range m.outside[monitoring] {
		all[d] = true
	}
	dsts = keys(all)
	for _, d := range dsts {
		var from []string
		if m.outside[internet][d] {
			from = []string{"any"}
		} else {
			from = keys(m.internal[d])
			if m.outside[monitoring][d] {
				from = append(from, "monitoring")
			}
		}
		fmt.Fprintf(&b, "%s <- %s\n", d, strings.Join(from, " "))
	}
	return b.String()
}

// TestProfileMatrix computes each profile's reachability matrix from its
// rendered NetworkPolicies and checks it against the intended one.
func TestProfileMatrix(t *testing.T) {
	for _, name := range profiles.Names() {
		t.Run(name, func(t *testing.T) {
			m := buildMatrix(t, name)

			// Nothing from outside the namespace but the declared external
			// ports; the monitoring namespace adds the scrape ports only.
			external := m.declaredExternal()
			if len(external) == 0 {
				t.Fatal("the profile declares no external port: the check below would prove nothing")
			}
			if d := cmp.Diff(keys(external), keys(m.outside[internet])); d != "" {
				t.Errorf("from the internet, only the declared external ports (-declared +reachable):\n%s", d)
			}
			for src, reach := range m.outside {
				if strings.HasPrefix(src, intruder+":") {
					if d := cmp.Diff(keys(external), keys(reach)); d != "" {
						t.Errorf("%s (a pod with the same labels in another namespace) reaches more than the external ports (-declared +reachable):\n%s", src, d)
					}
				}
			}
			scrape := m.scrapePorts()
			for p := range external {
				scrape[p] = true
			}
			if d := cmp.Diff(keys(scrape), keys(m.outside[monitoring])); d != "" {
				t.Errorf("from the monitoring namespace, the external and scrape ports only (-want +reachable):\n%s", d)
			}

			// Datastores: reachable only from their consumers and own peers.
			ports := map[string]bool{}
			for _, pod := range m.r.Pods {
				for _, cp := range pod.Ports {
					ports[fmt.Sprintf("%s:%d/%s", pod.Name, cp.ContainerPort, cp.Name)] = true
				}
			}
			if len(datastores[name]) == 0 {
				t.Fatalf("no intended matrix for profile %s", name)
			}
			for dst, want := range datastores[name] {
				if !ports[dst] {
					t.Errorf("%s is no container port of the profile: the intended matrix is out of date", dst)
				}
				got := keys(m.internal[dst])
				if m.outside[internet][dst] {
					got = []string{"any"}
				}
				if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("%s: consumers and peers (-intended +reachable):\n%s", dst, d)
				}
			}

			// The whole matrix, reviewed: testdata/<profile>.matrix.
			file := filepath.Join("testdata", name+".matrix")
			got := m.render()
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./validate/netmatrix -update and review)", err)
			}
			if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); d != "" {
				t.Errorf("%s differs from the rendered policies (-file +rendered):\n%s\nrun `go test ./validate/netmatrix -update` and review the diff", file, d)
			}
		})
	}
}

// TestLeaksClosed: the leaks the review found on minimal-3az are closed.
// Before, every ThingsBoard policy selected all eight ThingsBoard
// workloads, so tb-core's "http from anywhere" opened the other services'
// ports to every source, and every pod of the namespace reached every
// port of every other.
func TestLeaksClosed(t *testing.T) {
	m := buildMatrix(t, profiles.Minimal3AZ)
	for _, dst := range []string{
		"thingsboard/tb-rule-engine:8080/http", "thingsboard/tb-js-executor:8888/http", "thingsboard/tb-vc-executor:8086/http",
		"postgres/database:8008/patroni", "postgres/database:5432/postgresql", "redis/cache:6379/client", "cassandra/database:7199/jmx",
	} {
		if m.outside[internet][dst] {
			t.Errorf("anyone can reach %s", dst)
		}
		if m.outside[intruder+":thingsboard/tb-core"][dst] {
			t.Errorf("a pod in another namespace can reach %s", dst)
		}
	}
	// A pod of the namespace reaches only what it uses: the web UI
	// reaches no datastore, the MQTT transport not Patroni's API.
	for _, dst := range []string{"postgres/database:8008/patroni", "postgres/database:5432/postgresql", "kafka/broker:9093/controller",
		"cassandra/database:7199/jmx", "zookeeper/coordination:2888/follower", "thingsboard/tb-rule-engine:8080/http"} {
		for _, src := range []string{"thingsboard/tb-web-ui", "thingsboard/tb-mqtt-transport", "tb-ce-performance-test/load-generator"} {
			if m.internal[dst][src] {
				t.Errorf("%s can reach %s", src, dst)
			}
		}
	}
	if !m.internal["thingsboard/tb-mqtt-transport:1883/mqtt"]["tb-ce-performance-test/load-generator"] {
		t.Error("the load test cannot reach the MQTT transport")
	}
}

// datastores is the intended matrix of each profile's datastore ports:
// who may open them (in-namespace workloads, name/component), written by
// hand from the components' wiring, not computed.
var datastores = map[string]map[string][]string{
	profiles.Minimal3AZ: {
		"zookeeper/coordination:2181/client":   tbJVM("thingsboard/install"),
		"zookeeper/coordination:2888/follower": {"zookeeper/coordination"},
		"zookeeper/coordination:3888/election": {"zookeeper/coordination"},
		"kafka/broker:9092/client":             tbJVM("kafka-ui/ui", "kafka/broker", "kafka/exporter", "thingsboard/install", "thingsboard/tb-js-executor"),
		"kafka/broker:9093/controller":         {"kafka/broker"},
		"kafka/broker:9094/internal":           {"kafka/broker"},
		"redis/cache:6379/client":              tbJVM("redis/cache", "redis/cluster-create", "thingsboard/install"),
		"redis/cache:16379/bus":                {"redis/cache"},
		"cassandra/database:9042/cql":          tbJVM("cassandra/schema", "thingsboard/install"),
		"cassandra/database:7000/intra":        {"cassandra/database"},
		"cassandra/database:7199/jmx":          {"cassandra/schema", "reaper/repair"},
		"postgres/database:5432/postgresql":    {"postgres/database", "postgres/databases", "postgres/pooler"},
		"postgres/database:8008/patroni":       {"postgres/database"},
		"postgres/pooler:5432/pgbouncer":       tbJVM("thingsboard/install"),
	},
	profiles.Small: dojotStores(true),
	"100k":         dojotStores(false),
}

// tbJVM is the JVM services of minimal-3az (they read the shared cluster
// configuration) plus others, sorted.
func tbJVM(others ...string) []string {
	out := append([]string{"thingsboard/tb-core", "thingsboard/tb-http-transport", "thingsboard/tb-mqtt-transport", "thingsboard/tb-rule-engine", "thingsboard/tb-vc-executor"}, others...)
	sort.Strings(out)
	return out
}

func dojotStores(small bool) map[string][]string {
	sorted := func(s ...string) []string { sort.Strings(s); return s }
	kafkaClients := []string{"auth/service", "data-broker/service", "k2v-bridge/bridge", "kafka-ws/service", "kafka-server/broker", "kafka-server/exporter", "v2k-bridge/bridge"}
	pg := []string{"auth/service", "kong/api-gateway", "kong/migrations", "postgres/database", "postgres/databases", "postgres/pooler", "x509-identity-mgmt/ca"}
	zk := []string{"data-broker/service"}
	mongo := []string{"x509-identity-mgmt/ca"}
	if small {
		kafkaClients = append(kafkaClients, "cron/service", "device-manager/service", "flowbroker/service", "kafka2ftp/service", "persister/service")
		pg = append(pg, "device-manager/service", "image-manager/service")
		zk = append(zk, "flowbroker/service")
		mongo = append(mongo, "history/service", "persister/service")
	} else {
		kafkaClients = append(kafkaClients, "kafka-loopback/bridge")
	}
	m := map[string][]string{
		"zookeeper/coordination:2181/client":   sorted(zk...),
		"zookeeper/coordination:2888/follower": {"zookeeper/coordination"},
		"kafka-server/broker:9092/client":      sorted(kafkaClients...),
		"kafka-server/broker:9093/controller":  {"kafka-server/broker"},
		"postgres/database:5432/postgresql":    sorted(pg...),
		"postgres/database:8008/patroni":       {"postgres/database"},
		"postgres/pooler:5432/pgbouncer":       nil, // dojot connects to the primary
		"mongodb/store:27017/mongodb":          sorted(mongo...),
		"data-broker/redis:6379/redis":         {"data-broker/service"},
		"kafka-ws/redis:6379/redis":            {"kafka-ws/service"},
		"kong/api-gateway:8002/consumers":      {"auth/service"},
		"x509-identity-mgmt/ca:3000/http":      {"kong/api-gateway", "v2k-bridge/bridge", "vernemq/broker"},
	}
	if small {
		m["minio/store:9000/s3"] = []string{"image-manager/service"}
		m["device-manager/redis:6379/redis"] = []string{"device-manager/service"}
		m["rabbitmq/store:5672/amqp"] = nil // no service of v0.5.0's few-devices set is wired to it
	}
	return m
}
