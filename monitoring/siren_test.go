package monitoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/profiles"
)

// The siren: the alert rules minimal-3az renders for Redis (RedisDown) and
// PostgreSQL (PostgresNoLeader), loaded into the pinned Prometheus server
// (monitoring/tools) that scrapes Debian's redis_exporter and
// postgres_exporter in front of a real redis-server and PostgreSQL 15, all
// on loopback; Debian's Alertmanager delivers to an httptest webhook. Each
// datastore is stopped (the firing alert must arrive) and started again
// (the resolution must arrive).
//
// Test-only changes to the rendered rules, and why:
//   - `for:` is shortened to sirenFor (rendered: 5m for RedisDown, 2m for
//     PostgresNoLeader), so that the test ends in seconds; the expression,
//     labels and annotations are the rendered ones, unchanged.
//   - only the rules that apply to a standalone server are loaded:
//     RedisClusterStateNotOK needs CLUSTER INFO (a cluster node) and
//     RedisMasterWithoutReplica / PostgresReplicationLag need replicas.
//
// The Alertmanager configuration is a test variant with a single webhook
// receiver: the rendered one reads its URLs from files (url_file), which
// Debian's Alertmanager 0.25 rejects (amtool 0.35 checks the rendered one
// in package profiles), and the rendered routes send to the receivers'
// Secret, which does not exist here.
//
// The Debian exporters are older than the images the components deploy
// (redis_exporter 1.45 and postgres_exporter 0.11 here, 1.67.0 and 0.17.1
// in the cluster): the test shows that the rules' metric names exist and
// behave in those versions too; the images' metric names are cited in
// components/redis/alerts.go and components/postgres/alerts.go.
const sirenFor = "2s"

// sirenDeadline bounds the whole test; on the shared 2-core machine a run
// takes well under a minute.
const sirenDeadline = 4 * time.Minute

const pgBin = "/usr/lib/postgresql/15/bin"

// sirenRules are the rendered rules the siren loads, by group (component).
var sirenRules = map[string]string{"redis": "RedisDown", "postgres": "PostgresNoLeader"}

