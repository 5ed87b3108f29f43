//go:build mage

// iotstack's targets; run them with go tool mage TARGET (Mage is pinned in go.mod).
package main

// Targets are thin: they parse arguments, call a library function and
// print. The logic lives in packages that tests and other programs import.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/iotstack/iotstack/cli"
	"github.com/iotstack/iotstack/e2e"
	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/sim"
	"github.com/iotstack/iotstack/validate"
)

// distDir is where synthesized profiles are committed.
const distDir = "dist"

// magefile targets, for folding key=value options into their argument.
var targetNames = []string{"synth", "deps", "test", "schemas", "validate", "apply", "diff", "delete", "sim", "e2e", "bench"}

func init() {
	// Mage targets take a fixed number of arguments; fold the key=value
	// options that follow a target's argument into it (cli.FoldMageArgs).
	os.Args = cli.FoldMageArgs(os.Args, targetNames)
}

// Synth writes dist/<profile>/ (or out=DIR) from the profile and its values: `synth profile=minimal-3az`, `synth all`, `synth profile=small values=prod.yaml namespace=lab out=deploy/lab`.
func Synth(profile string) error {
	return cli.RunMage("synth", profile, nil, os.Stdout, os.Stderr)
}

// testPackages are the Debian packages whose programs the tests run for
// real, keyed by a program (or path) each provides: the Redis Cluster
// scripts run against redis-server, the PostgreSQL scripts against
// PostgreSQL 15 and PgBouncer, the Patroni REST API authentication against
// Patroni, the dojot load-balancer configurations through nginx -t and
// haproxy -c, the e2e MQTT smoke clients against Mosquitto.
var testPackages = map[string]string{
	"redis-server":                      "redis-server",
	"redis-cli":                         "redis-tools",
	"/usr/lib/postgresql/15/bin/initdb": "postgresql-15",
	"psql":                              "postgresql-client",
	"pgbouncer":                         "pgbouncer",
	"patroni":                           "patroni",
	"nginx":                             "nginx",
	"/usr/lib/nginx/modules/ngx_stream_module.so": "libnginx-mod-stream",
	"haproxy":             "haproxy",
	"/usr/sbin/mosquitto": "mosquitto",
}

