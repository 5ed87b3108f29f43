package redis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoPasswordInRedisLogsOrArgv starts three real servers through the
// generated start script (requirepass and masterauth written by it), forms
// a cluster with the create script, runs both probes and preStop, and then
// looks for the password everywhere it could leak: every server log (at
// loglevel verbose), every script's output (redis-cli would warn "Using a
// password with '-a'" if the scripts passed it on the command line), the
// command line of every redis-cli the scripts started (recorded by a
// wrapper) and of every server process (/proc/<pid>/cmdline).
func TestNoPasswordInRedisLogsOrArgv(t *testing.T) {
	server, cli := requireRedis(t)
	const password = "LeakCheck-Pw7x"
	dir := t.TempDir()
	argvLog := filepath.Join(dir, "argv.log")
	wrapper := filepath.Join(dir, "cli")
	os.WriteFile(wrapper, []byte(fmt.Sprintf("#!/bin/bash\nprintf '%%s\\n' \"$*\" >> %q\nexec %q \"$@\"\n", argvLog, cli)), 0o755)

	var addrs, logs []string
	var servers []*exec.Cmd
	for i := 0; i < 3; i++ {
		port := 17401 + i
		node := filepath.Join(dir, fmt.Sprint(i))
		os.MkdirAll(filepath.Join(node, "config"), 0o755)
		os.MkdirAll(filepath.Join(node, "data"), 0o755)
		logFile := filepath.Join(node, "server.log")
		base := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\ncluster-enabled yes\ncluster-config-file %s/nodes.conf\ncluster-node-timeout 2000\nappendonly no\nsave \"\"\nloglevel verbose\nlogfile %s\n",
			port, filepath.Join(node, "data"), filepath.Join(node, "data"), logFile)
		os.WriteFile(filepath.Join(node, "config", "valkey.conf"), []byte(base), 0o644)
		start := startScript(".test")
		start = strings.ReplaceAll(start, "/config/valkey.conf", filepath.Join(node, "config", "valkey.conf"))
		start = strings.ReplaceAll(start, "/tmp/valkey.conf", filepath.Join(node, "valkey.conf"))
		start = strings.ReplaceAll(start, "/data/nodes.conf", filepath.Join(node, "data", "nodes.conf"))
		start = strings.Replace(start, "exec valkey-server", "exec "+server, 1)
		path := filepath.Join(node, "start.sh")
		os.WriteFile(path, []byte(start), 0o755)
		cmd := exec.Command("bash", path)
		cmd.Env = append(os.Environ(), "POD_NAME=node"+fmt.Sprint(i), "POD_IP=127.0.0.1", "REDIS_PASSWORD="+password)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, err := os.Create(filepath.Join(node, "start.out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			out.Close()
		})
		servers = append(servers, cmd)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
		logs = append(logs, logFile, out.Name())
	}
	for _, a := range addrs {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the start script's server at %s did not start: %v", a, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Every process the start scripts left running is a server whose
	// command line holds no password.
	for _, s := range servers {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cmdline), password) {
			t.Errorf("server command line holds the password: %q", cmdline)
		}
	}
	env := []string{"CLI=" + wrapper, "REDIS_PASSWORD=" + password}
	outputs := map[string]string{}
	out, err := run(t, createScriptFor(addrs, []clusterNode{{addrs[0], -1}, {addrs[1], -1}, {addrs[2], -1}}), env...)
	if err != nil || !strings.Contains(out, "cluster created: 3 masters, 0 replicas") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	outputs["create.sh"] = out
	// A wrong password must fail authentication: the servers do require it.
	if got, _ := run(t, probeScript, "CLI="+wrapper, "REDIS_PASSWORD=wrong", "PORT=17401"); !strings.Contains(got, "WRONGPASS") && !strings.Contains(got, "NOAUTH") && !strings.Contains(got, "invalid") {
		t.Errorf("probe with a wrong password: %q; want an authentication error", got)
	}
	// The probe's mode is its first argument; run() passes none, so the
	// alive variant is the same script with the mode fixed.
	for mode, script := range map[string]string{"ready": probeScript, "alive": strings.Replace(probeScript, `"${1:-ready}"`, `"alive"`, 1)} {
		out, err := run(t, script, append(env, "PORT=17401")...)
		if err != nil {
			t.Errorf("probe %s: %v\n%s", mode, err, out)
		}
		outputs["probe "+mode] = out
	}
	out, _ = run(t, preStopScript, append(env, "PORT=17401")...)
	outputs["prestop.sh"] = out
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		outputs[l] = string(b)
	}
	argv, _ := os.ReadFile(argvLog)
	if !strings.Contains(string(argv), "cluster") {
		t.Fatalf("the redis-cli wrapper recorded nothing:\n%s", argv)
	}
	outputs["redis-cli command lines"] = string(argv)
	if !strings.Contains(outputs[logs[0]], "Ready to accept connections") {
		t.Errorf("server log %s is not the server's log:\n%s", logs[0], outputs[logs[0]])
	}
	for place, text := range outputs {
		if strings.Contains(text, password) {
			t.Errorf("the password appears in %s", place)
		}
		if strings.Contains(text, "Using a password") {
			t.Errorf("%s: redis-cli warned about a password on its command line", place)
		}
	}
}
