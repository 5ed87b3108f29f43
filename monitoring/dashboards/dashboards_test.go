package dashboards_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	sdk "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/components/grafana"
	"github.com/iotstack/iotstack/monitoring/dashboards"
	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// all returns the dashboards of every profile, keyed by profile.
func all(t *testing.T) map[string][]grafana.Dashboard {
	t.Helper()
	out := map[string][]grafana.Dashboard{}
	for _, name := range profiles.Names() {
		p, err := profiles.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.BuildAll(profiles.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var parts []*stack.Stack
		for _, part := range b.Parts {
			if part.Dir == profiles.LoadTestDir {
				parts = append(parts, part.Stack)
			}
		}
		ds, err := dashboards.For(b.Stack, parts...)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = ds
	}
	return out
}

func TestGolden(t *testing.T) {
	for prof, ds := range all(t) {
		for _, d := range ds {
			path := filepath.Join("testdata", "golden", prof, d.Name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, d.JSON, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./monitoring/dashboards -update)", err)
			}
			if !bytes.Equal(want, d.JSON) {
				t.Errorf("%s differs from %s; review and run with -update", d.Name, path)
			}
		}
	}
}

func TestKindsPerProfile(t *testing.T) {
	want := map[string]string{
		"minimal-3az": "overview cassandra kafka postgres redis thingsboard zookeeper",
		"small":       "overview dojot-mqtt kafka postgres zookeeper",
		"100k":        "overview dojot-mqtt kafka postgres zookeeper",
	}
	for prof, ds := range all(t) {
		var names []string
		for _, d := range ds[1:] {
			names = append(names, d.Name)
		}
		sort.Strings(names)
		got := strings.TrimSpace(ds[0].Name + " " + strings.Join(names, " "))
		if got != want[prof] {
			t.Errorf("%s: dashboards %q; want %q", prof, got, want[prof])
		}
	}
}

// TestStrictDecode decodes every dashboard with the SDK's strict decoder
// (unknown fields are errors) and checks each panel names the fixed
// datasource uid and has no import placeholder.
func TestStrictDecode(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for prof, ds := range all(t) {
		for _, d := range ds {
			var dash sdk.Dashboard
			if err := strictDecode(&dash, d.JSON); err != nil {
				t.Errorf("%s/%s: %v", prof, d.Name, err)
				continue
			}
			if dash.Uid == nil || *dash.Uid != "iotstack-"+d.Name {
				t.Errorf("%s/%s: uid %v", prof, d.Name, dash.Uid)
			}
			if strings.Contains(string(d.JSON), "${DS_") {
				t.Errorf("%s/%s has a ${DS_...} placeholder", prof, d.Name)
			}
			for _, p := range panelsOf(t, d.JSON) {
				if p.Datasource.UID != grafana.DatasourceUID || len(p.Targets) == 0 {
					t.Errorf("%s/%s panel %q: datasource %+v, %d targets", prof, d.Name, p.Title, p.Datasource, len(p.Targets))
				}
				for _, q := range p.Targets {
					if q.Datasource.UID != grafana.DatasourceUID {
						t.Errorf("%s/%s panel %q: query datasource %+v", prof, d.Name, p.Title, q.Datasource)
					}
				}
			}
		}
	}
}

// strictDecode runs the SDK's strict decoder, which returns an empty
// cog.BuildErrors (a non-nil error value) when all is well.
func strictDecode(d *sdk.Dashboard, js []byte) error {
	err := d.UnmarshalJSONStrict(js)
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		return nil
	}
	return err
}

type ref struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panelJSON struct {
	Title      string `json:"title"`
	Datasource ref    `json:"datasource"`
	Targets    []struct {
		Expr       string `json:"expr"`
		Datasource ref    `json:"datasource"`
	} `json:"targets"`
}

func panelsOf(t *testing.T, js []byte) []panelJSON {
	t.Helper()
	var d struct {
		Panels []panelJSON `json:"panels"`
	}
	if err := json.Unmarshal(js, &d); err != nil {
		t.Fatal(err)
	}
	return d.Panels
}

// TestQueriesParse writes every panel query as a recording rule and runs
// promtool check rules on the file (promtool parses each expression).
func TestQueriesParse(t *testing.T) {
	tl := montools.ForTest(t)
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for prof, ds := range all(t) {
		for _, d := range ds {
			for i, p := range panelsOf(t, d.JSON) {
				for j, q := range p.Targets {
					rules = append(rules, rule{Record: fmt.Sprintf("dashboard:%s_%s:panel%d_%d", strings.ReplaceAll(prof, "-", "_"), d.Name, i, j), Expr: q.Expr})
				}
			}
		}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Record < rules[j].Record })
	doc := map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboards.rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tl.Promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d rules found", len(rules))) {
		t.Fatalf("promtool checked a different number of rules than %d:\n%s", len(rules), out)
	}
}

// metricName matches a metric name in selector form (name{...}); every
// query names its series so, which TestEveryMetricInSelectorForm checks.
var metricName = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// prometheusOwn are the series Prometheus itself adds to every target.
var prometheusOwn = []string{"up", "scrape_duration_seconds"}

