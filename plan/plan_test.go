package plan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// planOf plans a profile with values documents (YAML) and --set overrides.
func planOf(t *testing.T, profile string, doc string, sets ...string) (*Plan, error) {
	t.Helper()
	p, err := profiles.Get(profile)
	if err != nil {
		t.Fatal(err)
	}
	var docs []values.Doc
	if doc != "" {
		docs = append(docs, values.Doc{Name: "test.yaml", Data: []byte(doc)})
	}
	v, err := p.Load(docs, sets)
	if err != nil {
		return nil, err
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	return Compute(profile, b, v)
}

func mustPlan(t *testing.T, profile, doc string, sets ...string) *Plan {
	t.Helper()
	p, err := planOf(t, profile, doc, sets...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The ThingsBoard article's figures ("Total ownership cost"): 3 x $135 =
// $405, +50 % = $607.5, printed as $608 per month, and 0.6 cents per device
// per month at 100k devices.
func TestMinimal3AZReproducesTheArticlesCost(t *testing.T) {
	p := mustPlan(t, "minimal-3az", "")
	c := p.Cost
	if c.Nodes != 405 || c.Monthly != 607.5 || c.MonthlyRounded != 608 {
		t.Errorf("nodes $%v, monthly $%v rounded $%d; want $405, $607.5, $608", c.Nodes, c.Monthly, c.MonthlyRounded)
	}
	if c.Devices != 100000 || c.PerDeviceCentsRounded != 0.6 {
		t.Errorf("%d devices, %v cents per device; want 100000 devices, 0.6 cents", c.Devices, c.PerDeviceCentsRounded)
	}
	if c.PerZoneRounded != 203 || !c.Complete {
		t.Errorf("per zone $%d (want $203), complete %v (want true)", c.PerZoneRounded, c.Complete)
	}
	// The client pool runs only the load test, which is left out.
	if got := c.Pools[1]; got.Pool != "client" || got.Status != Idle {
		t.Errorf("client pool: %+v; want idle", got)
	}
	if !strings.Contains(string(p.Table()), "about $608 per month ($203 per zone); 0.6 cents per device per month at 100000 devices") {
		t.Errorf("table does not print the article's figures:\n%s", p.Table())
	}
	if z := p.Zone; z == nil || z.MaxAverageCPU != 2.0/3 || z.AddCPUsAt != 0.5 || !z.OK {
		t.Errorf("zone check %+v; want ok, max average CPU 2/3, add CPUs at 0.5", z)
	}
	// The monitoring is planned, the load test is not.
	if !reflect.DeepEqual(p.Parts, []string{MainPart, profiles.MonitoringDir}) || len(p.Excluded) != 1 || !strings.HasPrefix(p.Excluded[0], profiles.LoadTestDir) {
		t.Errorf("parts %v, excluded %v; want stack and monitoring, the load test left out", p.Parts, p.Excluded)
	}
}

func TestRounding(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want int64
	}{{607.5, 608}, {607.49, 607}, {202.5, 203}, {0, 0}} {
		if got := RoundDollars(c.in); got != c.want {
			t.Errorf("RoundDollars(%v) = %d, want %d", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want float64 }{{0.6075, 0.6}, {0.65, 0.7}, {0.649, 0.6}} {
		if got := RoundTenthCent(c.in); got != c.want {
			t.Errorf("RoundTenthCent(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Every placed pod is on a node, every node's requests fit, each
// zone-spread workload has a pod per zone; every workload of the stack and
// its monitoring is there.
func TestPlacement(t *testing.T) {
	for _, name := range profiles.Names() {
		p := mustPlan(t, name, "")
		if len(p.Unplaced) > 0 {
			t.Errorf("%s: unplaced %v", name, p.Unplaced)
		}
		for _, n := range p.Nodes {
			if !n.Requests.fits(n.Allocatable) {
				t.Errorf("%s: node %s requests %s/%s exceed allocatable %s/%s", name, n.Name, n.Requests.CPU(), n.Requests.Memory(), n.Allocatable.CPU(), n.Allocatable.Memory())
			}
		}
		parts := map[string]bool{}
		for _, w := range p.Workloads {
			parts[w.Part] = true
			zones := map[string]int{}
			for _, pod := range w.Pods {
				if pod.Node == "" {
					t.Errorf("%s: %s/%s pod %s not placed", name, w.Kind, w.Name, pod.Name)
				}
				zones[pod.Zone]++
			}
			if w.ZoneSpread && w.Replicas >= len(p.Zones) && len(zones) != len(p.Zones) {
				t.Errorf("%s: %s/%s spread over zones lands in %v", name, w.Kind, w.Name, zones)
			}
		}
		if !parts[MainPart] || !parts[profiles.MonitoringDir] {
			t.Errorf("%s: parts with workloads %v; want the stack and the monitoring", name, parts)
		}
	}
}

// The us-east-1 environment: two m7g.xlarge per zone with no price in the
// defaults: the pool is reported, not an error, until the user asks for
// the cost; with a price, the cost follows.
func TestPoolWithoutPrice(t *testing.T) {
	const env = `
topology:
  zones: [us-east-1a, us-east-1b, us-east-1c]
  pools:
    - {name: thingsboard, instanceType: m7g.xlarge, arch: arm64, cpu: "4", memory: 16Gi, nodesPerZone: 2, labels: {role: thingsboard}}
    - {name: client, instanceType: m7g.medium, arch: arm64, cpu: "1", memory: 4Gi, nodesPerZone: 1, labels: {role: client}, taints: [{key: dedicated, value: client, effect: NoSchedule}]}
`
	p := mustPlan(t, "minimal-3az", env)
	c := p.Cost
	if c.Complete || c.Nodes != 0 || c.MonthlyRounded != 0 || !reflect.DeepEqual(c.Unpriced, []string{"thingsboard (m7g.xlarge)"}) || c.Pools[0].Status != NoPrice {
		t.Errorf("cost %+v; want incomplete, no figure, thingsboard (m7g.xlarge) unpriced", c)
	}
	if !strings.Contains(string(p.Table()), "No price for thingsboard (m7g.xlarge)") {
		t.Errorf("table does not report the missing price:\n%s", p.Table())
	}
	_, err := planOf(t, "minimal-3az", env, "plan.requireCost=true")
	if err == nil || !strings.Contains(err.Error(), "plan.requireCost") || !strings.Contains(err.Error(), "thingsboard (m7g.xlarge)") {
		t.Errorf("requireCost without a price: %v; want an error naming plan.requireCost and the pool", err)
	}
	p = mustPlan(t, "minimal-3az", env, `plan.prices.m7g\.xlarge=98`, "plan.requireCost=true")
	if c := p.Cost; !c.Complete || c.Nodes != 6*98 || c.MonthlyRounded != 882 || c.PerDeviceCentsRounded != 0.9 {
		t.Errorf("cost with a price: %+v; want 6 x $98 = $588, $882, 0.9 cents", c)
	}
	if len(p.Nodes) != 9 {
		t.Errorf("%d nodes; want 6 thingsboard and 3 client", len(p.Nodes))
	}
}

// A profile without instance types (dojot's bare metal) has no cost, and
// says so.
func TestNoInstanceType(t *testing.T) {
	p := mustPlan(t, "small", "")
	if p.Cost.Complete || p.Cost.Monthly != 0 || p.Zone != nil {
		t.Errorf("small: cost %+v, zone check %+v; want no price, no zone check (one zone)", p.Cost, p.Zone)
	}
	if !strings.Contains(string(p.Markdown()), "Single-zone topology") {
		t.Errorf("small: the Markdown does not say there is no zone-loss check")
	}
}

// twoZones plans ZooKeeper's three servers (one per host, spread over the
// zones, a PodDisruptionBudget of maxUnavailable 1) on two zones with two
// nodes each: 2 + 1, and losing the zone with two leaves one of three.
func TestTwoZonesFailTheZoneLoss(t *testing.T) {
	topo := stack.Topology{Zones: []string{"zone-a", "zone-b"}, Pools: []stack.NodePool{{
		Name: "main", InstanceType: "r7g.xlarge", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("32Gi"),
		NodesPerZone: 2, Labels: map[string]string{"role": "main"},
	}}}
	build := func(topo stack.Topology) *Plan {
		s, err := stack.New(stack.Options{Name: "two", Topology: topo})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zookeeper.New(s, zookeeper.Config{Pool: "main"}); err != nil {
			t.Fatal(err)
		}
		v := profiles.Minimal3AZDefaults()
		p, err := Compute("two", &profiles.Built{Stack: s}, v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := build(topo)
	z := p.Zone
	if z == nil || z.OK || z.MaxAverageCPU != 0.5 {
		t.Fatalf("two zones: %+v; want the zone loss to fail, max average CPU 1/2", z)
	}
	failed := 0
	for _, l := range z.Losses {
		if !l.OK {
			failed++
			if len(l.Budgets) != 1 || !strings.Contains(l.Budgets[0], "1 of 3 pods, needs 2") {
				t.Errorf("zone %s lost: budgets %v; want zookeeper's broken: 1 of 3 pods, needs 2", l.Zone, l.Budgets)
			}
			if len(l.Blocked) != 2 {
				t.Errorf("zone %s lost: blocked %v; want the two lost servers held by their zone spread", l.Zone, l.Blocked)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d zone losses fail; want 1 (the zone with two servers)", failed)
	}
	if !strings.Contains(string(p.Table()), "a zone's loss is NOT survived") {
		t.Errorf("table does not report the failed zone loss:\n%s", p.Table())
	}
	// The same servers on three zones survive any one zone's loss.
	topo.Zones = append(topo.Zones, "zone-c")
	if p := build(topo); !p.Zone.OK {
		t.Errorf("three zones: %+v; want every zone's loss survived", p.Zone)
	}
}

// No room on the survivors: a zone loss whose rescheduled pods do not fit
// is a failure naming the pods.
func TestZoneLossWithoutRoom(t *testing.T) {
	// kafka-exporter, kube-state-metrics, the pooler and one Prometheus
	// reschedule; with the nodes this full, some cannot.
	p := mustPlan(t, "minimal-3az", "", "topology.pools[0].memory=27968Mi")
	if p.Zone == nil || p.Zone.OK {
		t.Fatalf("full nodes: zone check %+v; want a failure", p.Zone)
	}
	room := 0
	for _, l := range p.Zone.Losses {
		room += len(l.NoRoom)
	}
	if room == 0 {
		t.Errorf("full nodes: no pod reported without room: %+v", p.Zone.Losses)
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		set  string
		want string
	}{
		{"plan.prices.r7g\\.xlarge=-1", "plan.prices.r7g.xlarge"},
		{"plan.overheadPercent=-5", "plan.overheadPercent"},
		{"plan.devices=-1", "plan.devices"},
		{"plan.prices.x=cheap", "plan.prices.x"},
	} {
		_, err := planOf(t, "minimal-3az", "", c.set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--set %s: %v; want an error naming %s", c.set, err, c.want)
		}
	}
	p := mustPlan(t, "small", "")
	err := p.Write(io.Discard, "xml")
	if err == nil || !strings.Contains(err.Error(), `"xml"`) || !strings.Contains(err.Error(), "table, markdown, json, svg") {
		t.Errorf("format xml: %v; want an error naming the value and the formats", err)
	}
	if _, err := Compute("none", nil, nil); err == nil {
		t.Errorf("Compute(nil): no error")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	p := mustPlan(t, "minimal-3az", "")
	b, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	want := *p
	want.bound = nil
	want.Workloads = append([]Workload(nil), p.Workloads...)
	for i := range want.Workloads {
		want.Workloads[i].labels = nil
	}
	if !reflect.DeepEqual(&back, &want) {
		t.Errorf("JSON round trip changes the plan")
	}
	again, _ := back.JSON()
	if !bytes.Equal(again, b) {
		t.Errorf("JSON of the decoded plan differs")
	}
	// Stable field names scripts use.
	for _, key := range []string{`"monthlyRounded": 608`, `"perDeviceCentsRounded": 0.6`, `"maxAverageCpu": 0.6666666666666666`, `"allocatable": {`, `"cpuMilli": 4000`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	for _, name := range profiles.Names() {
		p := mustPlan(t, name, "")
		svg := p.SVG()
		dec := xml.NewDecoder(bytes.NewReader(svg))
		dec.Strict = true
		root, rects, texts := "", 0, 0
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: SVG does not parse: %v", name, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				if root == "" {
					root = se.Name.Space + " " + se.Name.Local
				}
				switch se.Name.Local {
				case "rect":
					rects++
				case "text":
					texts++
				}
			}
		}
		if root != "http://www.w3.org/2000/svg svg" {
			t.Errorf("%s: root element %q; want svg in the SVG namespace", name, root)
		}
		// A background, then two bars of two rects per node.
		if want := 1 + 4*len(p.Nodes); rects != want {
			t.Errorf("%s: %d rects; want %d", name, rects, want)
		}
		for _, n := range p.Nodes {
			if !bytes.Contains(svg, []byte(">"+n.Name+" (")) {
				t.Errorf("%s: SVG does not name node %s", name, n.Name)
			}
		}
	}
}

func TestSameBytesTwice(t *testing.T) {
	for _, name := range profiles.Names() {
		a, b := mustPlan(t, name, ""), mustPlan(t, name, "")
		for _, f := range Formats {
			var x, y bytes.Buffer
			if err := a.Write(&x, f); err != nil {
				t.Fatal(err)
			}
			if err := b.Write(&y, f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x.Bytes(), y.Bytes()) || x.Len() == 0 {
				t.Errorf("%s -o %s: two runs differ (or are empty)", name, f)
			}
		}
	}
}

// The plan's per-node totals are stack.NodeRequests on its bound pods, the
// function mage sim measures the cluster with; the lines are the sim's.
func TestTotalsAreWhatTheSimMeasures(t *testing.T) {
	for _, name := range profiles.Names() {
		p := mustPlan(t, name, "")
		used := stack.NodeRequests(p.BoundPods())
		var lines []string
		for _, n := range p.Nodes {
			alloc := corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(n.Allocatable.CPUMilli, resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(n.Allocatable.MemoryBytes, resource.BinarySI),
			}
			lines = append(lines, stack.UsageLine(n.Name, used[n.Name], alloc))
			u := used[n.Name]
			if got := (Amount{u.Cpu().MilliValue(), u.Memory().Value()}); got != n.Requests {
				t.Errorf("%s: node %s: NodeRequests %+v, plan %+v", name, n.Name, got, n.Requests)
			}
		}
		sortStrings(lines)
		if !reflect.DeepEqual(lines, p.UsageLines()) {
			t.Errorf("%s: usage lines\n%s\nwant\n%s", name, strings.Join(p.UsageLines(), "\n"), strings.Join(lines, "\n"))
		}
	}
}

func sortStrings(s []string) { copy(s, sortedStrings(s)) }

// Forced: zone-spread workloads with a pod per zone on one node per zone
// are forced; minimal-3az's single kafka-exporter is not (any of three
// nodes); small's are all forced (one node); 100k's VerneMQ is (one per
// host on its three), its nine bridges per direction are not.
func TestForced(t *testing.T) {
	p := mustPlan(t, "minimal-3az", "")
	got := map[string]bool{}
	for _, w := range p.Workloads {
		got[w.Name] = w.Forced
	}
	for name, want := range map[string]bool{"zookeeper": true, "tb-core": true, "redis-a": true, "cassandra-b": true, "kafka-exporter": false, "postgres-pooler": false, "kube-state-metrics": false} {
		if got[name] != want {
			t.Errorf("minimal-3az %s: forced %v, want %v", name, got[name], want)
		}
	}
	if p.Forced() {
		t.Errorf("minimal-3az: every workload forced")
	}
	if p := mustPlan(t, "small", ""); !p.Forced() {
		t.Errorf("small: not every workload forced on its one node")
	}
	hundred := map[string]bool{}
	for _, w := range mustPlan(t, "100k", "").Workloads {
		hundred[w.Name] = w.Forced
	}
	if !hundred["vernemq"] || hundred["k2v-bridge"] {
		t.Errorf("100k: vernemq forced %v (want true), k2v-bridge forced %v (want false)", hundred["vernemq"], hundred["k2v-bridge"])
	}
	var sum Amount
	for _, n := range p.Nodes {
		if n.Pool == "thingsboard" {
			sum = sum.add(n.Requests)
		}
	}
	if pt := p.PoolTotals(); pt["thingsboard"] != sum || pt["client"] != (Amount{}) {
		t.Errorf("pool totals %+v; want thingsboard %+v, client 0", pt, sum)
	}
}

// The node exporter (monitoring.nodeExporter) is planned as a DaemonSet:
// a pod on every node, the client pool's included, which stays idle (not
// costed): DaemonSet pods follow the nodes.
func TestNodeExporter(t *testing.T) {
	p := mustPlan(t, "minimal-3az", "", "monitoring.nodeExporter=true")
	var ds *Workload
	for i, w := range p.Workloads {
		if w.Kind == "DaemonSet" {
			ds = &p.Workloads[i]
		}
	}
	if ds == nil || ds.Part != profiles.NodeExporterDir || ds.Replicas != len(p.Nodes) || !ds.Forced {
		t.Fatalf("node exporter: %+v; want a forced DaemonSet pod on each of the %d nodes", ds, len(p.Nodes))
	}
	if c := p.Cost; c.MonthlyRounded != 608 || !c.Complete || c.Pools[1].Status != Idle {
		t.Errorf("cost with the node exporter: %+v; want $608, the client pool idle", c)
	}
	for _, l := range p.Zone.Losses {
		for _, r := range l.Rescheduled {
			if strings.HasPrefix(r, "node-exporter") {
				t.Errorf("zone %s lost: a DaemonSet pod rescheduled: %s", l.Zone, r)
			}
		}
	}
}