func TestSiren(t *testing.T) {
	tl := montools.ForTest(t)
	bins := debianPrograms(t)
	ctx, cancel := context.WithTimeout(context.Background(), sirenDeadline)
	defer cancel()
	dir := t.TempDir()

	rules, namespace := renderedSirenRules(t)

	hook := newWebhook(t)

	// Redis and its exporter.
	redisPort := freePort(t)
	redisDir := filepath.Join(dir, "redis")
	os.MkdirAll(redisDir, 0o755)
	startRedis := func() *proc {
		return start(t, "redis", dir, bins["redis-server"], "--port", fmt.Sprint(redisPort), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", redisDir)
	}
	redis := startRedis()
	waitPort(ctx, t, redisPort)
	// Flags of Debian's prometheus-redis-exporter 1.45 (its --help).
	redisExp := freePort(t)
	start(t, "redis_exporter", dir, bins["prometheus-redis-exporter"],
		"-redis.addr", fmt.Sprintf("redis://127.0.0.1:%d", redisPort), "-web.listen-address", fmt.Sprintf("127.0.0.1:%d", redisExp))

	// PostgreSQL 15 (trust authentication on loopback: a throw-away
	// cluster without credentials) and its exporter.
	pg := newPostgres(t)
	pg.start(t)
	waitPort(ctx, t, pg.port)
	// Flags of Debian's prometheus-postgres-exporter 0.11 (its --help);
	// DATA_SOURCE_NAME is its connection string variable. 0.11 has no
	// replication collector: prometheus-community/postgres_exporter's
	// collector/pg_replication.go (registered defaultEnabled; cited for the
	// image's v0.17.1 in components/postgres/alerts.go, read here at
	// upstream commit 0850b195) yields pg_replication_is_replica as
	// "CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END".
	// The test gives 0.11 that column of the same query as a custom
	// query (--extend.query-path, the format of Debian's
	// examples/queries.yaml), so that the series PostgresNoLeader reads
	// exists here with the meaning it has in the cluster.
	pgExp := freePort(t)
	queries := filepath.Join(dir, "queries.yaml")
	writeFile(t, queries, `pg_replication:
  query: "SELECT CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END AS is_replica"
  master: true
  metrics:
    - is_replica:
        usage: "GAUGE"
        description: "Indicates if the server is a replica"
`)
	pgExpProc := command(bins["prometheus-postgres-exporter"], "--web.listen-address", fmt.Sprintf("127.0.0.1:%d", pgExp),
		"--extend.query-path", queries)
	pgExpProc.Env = append(os.Environ(), fmt.Sprintf("DATA_SOURCE_NAME=postgresql://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port))
	run(t, "postgres_exporter", dir, pgExpProc)

	// Alertmanager: a single webhook receiver, short grouping windows.
	amPort := freePort(t)
	amConfig := fmt.Sprintf(`route:
  receiver: siren
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: siren
  webhook_configs:
  - url: %s
    send_resolved: true
`, hook.URL)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), amConfig)
	start(t, "alertmanager", dir, bins["prometheus-alertmanager"], "--config.file", filepath.Join(dir, "alertmanager.yml"),
		"--storage.path", filepath.Join(dir, "am-data"), "--web.listen-address", fmt.Sprintf("127.0.0.1:%d", amPort),
		"--cluster.listen-address=")

	// Prometheus: scrapes the two exporters as the jobs the rules select
	// (job and namespace labels as the rendered scrape configuration sets
	// them), evaluates every second, sends to the Alertmanager. It starts
	// without rules; they are loaded (SIGHUP) once both exporters report
	// healthy servers, so that a rule never fires on the empty series of
	// the first seconds.
	promPort := freePort(t)
	rulesPath := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesPath, "groups: []\n")
	promConfig := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
  - static_configs:
    - targets: ["127.0.0.1:%d"]
scrape_configs:
- job_name: redis
  static_configs:
  - targets: ["127.0.0.1:%d"]
    labels: {namespace: %q, pod: redis-0}
- job_name: postgres
  static_configs:
  - targets: ["127.0.0.1:%d"]
    labels: {namespace: %q, pod: postgres-0}
`, rulesPath, amPort, redisExp, namespace, pgExp, namespace)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promConfig)
	prom := start(t, "prometheus", dir, tl.Prometheus, "--config.file", filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path", filepath.Join(dir, "prom-data"), "--web.listen-address", fmt.Sprintf("127.0.0.1:%d", promPort),
		"--rules.alert.resend-delay=1s")
	api := fmt.Sprintf("http://127.0.0.1:%d", promPort)

	sel := func(job string) string { return fmt.Sprintf(`{job=%q,namespace=%q}`, job, namespace) }
	waitQuery(ctx, t, api, "redis_up"+sel("redis")+" == 1")
	waitQuery(ctx, t, api, "pg_up"+sel("postgres")+" == 1")
	waitQuery(ctx, t, api, "pg_replication_is_replica"+sel("postgres")+" == 0")

	writeFile(t, rulesPath, rules)
	if err := prom.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Both rules loaded, evaluated and inactive while the servers run.
	waitFor(ctx, t, "both rules evaluated and inactive", func() (bool, string) {
		states, err := ruleStates(api)
		if err != nil {
			return false, err.Error()
		}
		for _, name := range sirenRules {
			if states[name] != "inactive" {
				return false, fmt.Sprintf("states %v", states)
			}
		}
		return true, ""
	})
	if got := hook.all(); len(got) > 0 {
		t.Fatalf("notifications while every server runs: %v", got)
	}

	// Redis stops: RedisDown fires; it starts again: RedisDown resolves.
	redis.stop()
	hook.wait(ctx, t, "RedisDown", "firing")
	redis = startRedis()
	hook.wait(ctx, t, "RedisDown", "resolved")

	// PostgreSQL stops (fast shutdown): no instance out of recovery,
	// PostgresNoLeader fires; it starts again: it resolves.
	pg.stop()
	hook.wait(ctx, t, "PostgresNoLeader", "firing")
	pg.start(t)
	hook.wait(ctx, t, "PostgresNoLeader", "resolved")

	for _, n := range hook.all() {
		if n.labels["alertname"] != "RedisDown" && n.labels["alertname"] != "PostgresNoLeader" {
			t.Errorf("unexpected notification %v", n)
		}
	}
}

// renderedSirenRules returns the rule file the siren loads (the rendered
// groups and rules of sirenRules, with `for:` shortened to sirenFor) and
// the namespace the rules watch.
func renderedSirenRules(t *testing.T) (string, string) {
	t.Helper()
	const name = profiles.Minimal3AZ
	p, err := profiles.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Defaults()
	v.Base().Monitoring.Enabled = true
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := profiles.SynthBuilt(name, b); err != nil {
		t.Fatal(err)
	}
	type ruleFile struct {
		Groups []struct {
			Name     string           `json:"name"`
			Interval string           `json:"interval,omitempty"`
			Rules    []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	var out ruleFile
	namespace := ""
	found := map[string]bool{}
	for _, part := range b.Parts {
		if part.Dir != profiles.MonitoringDir {
			continue
		}
		po, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range po.Objects {
			cm, ok := r.Object.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			for file, data := range cm.Data {
				if !strings.HasSuffix(file, ".rules.yml") {
					continue
				}
				var f ruleFile
				if err := yaml.Unmarshal([]byte(data), &f); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				for _, g := range f.Groups {
					want, ok := sirenRules[g.Name]
					if !ok {
						continue
					}
					for _, rule := range g.Rules {
						if rule["alert"] != want {
							continue
						}
						if rule["for"] == nil {
							t.Fatalf("%s: %s has no for:", file, want)
						}
						rule["for"] = sirenFor
						if l, ok := rule["labels"].(map[string]any); ok {
							if ns, ok := l["namespace"].(string); ok {
								if namespace != "" && namespace != ns {
									t.Fatalf("rules watch namespaces %s and %s", namespace, ns)
								}
								namespace = ns
							}
						}
						g := g
						g.Rules = []map[string]any{rule}
						g.Interval = "1s"
						out.Groups = append(out.Groups, g)
						found[want] = true
					}
				}
			}
		}
	}
	for _, want := range sirenRules {
		if !found[want] {
			t.Fatalf("%s renders no rule %s with monitoring on", name, want)
		}
	}
	if namespace == "" {
		t.Fatal("the rendered rules carry no namespace label")
	}
	data, err := yaml.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), namespace
}

// debianPrograms finds the Debian programs the siren runs; missing ones
// skip the test, or fail it when IOTSTACK_REQUIRE_TOOLS is set (go tool
// mage deps installs them).
func debianPrograms(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var missing []string
	for _, prog := range []string{"redis-server", "prometheus-redis-exporter", "prometheus-postgres-exporter", "prometheus-alertmanager", "runuser"} {
		p, err := exec.LookPath(prog)
		if err != nil {
			missing = append(missing, prog)
		}
		out[prog] = p
	}
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		missing = append(missing, "postgresql-15")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("the siren needs %s (go tool mage deps installs them)", strings.Join(missing, ", "))
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return out
}

// proc is a started server: its own process group, killed at the end.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// command runs in a process group of its own (stop ends its children
// too) and is killed if the test binary dies (Pdeathsig), so that an
// interrupted run leaves no server behind.
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func start(t *testing.T, name, dir, bin string, args ...string) *proc {
	t.Helper()
	return run(t, name, dir, command(bin, args...))
}

// run starts cmd with its output in dir/<name>.log (printed when the test
// fails) and stops it at the end of the test.
func run(t *testing.T, name, dir string, cmd *exec.Cmd) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s output:\n%s", name, tail(string(b), 3000))
			}
		}
	})
	return p
}

// stop sends SIGINT to the process group (PostgreSQL's fast shutdown,
// a clean stop for the others) and SIGKILL after 10 s.
func (p *proc) stop() {
	p.once.Do(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// postgres is a PostgreSQL 15 cluster in a scratch directory the postgres
// user can reach, run as that user when the test runs as root
// (PostgreSQL refuses root).
type postgres struct {
	dir, data string
	port      int
	p         *proc
	starts    int
}

func newPostgres(t *testing.T) *postgres {
	t.Helper()
	dir, err := os.MkdirTemp("", "iotstack-siren-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	pg := &postgres{dir: dir, data: filepath.Join(dir, "data"), port: freePort(t)}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "-R", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	if out, err := pg.as(filepath.Join(pgBin, "initdb"), "-D", pg.data, "-U", "postgres", "--auth=trust", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	return pg
}

func (pg *postgres) as(bin string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	return command(bin, args...)
}

func (pg *postgres) start(t *testing.T) {
	t.Helper()
	pg.starts++
	pg.p = run(t, fmt.Sprintf("postgres-%d", pg.starts), pg.dir, pg.as(filepath.Join(pgBin, "postgres"), "-D", pg.data,
		"-p", fmt.Sprint(pg.port), "-k", pg.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"))
}

func (pg *postgres) stop() { pg.p.stop() }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 200 ms until it holds or ctx ends (the
// overall deadline): then the test fails with what was awaited and the
// last state seen.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		select {
		case <-ctx.Done():
			t.Fatalf("siren deadline (%s) passed waiting for %s; last: %s", sirenDeadline, what, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitPort(ctx context.Context, t *testing.T, port int) {
	t.Helper()
	waitFor(ctx, t, fmt.Sprintf("a listener on 127.0.0.1:%d", port), func() (bool, string) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
}

var client = &http.Client{Timeout: 5 * time.Second}

func getJSON(u string, v any) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", u, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

// waitQuery waits until the instant query returns a sample.
func waitQuery(ctx context.Context, t *testing.T, api, q string) {
	t.Helper()
	waitFor(ctx, t, "Prometheus query "+q, func() (bool, string) {
		var r struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := getJSON(api+"/api/v1/query?query="+url.QueryEscape(q), &r); err != nil {
			return false, err.Error()
		}
		return len(r.Data.Result) > 0, "no sample"
	})
}

// ruleStates returns the state of every evaluated alerting rule by name
// (a rule not yet evaluated is left out).
func ruleStates(api string) (map[string]string, error) {
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name           string    `json:"name"`
					State          string    `json:"state"`
					Health         string    `json:"health"`
					LastError      string    `json:"lastError"`
					LastEvaluation time.Time `json:"lastEvaluation"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := getJSON(api+"/api/v1/rules?type=alert", &r); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			if rule.LastError != "" {
				return nil, fmt.Errorf("rule %s: %s", rule.Name, rule.LastError)
			}
			if rule.Health == "ok" && !rule.LastEvaluation.IsZero() {
				out[rule.Name] = rule.State
			}
		}
	}
	return out, nil
}

