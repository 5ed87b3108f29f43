//go:build mage

// iotstack's targets; run them with go tool mage TARGET (Mage is pinned in go.mod).
package main

// Targets are thin: they parse arguments, call a library function and
// print. The logic lives in packages that tests and other programs import.
//
// Mage checks (go build) every package this file imports before each
// target, so it imports only cli/core, what synth needs: the cluster verbs
// run `go tool iotstack-cluster`, and schemas, validate, sim and e2e run
// `go run ./internal/devtool`, each checking its own packages only when
// used. That keeps `go tool mage synth` near the cost of the synthesis.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/iotstack/iotstack/cli/core"
)

// distDir is where synthesized profiles are committed.
const distDir = "dist"

// magefile targets, for folding key=value options into their argument.
var targetNames = []string{"synth", "plan", "deps", "test", "monitoringtools", "s3tools", "schemas", "validate", "preflight", "apply", "diff", "delete", "sim", "drill", "e2e", "bench"}

func init() {
	// Mage targets take a fixed number of arguments; fold the key=value
	// options that follow a target's argument into it (core.FoldMageArgs).
	os.Args = core.FoldMageArgs(os.Args, targetNames)
}

// Synth writes dist/<profile>/ (or out=DIR) from the profile and its values: `synth profile=minimal-3az`, `synth all`, `synth profile=small values=prod.yaml namespace=lab out=deploy/lab`.
func Synth(profile string) error {
	return core.RunMage("synth", profile, nil, os.Stdout, os.Stderr)
}

// Plan prints a profile's capacity and cost plan (pods per zone, node totals, zone-loss check, monthly cost): `plan profile=minimal-3az`, `plan profile=minimal-3az values=envs/us-east-1.yaml format=markdown` (format: table, markdown, json, svg).
func Plan(profile string) error {
	return core.RunMage("plan", profile, nil, os.Stdout, os.Stderr)
}

// testPackages are the Debian packages whose programs the tests run for
// real, keyed by a program (or path) each provides: the Redis Cluster
// scripts run against redis-server, the PostgreSQL scripts against
// PostgreSQL 15 and PgBouncer, the Patroni REST API authentication against
// Patroni, the dojot load-balancer configurations through nginx -t and
// haproxy -c, the e2e MQTT smoke clients against Mosquitto, the monitoring
// siren (monitoring/siren_test.go) through Debian's Alertmanager and the
// Redis and PostgreSQL exporters, the PostgreSQL restore drill through
// barman-cloud (boto3) against versitygw, and the dojot node scripts
// (dist/<profile>/cluster/prepare-node.sh) through ShellCheck.
var testPackages = map[string]string{
	"redis-server":                      "redis-server",
	"redis-cli":                         "redis-tools",
	"/usr/lib/postgresql/15/bin/initdb": "postgresql-15",
	"psql":                              "postgresql-client",
	"pgbouncer":                         "pgbouncer",
	"patroni":                           "patroni",
	"nginx":                             "nginx",
	"/usr/lib/nginx/modules/ngx_stream_module.so": "libnginx-mod-stream",
	"haproxy":                      "haproxy",
	"/usr/sbin/mosquitto":          "mosquitto",
	"prometheus-alertmanager":      "prometheus-alertmanager",
	"prometheus-redis-exporter":    "prometheus-redis-exporter",
	"prometheus-postgres-exporter": "prometheus-postgres-exporter",
	// The PostgreSQL restore drill (components/postgres): WAL archiving,
	// base backup and point-in-time restore against versitygw on loopback
	// (barman-cloud uses boto3; internal/s3test's tests read with it too).
	"barman-cloud-backup":                  "barman-cli-cloud",
	"/usr/lib/python3/dist-packages/boto3": "python3-boto3",
	// The Cassandra backup and restore scripts (components/cassandra) and
	// dojot's MongoDB and MinIO ones (components/dojotbackup) upload and
	// download with rclone against versitygw on loopback.
	"rclone":     "rclone",
	"shellcheck": "shellcheck",
	// The dojot load test's certificate export (components/locust) runs
	// with Python 3's redis module against redis-server.
	"/usr/lib/python3/dist-packages/redis": "python3-redis",
	// The e2e LwM2M client's CoAP messages (e2e/coap.go) against libcoap's
	// coap-rd and coap-server, and coap-client's decoded, on loopback.
	"/usr/bin/coap-rd-notls": "libcoap3-bin",
	// The zone-loss drill (mage drill, run by mage test) runs ZooKeeper
	// 3.8 in place of the zookeeper image (with its Java runtime).
	"/usr/share/zookeeper/bin/zkServer.sh": "zookeeper",
}

