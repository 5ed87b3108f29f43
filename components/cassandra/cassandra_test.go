package cassandra

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func synth(t *testing.T, cfg Config, keyspaces ...KeyspaceSpec) (*stack.Stack, *Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	s, out := stacktest.Build(t, func(s *stack.Stack) (err error) {
		if h, err = New(s, cfg); err != nil {
			return err
		}
		for _, k := range keyspaces {
			if _, err := h.Keyspace(k); err != nil {
				return err
			}
		}
		return nil
	})
	return s, h, out
}

func TestGolden(t *testing.T) {
	_, _, out := synth(t, Config{Pool: "main"}, KeyspaceSpec{Name: "thingsboard", ReadConsistency: Quorum, WriteConsistency: Quorum})
	stacktest.Golden(t, filepath.Join("testdata", "golden"), out, *update, "run `go test ./components/cassandra -update` and review the diff")
}

// TestRackPerZone: one node per zone, its rack is its zone, and every
// rack's first node is a seed.
func TestRackPerZone(t *testing.T) {
	s, h, out := synth(t, Config{Pool: "main"})
	pods, err := stacktest.Schedule(s.Topology(), out)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range h.nodes {
		set := strings.TrimSuffix(n.Pod, "-0")
		if len(pods[set]) != 1 || pods[set][0].Zone != n.Zone {
			t.Errorf("%s planned in %s, scheduled %v", n.Pod, n.Zone, pods[set])
		}
		if !n.Seed {
			t.Errorf("%s is the only node of its rack but not a seed", n.Pod)
		}
	}
	yaml := cassandraYAML(h.cfg, []string{"a:7000", "b:7000", "c:7000"})
	for _, want := range []string{"endpoint_snitch: GossipingPropertyFileSnitch", `- seeds: "a:7000,b:7000,c:7000"`, "num_tokens: 16", "authenticator: PasswordAuthenticator"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("cassandra.yaml lacks %q", want)
		}
	}
	if !strings.Contains(startScript, `rack=%s`) {
		t.Error("the start script does not write the rack")
	}
}

func TestSixNodes(t *testing.T) {
	topo := stacktest.ThreeZones()
	topo.Pools[0].NodesPerZone = 2
	s := stacktest.NewStack(t, topo)
	h, err := New(s, Config{Nodes: 6, Pool: "main"})
	if err != nil {
		t.Fatal(err)
	}
	seeds := 0
	for _, n := range h.nodes {
		if n.Seed {
			seeds++
		}
	}
	if seeds != 3 || len(h.nodes) != 6 {
		t.Fatalf("%d nodes with %d seeds; want 6 with one seed per rack", len(h.nodes), seeds)
	}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	pods, err := stacktest.Schedule(topo, out)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, ps := range pods {
		for _, p := range ps {
			if strings.HasPrefix(p.Name, "cassandra-") {
				if hosts[p.Node] {
					t.Errorf("two Cassandra nodes on %s", p.Node)
				}
				hosts[p.Node] = true
			}
		}
	}
}

func TestKeyspaces(t *testing.T) {
	_, h, out := synth(t, Config{}, KeyspaceSpec{Name: "thingsboard"})
	ks := h.Keyspaces()
	if len(ks) != 1 || ks[0].ReplicationFactor != 3 || ks[0].ReadConsistency != LocalQuorum || ks[0].Datacenter != "datacenter1" {
		t.Fatalf("keyspaces %+v", ks)
	}
	script := h.script.Data["schema.sh"]
	for _, want := range []string{"KEYSPACES=(thingsboard=3)", "ensure system_auth", "repair --full", "ALTER ROLE cassandra WITH PASSWORD"} {
		if !strings.Contains(script, want) {
			t.Errorf("schema.sh lacks %q", want)
		}
	}
	first := h.Schema.Name
	if _, err := h.Keyspace(KeyspaceSpec{Name: "dojot", ReplicationFactor: 2, ReadConsistency: One, WriteConsistency: One}); err != nil {
		t.Fatal(err)
	}
	if h.Schema.Name == first || !strings.HasPrefix(h.Schema.Name, "cassandra-schema-") {
		t.Errorf("a changed schema keeps the Job name %s: a finished Job would never run it", h.Schema.Name)
	}
	if len(out.Objects) == 0 {
		t.Fatal("nothing synthesized")
	}
}

