package redis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests run the generated scripts against real Redis servers
// (Debian's redis-server and redis-cli; `go tool mage test` installs them).
// Valkey is a fork of Redis 7.2 and speaks the same cluster protocol and
// nodes.conf format as Redis 7.0 for everything the scripts use.

func requireRedis(t *testing.T) (server, cli string) {
	t.Helper()
	server, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("redis-server and redis-cli are required (go tool mage test installs them): %v %v", err1, err2)
		}
		t.Skip("redis-server or redis-cli not installed; `go tool mage test` installs them")
	}
	return server, cli
}

// startNodes starts n cluster-enabled servers on loopback with a password
// and returns their addresses.
func startNodes(t *testing.T, server string, n, basePort int, password string) []string {
	t.Helper()
	var addrs []string
	for i := 0; i < n; i++ {
		port := basePort + i
		dir := t.TempDir()
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 2000\nappendonly no\nsave \"\"\nrequirepass %s\nmasterauth %s\n", port, dir, password, password)
		path := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(server, path)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	// Wait until every server listens.
	for _, a := range addrs {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis-server at %s did not start: %v", a, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

func run(t *testing.T, script string, env ...string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", path)
	cmd.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("script did not finish in 90 s:\n%s", out)
	}
	return string(out), err
}

func redisCLI(t *testing.T, cli, addr, password string, args ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(cli, append([]string{"--no-auth-warning", "-h", host, "-p", port}, args...)...)
	cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.ReplaceAll(string(out), "\r", "")
}

// TestCreateScriptAgainstRedis forms a 3-master, 3-replica cluster with the
// generated create script, checks every replica follows its planned
// master, runs the script again (nothing to do), and probes the nodes.
func TestCreateScriptAgainstRedis(t *testing.T) {
	server, cli := requireRedis(t)
	const password = "s3cret-Pass"
	addrs := startNodes(t, server, 6, 17301, password)
	masters := addrs[:3]
	nodes := []clusterNode{
		{addrs[0], -1}, {addrs[1], -1}, {addrs[2], -1},
		{addrs[3], 2}, {addrs[4], 0}, {addrs[5], 1}, // the ThingsBoard article's pod table's pairing
	}
	script := createScriptFor(masters, nodes)
	env := []string{"CLI=" + cli, "REDIS_PASSWORD=" + password}

	out, err := run(t, script, env...)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if !strings.Contains(out, "cluster created: 3 masters, 3 replicas") {
		t.Fatalf("create output:\n%s", out)
	}
	ids := map[string]string{}
	for _, a := range addrs {
		ids[a] = strings.TrimSpace(redisCLI(t, cli, a, password, "cluster", "myid"))
	}
	for _, n := range nodes[3:] {
		info := redisCLI(t, cli, n.addr, password, "info", "replication")
		if !strings.Contains(info, "role:slave") {
			t.Errorf("%s is not a replica:\n%s", n.addr, info)
		}
		myself := ""
		for _, line := range strings.Split(redisCLI(t, cli, n.addr, password, "cluster", "nodes"), "\n") {
			if strings.Contains(line, "myself") {
				myself = line
			}
		}
		if f := strings.Fields(myself); len(f) < 4 || f[3] != ids[masters[n.replicaOf]] {
			t.Errorf("%s follows %q, want master %s (%s)", n.addr, myself, masters[n.replicaOf], ids[masters[n.replicaOf]])
		}
	}
	again, err := run(t, script, env...)
	if err != nil || !strings.Contains(again, "nothing to do") {
		t.Fatalf("second run: %v\n%s", err, again)
	}

	// preStop on master 0 hands its role to its replica (addrs[4]).
	_, port, _ := strings.Cut(masters[0], ":")
	if out, err := run(t, preStopScript, append(env, "PORT="+port)...); err != nil {
		t.Fatalf("prestop: %v\n%s", err, out)
	}
	if role := redisCLI(t, cli, masters[0], password, "role"); !strings.HasPrefix(role, "slave") {
		t.Errorf("after preStop the old master's role is %q; want slave", strings.SplitN(role, "\n", 2)[0])
	}
	if role := redisCLI(t, cli, addrs[4], password, "role"); !strings.HasPrefix(role, "master") {
		t.Errorf("after preStop its replica's role is %q; want master", strings.SplitN(role, "\n", 2)[0])
	}
	// On a replica, preStop does nothing.
	if out, err := run(t, preStopScript, append(env, "PORT="+port)...); err != nil {
		t.Fatalf("prestop on a replica: %v\n%s", err, out)
	}
	if role := redisCLI(t, cli, masters[0], password, "role"); !strings.HasPrefix(role, "slave") {
		t.Errorf("preStop on a replica changed its role to %q", role)
	}
}

// TestCreateScriptRefusesPartialCluster: nodes that already know each
// other without a complete slot map are left alone, with a clear error.
func TestCreateScriptRefusesPartialCluster(t *testing.T) {
	server, cli := requireRedis(t)
	const password = "pw-Partial1"
	addrs := startNodes(t, server, 4, 17321, password)
	// Two nodes meet but no slots are assigned.
	_, port, _ := strings.Cut(addrs[1], ":")
	redisCLI(t, cli, addrs[0], password, "cluster", "meet", "127.0.0.1", port)
	time.Sleep(time.Second)
	script := createScriptFor(addrs[:3], []clusterNode{{addrs[0], -1}, {addrs[1], -1}, {addrs[2], -1}, {addrs[3], 0}})
	out, err := run(t, script, "CLI="+cli, "REDIS_PASSWORD="+password)
	if err == nil || !strings.Contains(out, "already belongs to a partly formed cluster; not touching it") {
		t.Fatalf("partial cluster: %v\n%s", err, out)
	}
}

// TestProbeScript runs the probe against a real node before and after it
// is part of a healthy cluster.
func TestProbeScript(t *testing.T) {
	server, cli := requireRedis(t)
	const password = "pw-Probe1"
	addrs := startNodes(t, server, 3, 17331, password)
	_, port, _ := strings.Cut(addrs[0], ":")
	env := []string{"CLI=" + cli, "REDIS_PASSWORD=" + password, "PORT=" + port}
	probe := func(mode string) error {
		path := filepath.Join(t.TempDir(), "probe.sh")
		os.WriteFile(path, []byte(probeScript), 0o755)
		cmd := exec.Command("bash", path, mode)
		cmd.Env = append(os.Environ(), env...)
		return cmd.Run()
	}
	for i := 0; i < 50 && probe("alive") != nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if err := probe("alive"); err != nil {
		t.Fatalf("alive before the cluster exists: %v", err)
	}
	if err := probe("ready"); err == nil {
		t.Fatal("ready before the cluster exists")
	}
	out, err := run(t, createScriptFor(addrs, []clusterNode{{addrs[0], -1}, {addrs[1], -1}, {addrs[2], -1}}), "CLI="+cli, "REDIS_PASSWORD="+password)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if err := probe("ready"); err != nil {
		t.Fatalf("not ready in a healthy cluster: %v", err)
	}
	wrong := []string{"CLI=" + cli, "REDIS_PASSWORD=wrong", "PORT=" + port}
	path := filepath.Join(t.TempDir(), "probe.sh")
	os.WriteFile(path, []byte(probeScript), 0o755)
	cmd := exec.Command("bash", path, "alive")
	cmd.Env = append(os.Environ(), wrong...)
	if cmd.Run() == nil {
		t.Fatal("alive with a wrong password")
	}
}

// TestRepairNodesConf runs the nodes.conf repair with a stub getent: every
// node that has a DNS name gets the IP the name resolves to now, this node
// gets POD_IP, and names that do not resolve keep their IP.
func TestRepairNodesConf(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	getent := `#!/bin/bash
case "$2" in
  redis-b-0.redis-headless.iot.svc.cluster.local) echo "10.0.2.9       $2" ;;
  redis-c-0.redis-headless.iot.svc.cluster.local) echo "fd00::7        $2" ;;
  *) exit 2 ;;
esac
`
	os.WriteFile(filepath.Join(bin, "getent"), []byte(getent), 0o755)
	conf := filepath.Join(dir, "nodes.conf")
	os.WriteFile(conf, []byte(`aaa 10.0.1.1:6379@16379,redis-a-0.redis-headless.iot.svc.cluster.local myself,master - 0 0 1 connected 0-5460
bbb 10.0.1.2:6379@16379,redis-b-0.redis-headless.iot.svc.cluster.local master - 0 1700000000000 2 connected 5461-10922
ccc 10.0.1.3:6379@16379,redis-c-0.redis-headless.iot.svc.cluster.local,shard-id=abc master - 0 1700000000000 3 connected 10923-16383
ddd 10.0.1.4:6379@16379,redis-a-1.redis-headless.iot.svc.cluster.local slave bbb 0 1700000000000 2 connected
eee 10.0.1.5:6379@16379 slave ccc 0 1700000000000 3 connected
vars currentEpoch 3 lastVoteEpoch 0
`), 0o644)
	script := "#!/bin/bash\nset -euo pipefail\n" + repairFunction + "repair_nodes_conf " + conf + "\n"
	out, err := run(t, script, "PATH="+bin+":"+os.Getenv("PATH"), "POD_IP=10.0.9.1")
	if err != nil {
		t.Fatalf("repair: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(conf)
	want := `aaa 10.0.9.1:6379@16379,redis-a-0.redis-headless.iot.svc.cluster.local myself,master - 0 0 1 connected 0-5460
bbb 10.0.2.9:6379@16379,redis-b-0.redis-headless.iot.svc.cluster.local master - 0 1700000000000 2 connected 5461-10922
ccc fd00::7:6379@16379,redis-c-0.redis-headless.iot.svc.cluster.local,shard-id=abc master - 0 1700000000000 3 connected 10923-16383
ddd 10.0.1.4:6379@16379,redis-a-1.redis-headless.iot.svc.cluster.local slave bbb 0 1700000000000 2 connected
eee 10.0.1.5:6379@16379 slave ccc 0 1700000000000 3 connected
vars currentEpoch 3 lastVoteEpoch 0
`
	if string(got) != want {
		t.Fatalf("nodes.conf after repair:\n%s\nwant:\n%s", got, want)
	}
}

// TestServerConfigAccepted starts a real server on the generated
// configuration plus what the start script appends.
func TestServerConfigAccepted(t *testing.T) {
	server, cli := requireRedis(t)
	cfg := Config{AppendOnly: true}
	cfg.Default()
	dir := t.TempDir()
	conf := serverConfig(cfg)
	conf = strings.Replace(conf, "port 6379", "port 17341", 1)
	conf = strings.Replace(conf, "dir /data", "dir "+dir, 1)
	conf = strings.Replace(conf, "cluster-config-file /data/nodes.conf", "cluster-config-file "+dir+"/nodes.conf", 1)
	conf = strings.Replace(conf, "bind * -::*", "bind 127.0.0.1", 1)
	conf += "cluster-announce-hostname redis-a-0.redis-headless.iot.svc.cluster.local\ncluster-announce-ip 127.0.0.1\nrequirepass pw-Config1\nmasterauth pw-Config1\n"
	path := filepath.Join(dir, "valkey.conf")
	os.WriteFile(path, []byte(conf), 0o600)
	cmd := exec.Command(server, path)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var got string
	for i := 0; i < 50; i++ {
		c := exec.Command(cli, "--no-auth-warning", "-p", "17341", "-a", "pw-Config1", "config", "get", "maxmemory-policy")
		out, _ := c.CombinedOutput()
		if got = string(out); strings.Contains(got, "allkeys-lru") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(got, "allkeys-lru") {
		t.Fatalf("the server did not start on the generated configuration: %s\n%s", got, stderr.String())
	}
	info := redisCLI(t, cli, "127.0.0.1:17341", "pw-Config1", "config", "get", "appendonly")
	if !strings.Contains(info, "yes") {
		t.Errorf("appendonly: %s", info)
	}
}