// Deps installs the Debian packages the tests run (Redis, PostgreSQL, PgBouncer, Patroni, NGINX, HAProxy, Mosquitto, Alertmanager, the Redis and PostgreSQL exporters, barman-cloud and boto3, rclone, ShellCheck, Python's redis module, libcoap) when missing.
func Deps() error { return installPackages("the tests", testPackages) }

// installPackages installs the Debian packages of the programs (or paths)
// that are missing, with sudo when not root; what names the user.
func installPackages(what string, packages map[string]string) error {
	var missing []string
	for prog, pkg := range packages {
		if filepath.IsAbs(prog) {
			if _, err := os.Stat(prog); err != nil {
				missing = append(missing, pkg)
			}
		} else if _, err := exec.LookPath(prog); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	apt := []string{}
	if os.Geteuid() != 0 {
		if err := exec.Command("sudo", "-n", "true").Run(); err != nil {
			return fmt.Errorf("%s need the Debian packages %s; install them (apt-get install %s) or run as root", what, strings.Join(missing, ", "), strings.Join(missing, " "))
		}
		apt = append(apt, "sudo", "-n")
	}
	if err := run(append(apt, "apt-get", "update", "-qq")[0], append(apt, "apt-get", "update", "-qq")[1:]...); err != nil {
		return err
	}
	install := append(apt, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends")
	install = append(install, missing...)
	return run(install[0], install[1:]...)
}

// Test runs the whole suite: gofmt, go vet and every Go test (golden dist/, examples, fuzz seeds).
func Test() error {
	mg.Deps(Deps, MonitoringTools, S3Tools)
	// With the tools installed, a test that needs one fails rather than skips.
	os.Setenv("IOTSTACK_REQUIRE_TOOLS", "1")
	out, err := exec.Command("gofmt", "-l", ".").CombinedOutput()
	if err != nil {
		return fmt.Errorf("gofmt: %v\n%s", err, out)
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		return fmt.Errorf("gofmt would change these files (run gofmt -w):\n%s", files)
	}
	if err := run("go", "vet", "./..."); err != nil {
		return err
	}
	if err := run("go", "test", "./..."); err != nil {
		return err
	}
	// The kubeadm configuration decoded strictly with kubeadm's own types,
	// from the tools module that already requires k8s.io/kubernetes.
	if err := run("go", "-C", "test/tools/kubernetes", "test", "-mod=readonly", "./kubeadmcheck/"); err != nil {
		return err
	}
	// Every profile on the simulated cluster (the first run builds the
	// control plane, etcd and kwok: about 20 minutes on two cores).
	if err := Sim(context.Background(), "all"); err != nil {
		return err
	}
	// A user's environment: minimal-3az in us-east-1 on m7g.xlarge behind a
	// registry mirror, its simulated nodes from the values' topology, its
	// monitoring (on by default, as in every profile) placed, ready through
	// the zone drill, and every scrape target found by promtool check
	// service-discovery against the simulated API server.
	if err := Sim(context.Background(), "profile=minimal-3az"+core.MageArgSep+"values=envs/us-east-1.yaml"); err != nil {
		return err
	}
	// Every day-2 option on (envs/day2.yaml): PostgreSQL and Cassandra
	// backups, whose backup, restore and drill CronJobs each start a Job
	// whose pod must be scheduled beside everything else, and every UI.
	if err := Sim(context.Background(), "profile=minimal-3az"+core.MageArgSep+"values=envs/day2.yaml"); err != nil {
		return err
	}
	// dojot's other agents and its new GUI (envs/dojot-agents.yaml): small
	// with Mosca, the LwM2M agent (its UDP NodePorts 30006-30010) and
	// gui-v2 scheduled on its one worker, and a second stack beside it on
	// NodePorts of its own.
	if err := Sim(context.Background(), "profile=small"+core.MageArgSep+"values=envs/dojot-agents.yaml"); err != nil {
		return err
	}
	// The guide's two other agent choices: VerneMQ with the LwM2M agent,
	// and Mosca alone (VerneMQ alone is small's default, run above), the
	// latter with the guide's other switches on (envs/dojot-switches.yaml:
	// mutual TLS, kafka-ws TLS, auth's e-mail, two x509-identity-mgmt
	// replicas).
	if err := Sim(context.Background(), "profile=small"+core.MageArgSep+"set=agents=vernemq+lwm2m"); err != nil {
		return err
	}
	if err := Sim(context.Background(), "profile=small"+core.MageArgSep+"values=envs/dojot-switches.yaml"); err != nil {
		return err
	}
	// The zone-loss drill for real, every profile: the data tier's own
	// servers (Debian's ZooKeeper, Redis, Patroni, PostgreSQL, PgBouncer)
	// in network namespaces from the rendered configuration, the profile
	// applied on a simulated cluster whose first zone is drained (as root:
	// network and mount namespaces).
	if err := Drill(context.Background(), "all"); err != nil {
		return err
	}
	// Broken configurations make the drill fail naming the rendered
	// object (a wrong ZooKeeper server name, a Patroni Role without its
	// endpoints rule), and the harness removes all it made.
	return runEnv([]string{"IOTSTACK_DRILL=1"}, "go", "test", "-count=1", "-timeout", "20m", "-run", "^(TestZooKeeperWrongServerName|TestPatroniRoleWithoutEndpoints|TestPoolerWrongServiceHost|TestServiceProxyBetweenPods|TestHarnessCleanup)$", "./drill/")
}

// MonitoringTools builds promtool, amtool and prometheus from test/tools/monitoring (once, into the user cache directory; about three minutes cold).
func MonitoringTools() error {
	return devtool("monitoringtools")
}

// S3Tools builds versitygw from test/tools/s3 (once, into the user cache directory; about a minute cold): the S3 server of the backup and restore tests.
func S3Tools() error {
	return devtool("s3tools")
}

// Schemas generates the Kubernetes OpenAPI schemas validation uses (once, into the user cache directory).
func Schemas() error {
	return devtool("schemas")
}

// Validate checks every profile offline: strict decoding, OpenAPI schemas of three minors, Pod Security "restricted", HA and security rules.
func Validate() error {
	return devtool("validate")
}

// Preflight checks the current cluster before an apply (version, nodes and capacity against the plan, storage, ingress, controllers, Pod Security) and exits non-zero on a failed check: `preflight profile=minimal-3az values=prod.yaml`, `preflight profile=small format=json`; KUBE_CONTEXT.
func Preflight(ctx context.Context, profile string) error {
	return core.RunMage("preflight", profile, core.ConnectEnv(), os.Stdout, os.Stderr)
}

// Apply applies a profile (or rendered directory) to the current cluster (server-side apply, Secrets created once, wait, prune): `apply profile=minimal-3az values=prod.yaml`; KUBE_CONTEXT, TIMEOUT=20m, NO_PRUNE=1, PRUNE_DATA=1.
func Apply(ctx context.Context, profile string) error {
	return core.RunMage("apply", profile, core.ClusterEnv(true), os.Stdout, os.Stderr)
}

// Diff shows what apply would change (server-side dry-run) and exits non-zero when something would: `diff profile=100k values=prod.yaml`.
func Diff(ctx context.Context, profile string) error {
	return core.RunMage("diff", profile, core.ClusterEnv(true), os.Stdout, os.Stderr)
}

// Delete removes a profile from the current cluster, keeping claims, their volumes and data Secrets (PRUNE_DATA=1 removes them too): `delete profile=small values=prod.yaml`.
func Delete(ctx context.Context, profile string) error {
	return core.RunMage("delete", profile, core.ClusterEnv(false), os.Stdout, os.Stderr)
}

// Sim runs a profile on a simulated cluster (real control plane, kwok nodes from the values' topology): placement, readiness, the zone-loss drill, re-apply, prune, delete and two stacks: `sim profile=minimal-3az`, `sim all`, `sim profile=minimal-3az values=envs/us-east-1.yaml`.
func Sim(ctx context.Context, profile string) error {
	return devtool("sim", profile)
}

// Drill runs the zone-loss drill with the data tier's real processes (Debian's ZooKeeper, Redis, Patroni and PostgreSQL in network namespaces, Patroni on a simulated cluster's API server; as root): the rendered configuration, a zone hard-killed, failover and data loss timed: `drill profile=minimal-3az`, `drill all`.
func Drill(ctx context.Context, profile string) error {
	mg.Deps(Deps)
	return devtool("drill", profile)
}

// E2E runs a profile for real on kind (needs Docker, Podman or nerdctl): cluster, laptop variant, readiness, smoke test, delete (KEEP=1 keeps the cluster; AGENTS=vernemq+lwm2m with small adds an LwM2M registration over CoAP): `e2e profile=minimal-3az`.
func E2E(ctx context.Context, profile string) error {
	return devtool("e2e", profile)
}

// Bench runs the Go benchmarks (synthesis speed and allocations per profile).
func Bench() error {
	return run("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "./...")
}

// devtool runs internal/devtool's target (schemas, validate, sim, e2e).
func devtool(args ...string) error {
	return run("go", append([]string{"run", "./internal/devtool"}, args...)...)
}

func run(name string, args ...string) error {
	return runEnv(nil, name, args...)
}

// runEnv is run with env added to the environment.
func runEnv(env []string, name string, args ...string) error {
	shown := strings.ReplaceAll(strings.Join(args, " "), core.MageArgSep, " ")
	fmt.Println("+", name, shown)
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, shown, err)
	}
	return nil
}