func TestKeyspaceValidation(t *testing.T) {
	cases := []struct {
		spec KeyspaceSpec
		want string
	}{
		{KeyspaceSpec{Name: "Thingsboard"}, `keyspace name "Thingsboard"`},
		{KeyspaceSpec{Name: "system_x"}, `not starting with "system"`},
		{KeyspaceSpec{Name: "tb", ReplicationFactor: 4}, "keyspace tb: replicationFactor 4; must be 1 to 3"},
		{KeyspaceSpec{Name: "tb", ReplicationFactor: 2, ReadConsistency: Quorum}, "readConsistency QUORUM with replication factor 2 needs 2 of 2 replicas: no fault tolerance"},
		{KeyspaceSpec{Name: "tb", WriteConsistency: All}, "writeConsistency ALL fails whenever any of the 3 replicas is down"},
		{KeyspaceSpec{Name: "tb", ReplicationFactor: 1, ReadConsistency: One, WriteConsistency: Two}, "writeConsistency TWO needs 2 replicas but the replication factor is 1"},
		{KeyspaceSpec{Name: "tb", ReadConsistency: "SERIAL"}, `readConsistency "SERIAL"; allowed`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			s := stacktest.NewStack(t, stacktest.ThreeZones())
			h, err := New(s, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Keyspace(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want %q", err, tc.want)
			}
		})
	}
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	h, _ := New(s, Config{})
	h.Keyspace(KeyspaceSpec{Name: "tb"})
	if _, err := h.Keyspace(KeyspaceSpec{Name: "tb"}); err == nil || !strings.Contains(err.Error(), `keyspace "tb" is declared twice`) {
		t.Errorf("duplicate keyspace: %v", err)
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"heap above limit", Config{MaxHeapMiB: 4096}, "cassandra: maxHeapMiB 4096; must be 256 to 3072"},
		{"new heap above max", Config{NewHeapMiB: 2048}, "cassandra: newHeapMiB 2048; must be 32 or more and below maxHeapMiB 2048"},
		{"memory overflow", Config{Resources: stack.FromLimits(resource.MustParse("3"), resource.MustParse("1e20"))}, "cassandra.resources.memoryRequest: 100e18; allowed at most 64Ti"},
		{"digest without tag", Config{Image: "cassandra@sha256:" + strings.Repeat("e", 64)}, `cassandra: image: "cassandra@sha256:eee`},
		{"tokens", Config{NumTokens: 512}, "cassandra: numTokens 512; allowed 1 to 256"},
		{"datacenter", Config{Datacenter: "dc 1"}, `cassandra: datacenter "dc 1"`},
		{"cluster name", Config{ClusterName: "it's"}, `cassandra: clusterName "it's"`},
		{"nodes", Config{Nodes: -2}, "cassandra: nodes -2; allowed 1 to 100"},
		{"too many per zone", Config{Nodes: 4}, "cassandra: nodes 4 put 2 in a zone, which has 1 hosts"},
		{"drain", Config{DrainSeconds: 5}, "cassandra: drainSeconds 5; allowed 30 to 3600"},
		{"pool", Config{Pool: "db"}, `cassandra: pool: topology: no node pool "db"`},
		{"storage", Config{Data: stack.Storage{Size: resource.MustParse("-5Gi")}}, "cassandra.data.size: -5Gi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, tc.cfg); return err }, tc.want)
		})
	}
}

func TestScriptsParse(t *testing.T) {
	_, _, out := synth(t, Config{}, KeyspaceSpec{Name: "thingsboard"})
	stacktest.CheckScripts(t, out)
}