// notification is one alert of a webhook delivery.
type notification struct {
	status string
	labels map[string]string
}

// webhook is a local receiver of Alertmanager's webhook deliveries
// (prometheus/alertmanager notify/webhook: a JSON Message of alerts, each
// with its status and labels).
type webhook struct {
	*httptest.Server
	mu   sync.Mutex
	got  []notification
	errs []string
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Alerts []struct {
				Status string            `json:"status"`
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		err := json.NewDecoder(r.Body).Decode(&msg)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil {
			h.errs = append(h.errs, err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, a := range msg.Alerts {
			h.got = append(h.got, notification{status: a.Status, labels: a.Labels})
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *webhook) all() []notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notification(nil), h.got...)
}

// wait waits for a delivery of the alert with the status; a firing one
// must carry the rendered rule's labels (severity, component, namespace).
func (h *webhook) wait(ctx context.Context, t *testing.T, alert, status string) {
	t.Helper()
	waitFor(ctx, t, fmt.Sprintf("a %s %s notification at the webhook", status, alert), func() (bool, string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.errs) > 0 {
			t.Fatalf("webhook: %v", h.errs)
		}
		for _, n := range h.got {
			if n.labels["alertname"] == alert && n.status == status {
				if n.labels["severity"] == "" || n.labels["component"] == "" || n.labels["namespace"] == "" {
					t.Fatalf("%s %s without the rendered labels: %v", status, alert, n.labels)
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("received %v", h.got)
	})
}