// Deps installs the Debian packages the tests run (Redis, PostgreSQL, PgBouncer, Patroni, NGINX, HAProxy, Mosquitto) when missing.
func Deps() error {
	var missing []string
	for prog, pkg := range testPackages {
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
			return fmt.Errorf("the tests need the Debian packages %s; install them (apt-get install %s) or run as root", strings.Join(missing, ", "), strings.Join(missing, " "))
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
	mg.Deps(Deps, MonitoringTools)
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
	// Every profile on the simulated cluster (the first run builds the
	// control plane, etcd and kwok: about 20 minutes on two cores).
	if err := Sim(context.Background(), "all"); err != nil {
		return err
	}
	// A user's environment: minimal-3az in us-east-1 on m7g.xlarge behind a
	// registry mirror, its simulated nodes from the values' topology.
	return Sim(context.Background(), "profile=minimal-3az"+cli.MageArgSep+"values=envs/us-east-1.yaml")
}

// MonitoringTools builds promtool and amtool from test/tools/monitoring (once, into the user cache directory; about three minutes cold).
func MonitoringTools() error {
	t, err := montools.Ensure(".", os.Stdout)
	if err != nil {
		return err
	}
	vs, err := t.Versions()
	if err != nil {
		return err
	}
	fmt.Printf("monitoring tools in %s: %s\n", t.Dir, strings.Join(vs, "; "))
	return nil
}

// Schemas generates the Kubernetes OpenAPI schemas validation uses (once, into the user cache directory).
func Schemas() error {
	cache, err := validate.SchemaCache()
	if err != nil {
		return err
	}
	dirs, err := validate.EnsureSchemas(cache, validate.KubernetesVersions)
	if err != nil {
		return err
	}
	for _, v := range validate.KubernetesVersions {
		fmt.Printf("schemas for Kubernetes %s: %s\n", v, dirs[v])
	}
	return nil
}

// Validate checks every profile offline: strict decoding, OpenAPI schemas of three minors, Pod Security "restricted", HA and security rules.
func Validate() error {
	mg.Deps(Schemas)
	cache, err := validate.SchemaCache()
	if err != nil {
		return err
	}
	dirs, err := validate.EnsureSchemas(cache, validate.KubernetesVersions)
	if err != nil {
		return err
	}
	reports, err := validate.Profiles(dirs, profiles.Names()...)
	if err != nil {
		return err
	}
	findings, objects := 0, 0
	perRule := map[string]int{}
	for _, r := range reports {
		objects += r.Objects
		for _, f := range r.Findings {
			fmt.Println(f)
			findings++
			perRule[f.Rule]++
		}
	}
	fmt.Println("Rules (findings, reason):")
	for _, rule := range validate.Rules {
		fmt.Printf("  %-18s %3d  %s\n", rule.Name, perRule[rule.Name], rule.Reason)
	}
	fmt.Println("Exceptions (documented opt-outs):")
	for _, r := range reports {
		for _, e := range r.Exceptions {
			fmt.Printf("  %s: %s [%s] %s\n", r.Profile(), e.Component, e.Rule, e.Reason)
		}
	}
	fmt.Printf("%d objects in %d stacks checked against %d rules and the schemas of Kubernetes %s: %d findings\n",
		objects, len(reports), len(validate.Rules), strings.Join(validate.KubernetesVersions, ", "), findings)
	if findings > 0 {
		return fmt.Errorf("%d findings", findings)
	}
	return nil
}

// Apply applies a profile (or rendered directory) to the current cluster (server-side apply, Secrets created once, wait, prune): `apply profile=minimal-3az values=prod.yaml`; KUBE_CONTEXT, TIMEOUT=20m, NO_PRUNE=1, PRUNE_DATA=1.
func Apply(ctx context.Context, profile string) error {
	return cli.RunMage("apply", profile, cli.ClusterEnv(true), os.Stdout, os.Stderr)
}

// Diff shows what apply would change (server-side dry-run) and exits non-zero when something would: `diff profile=100k values=prod.yaml`.
func Diff(ctx context.Context, profile string) error {
	return cli.RunMage("diff", profile, cli.ClusterEnv(true), os.Stdout, os.Stderr)
}

// Delete removes a profile from the current cluster, keeping claims, their volumes and data Secrets (PRUNE_DATA=1 removes them too): `delete profile=small values=prod.yaml`.
func Delete(ctx context.Context, profile string) error {
	return cli.RunMage("delete", profile, cli.ClusterEnv(false), os.Stdout, os.Stderr)
}

// Sim runs a profile on a simulated cluster (real control plane, kwok nodes from the values' topology): placement, readiness, the zone-loss drill, re-apply, prune, delete and two stacks: `sim profile=minimal-3az`, `sim all`, `sim profile=minimal-3az values=envs/us-east-1.yaml`.
func Sim(ctx context.Context, profile string) error {
	m, err := cli.ParseMageArg(profile)
	if err != nil {
		return err
	}
	names, err := profiles.Resolve(m.Target)
	if err != nil {
		return err
	}
	docs, sets, err := cli.ValuesArgs(m.Args)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	var failed []string
	for _, n := range names {
		rep, err := sim.Run(ctx, n, sim.Options{Root: root, Log: os.Stdout, Values: docs, Sets: sets})
		if err != nil {
			return fmt.Errorf("sim %s: %w", n, err)
		}
		fmt.Print(rep)
		if len(rep.Failures) > 0 {
			failed = append(failed, n)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("sim failed for %s", strings.Join(failed, ", "))
	}
	return nil
}

// E2E runs a profile for real on kind (needs Docker, Podman or nerdctl): cluster, laptop variant, readiness, smoke test, delete (KEEP=1 keeps the cluster): `e2e profile=minimal-3az`.
func E2E(ctx context.Context, profile string) error {
	names, err := profiles.Resolve(profile)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := e2e.Run(ctx, n, e2e.Options{Keep: os.Getenv("KEEP") == "1", Log: os.Stdout}); err != nil {
			return fmt.Errorf("e2e %s: %w", n, err)
		}
		fmt.Printf("e2e %s passed\n", n)
	}
	return nil
}

// Bench runs the Go benchmarks (synthesis speed and allocations per profile).
func Bench() error {
	return run("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "./...")
}

func run(name string, args ...string) error {
	fmt.Println("+", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}