// TestSchemaScriptLogic runs the schema script with stub cqlsh and
// nodetool programs that keep keyspace state in files: a first run sets
// the password, replicates the system keyspaces and creates the keyspace;
// a second run changes nothing; a changed replication factor alters the
// keyspace and repairs it on every node.
func TestSchemaScriptLogic(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	state := filepath.Join(dir, "state")
	os.MkdirAll(bin, 0o755)
	os.MkdirAll(state, 0o755)
	// cqlsh HOST PORT -u USER --credentials FILE [--request-timeout=N] [-e STMT];
	// without -e the statement comes on stdin. Every argv is recorded.
	cqlsh := `#!/bin/bash
S="` + state + `"
echo "$*" >> "$S/argv"
creds=""; stmt=""
while [ $# -gt 0 ]; do case "$1" in --credentials) creds="$2"; shift 2 ;; -e) stmt="$2"; shift 2 ;; *) shift ;; esac; done
[ -n "$stmt" ] || stmt="$(cat)"
pass="$(sed -n 's/^password = //p' "$creds")"
if [ ! -f "$S/password" ]; then echo cassandra > "$S/password"; fi
[ "$pass" = "$(cat "$S/password")" ] || { echo "AuthenticationFailed" >&2; exit 1; }
echo "$stmt" >> "$S/log"
case "$stmt" in
  "SELECT release_version"*) echo " 5.0.5"; echo "(1 rows)" ;;
  "ALTER ROLE cassandra WITH PASSWORD = '"*) p="${stmt#*\'}"; echo "${p%%\'*}" > "$S/password" ;;
  "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = '"*)
    ks="${stmt#*= \'}"; ks="${ks%\'}"
    if [ -f "$S/ks-$ks" ]; then echo " {'class': '$(cut -d' ' -f1 "$S/ks-$ks")', 'datacenter1': '$(cut -d' ' -f2 "$S/ks-$ks")'}"; echo "(1 rows)"; else echo "(0 rows)"; fi ;;
  "CREATE KEYSPACE IF NOT EXISTS "*|"ALTER KEYSPACE "*)
    ks="$(awk '{print ($1=="CREATE") ? $6 : $3}' <<< "$stmt")"
    rf="$(grep -o "'datacenter1': [0-9]*" <<< "$stmt" | grep -o '[0-9]*$')"
    echo "org.apache.cassandra.locator.NetworkTopologyStrategy $rf" > "$S/ks-$ks" ;;
esac
`
	// nodetool records its argv and the password file it was given.
	nodetool := `#!/bin/bash
echo "$*" >> "` + state + `/repairs"
while [ $# -gt 0 ]; do case "$1" in -pwf) cat "$2" >> "` + state + `/pwf"; shift 2 ;; *) shift ;; esac; done
`
	os.WriteFile(filepath.Join(bin, "cqlsh"), []byte(cqlsh), 0o755)
	os.WriteFile(filepath.Join(bin, "nodetool"), []byte(nodetool), 0o755)
	os.WriteFile(filepath.Join(state, "ks-system_auth"), []byte("org.apache.cassandra.locator.SimpleStrategy 1"), 0o644)
	os.WriteFile(filepath.Join(state, "ks-system_distributed"), []byte("org.apache.cassandra.locator.SimpleStrategy 3"), 0o644)

	hosts := []string{"c-a-0", "c-b-0", "c-c-0"}
	runScript := func(ks ...Keyspace) string {
		t.Helper()
		p := filepath.Join(dir, "schema.sh")
		os.WriteFile(p, []byte(schemaScript(hosts, "datacenter1", 3, ks)), 0o755)
		cmd := exec.Command("bash", p)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "CASSANDRA_PASSWORD=Secret1Pw", "JMX_CONTROL_PASSWORD=jmxControl1Pw")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("schema.sh: %v\n%s", err, out)
		}
		return string(out)
	}
	read := func(name string) string { b, _ := os.ReadFile(filepath.Join(state, name)); return string(b) }

	out := runScript(Keyspace{Name: "thingsboard", ReplicationFactor: 3})
	for _, want := range []string{"setting the superuser password from the Secret", "system_auth: replication other -> 3 in datacenter1; running a full repair", "system_distributed: replication other -> 3", "thingsboard: created with replication 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run lacks %q:\n%s", want, out)
		}
	}
	if read("password") != "Secret1Pw\n" {
		t.Errorf("password is %q", read("password"))
	}
	if got := strings.Count(read("repairs"), "repair --full system_auth"); got != 3 {
		t.Errorf("system_auth repaired on %d nodes, want 3:\n%s", got, read("repairs"))
	}
	os.Remove(filepath.Join(state, "repairs"))

	out = runScript(Keyspace{Name: "thingsboard", ReplicationFactor: 3})
	if strings.Contains(out, "password") || strings.Contains(out, "created") || read("repairs") != "" {
		t.Errorf("second run changed something:\n%s\nrepairs: %s", out, read("repairs"))
	}
	out = runScript(Keyspace{Name: "thingsboard", ReplicationFactor: 2})
	if !strings.Contains(out, "thingsboard: replication 3 -> 2 in datacenter1; running a full repair on every node") {
		t.Errorf("RF change:\n%s", out)
	}
	for _, h := range hosts {
		if !strings.Contains(read("repairs"), fmt.Sprintf("-h %s -p 7199 -u controlRole -pwf ", h)) || !strings.Contains(read("repairs"), "repair --full thingsboard") {
			t.Errorf("no repair on %s:\n%s", h, read("repairs"))
		}
	}
	if !strings.Contains(read("pwf"), "controlRole jmxControl1Pw\n") {
		t.Errorf("nodetool's password file holds %q; want controlRole's line", read("pwf"))
	}
	// No password on any command line or in the script's output.
	for name, text := range map[string]string{"cqlsh argv": read("argv"), "nodetool argv": read("repairs"), "output": out} {
		for _, pw := range []string{"Secret1Pw", "jmxControl1Pw"} {
			if strings.Contains(text, pw) {
				t.Errorf("password %s appears in %s:\n%s", pw, name, text)
			}
		}
	}
}