// cited are the names of exporters that do not run here, with the
// sources cited in components.go.
var cited = map[string][]string{
	"zookeeper":   {"num_alive_connections", "outstanding_requests", "avg_latency", "znode_count"},
	"kafka":       {"kafka_brokers", "kafka_topic_partitions", "kafka_topic_partition_under_replicated_partition", "kafka_topic_partition_current_offset", "kafka_consumergroup_lag"},
	"cassandra":   {"cassandra_stats"},
	"thingsboard": {"jvm_memory_used_bytes", "jvm_memory_max_bytes", "process_cpu_usage"},
	// VerneMQ 1.10.0 (apps/vmq_server/src/vmq_metrics.erl) and
	// locust_exporter v0.3.0 (main.go), as cited in dojot.go.
	"dojot-mqtt": {"socket_open", "socket_close", "queue_processes",
		"queue_message_in", "queue_message_out", "queue_message_drop", "queue_message_unhandled",
		"mqtt_publish_received", "mqtt_publish_sent", "mqtt_publish_error", "mqtt_publish_auth_error",
		"mqtt_connect_received", "mqtt_connack_accepted_sent", "mqtt_connack_sent",
		"mqtt_connack_bad_credentials_sent", "mqtt_connack_identifier_rejected_sent", "mqtt_connack_not_authorized_sent",
		"mqtt_connack_server_unavailable_sent", "mqtt_connack_unacceptable_protocol_sent",
		"locust_users", "locust_slaves_count", "locust_running", "locust_requests_current_rps",
		"locust_requests_current_fail_per_sec", "locust_requests_avg_response_time", "locust_requests_median_response_time"},
	"overview": {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "machine_cpu_cores", "kube_pod_info", "kube_pod_container_resource_limits", "kube_node_labels"},
}

func snapshot(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if len(out) < 50 {
		t.Fatalf("%s has %d names; the snapshot is broken", file, len(out))
	}
	return out
}

// TestMetricNamesExist checks that every metric a query names is one its
// exporter exposes: Redis' and PostgreSQL's against the snapshots of the
// real exporters, the others against the cited names.
func TestMetricNamesExist(t *testing.T) {
	known := map[string][]string{}
	for k, v := range cited {
		known[k] = v
	}
	known["redis"] = snapshot(t, "redis_exporter.txt")
	known["postgres"] = snapshot(t, "postgres_exporter.txt")
	for prof, ds := range all(t) {
		for _, d := range ds {
			allowed := map[string]bool{}
			names, ok := known[d.Name]
			if !ok {
				t.Errorf("%s: no metric names known for dashboard %s", prof, d.Name)
			}
			for _, n := range append(append([]string(nil), prometheusOwn...), names...) {
				allowed[n] = true
			}
			for _, p := range panelsOf(t, d.JSON) {
				for _, q := range p.Targets {
					for _, m := range metricName.FindAllStringSubmatch(q.Expr, -1) {
						if !allowed[m[1]] {
							t.Errorf("%s/%s panel %q: metric %s is not one the exporter exposes", prof, d.Name, p.Title, m[1])
						}
					}
				}
			}
		}
	}
}

// TestEveryMetricInSelectorForm makes sure the name check above sees
// every metric: outside label matchers and strings, an identifier is a
// metric only when not followed by "(" and not a PromQL keyword, and
// every query writes its metrics as name{...}.
func TestEveryMetricInSelectorForm(t *testing.T) {
	keywords := map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "count": true, "group": true, "stddev": true, "stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true, "by": true, "on": true, "and": true, "or": true, "unless": true, "group_left": true, "group_right": true, "without": true, "ignoring": true, "bool": true}
	strip := regexp.MustCompile(`\{[^}]*\}|"[^"]*"|\[[^\]]*\]`)
	grouping := regexp.MustCompile(`\b(by|on|without|ignoring|group_left|group_right) *\([a-z_, ]*\)`)
	ident := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	for prof, ds := range all(t) {
		for _, d := range ds {
			for _, p := range panelsOf(t, d.JSON) {
				for _, q := range p.Targets {
					e := grouping.ReplaceAllString(strip.ReplaceAllString(q.Expr, "{}"), "$1")
					for _, loc := range ident.FindAllStringIndex(e, -1) {
						id, rest := e[loc[0]:loc[1]], e[loc[1]:]
						if keywords[id] || strings.HasPrefix(strings.TrimLeft(rest, " "), "(") || strings.HasPrefix(rest, "{") {
							continue
						}
						t.Errorf("%s/%s panel %q: %q in %s is not in selector form", prof, d.Name, p.Title, id, q.Expr)
					}
				}
			}
		}
	}
}

// TestStrictDecodeRefusesUnknownFields proves the decoder above is strict.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	var dash sdk.Dashboard
	if err := strictDecode(&dash, []byte(`{"title":"x","uid":"x","schemaVersion":41,"panels":[],"colour":"red"}`)); err == nil {
		t.Fatal("an unknown field decoded without error")
	}
}