// TestJMXRoles: controlRole and monitorRole have passwords of their own;
// the exporter's containers hold monitorRole's only, and none as a
// command-line argument; the access file keeps monitorRole from creating
// or unregistering MBeans; no script passes a password as an argument.
func TestJMXRoles(t *testing.T) {
	_, _, out := synth(t, Config{})
	var jmx *stack.SecretSpec
	for i, sec := range out.Secrets {
		if sec.Name == "cassandra-jmx" {
			jmx = &out.Secrets[i]
		}
		if sec.Name == "cassandra-auth" && len(sec.Keys) != 1 {
			t.Errorf("cassandra-auth keys %+v; want only the superuser password", sec.Keys)
		}
	}
	if jmx == nil || len(jmx.Keys) != 2 || jmx.Keys[0].Key != "control-password" || jmx.Keys[1].Key != "monitor-password" {
		t.Fatalf("Secret cassandra-jmx %+v; want keys control-password and monitor-password", jmx)
	}
	refs := func(c corev1.Container) map[string]string {
		m := map[string]string{}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				m[e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key] = e.Name
			}
		}
		return m
	}
	var sets int
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *appsv1.StatefulSet:
			sets++
			spec := x.Spec.Template.Spec
			for _, c := range append(spec.InitContainers, spec.Containers...) {
				r := refs(c)
				switch c.Name {
				case "exporter":
					if len(r) != 0 {
						t.Errorf("exporter holds Secrets %v; its password is in its configuration file", r)
					}
				case "copy-config":
					if len(r) != 1 || r["cassandra-jmx/monitor-password"] == "" {
						t.Errorf("copy-config holds %v; want monitor-password only", r)
					}
				case "cassandra":
					if r["cassandra-jmx/control-password"] == "" || r["cassandra-jmx/monitor-password"] == "" {
						t.Errorf("cassandra holds %v; want both JMX passwords (it writes the password file)", r)
					}
				}
				for _, arg := range append(append([]string{}, c.Command...), c.Args...) {
					if strings.Contains(arg, "-pw \"") || strings.Contains(arg, "-p \"$") {
						t.Errorf("%s passes a password as an argument: %s", c.Name, arg)
					}
				}
			}
		case *corev1.ConfigMap:
			if x.Name != "cassandra-config" {
				continue
			}
			access := x.Data["jmxremote.access"]
			if !strings.Contains(access, "monitorRole readwrite\n") || strings.Contains(strings.SplitN(access, "\n", 2)[0], "create") {
				t.Errorf("jmxremote.access:\n%s", access)
			}
			if !strings.Contains(x.Data["start.sh"], "-Dcom.sun.management.jmxremote.access.file=") {
				t.Error("start.sh does not point the JVM at the access file: Cassandra would authorize nothing")
			}
			for name, script := range x.Data {
				for _, line := range strings.Split(script, "\n") {
					if strings.Contains(line, "PASSWORD") && !strings.Contains(line, "printf ") {
						t.Errorf("%s uses a password outside printf: %s", name, line)
					}
					if strings.Contains(line, " -pw ") || strings.Contains(line, "set -x") {
						t.Errorf("%s: %s", name, line)
					}
				}
			}
			if strings.Contains(x.Data["exporter.yml"], "password") {
				t.Error("exporter.yml in the ConfigMap mentions a password")
			}
		}
	}
	if sets == 0 {
		t.Fatal("no StatefulSet")
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("cassandra", 3, 2048, 400, "3", "4Gi", "cassandra", "datacenter1", 16, int64(300))
	f.Add("", 0, 0, 0, "", "", "", "", 0, int64(0))
	f.Add("c", 7, -1, 9999, "1m", "1Mi", "a b", "d'c", 999, int64(-1))
	f.Fuzz(func(t *testing.T, name string, nodes, maxHeap, newHeap int, cpu, mem, cluster, dc string, tokens int, drain int64) {
		cfg := Config{Name: name, Nodes: nodes, MaxHeapMiB: maxHeap, NewHeapMiB: newHeap, ClusterName: cluster, Datacenter: dc, NumTokens: tokens, DrainSeconds: drain}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}
