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
	"time"

	"github.com/magefile/mage/mg"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/e2e"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/sim"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/validate"
)

// distDir is where synthesized profiles are committed.
const distDir = "dist"

// Synth writes dist/<profile>/ from the Go code: `synth profile=minimal-3az`, `synth 100k` or `synth all`.
func Synth(profile string) error {
	names, err := profiles.Resolve(profile)
	if err != nil {
		return err
	}
	outs, err := profiles.WriteDist(distDir, names...)
	if err != nil {
		return err
	}
	for i, out := range outs {
		fmt.Printf("%s: %d objects in %d files\n", filepath.Join(distDir, names[i]), len(out.Objects), len(out.Files))
	}
	return nil
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
	mg.Deps(Deps)
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
	return Sim(context.Background(), "all")
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

// clusterProfile resolves exactly one profile, synthesizes it with
// default options (what dist/ holds) and connects the apply engine.
func clusterProfile(arg string) (*stack.Output, *apply.Engine, error) {
	names, err := profiles.Resolve(arg)
	if err != nil {
		return nil, nil, err
	}
	if len(names) != 1 {
		return nil, nil, fmt.Errorf("one profile at a time: the profiles share namespaces and object names; use profile=NAME with one of: %s", strings.Join(profiles.Names(), ", "))
	}
	outs, err := profiles.Synth(profiles.Options{}, names[0])
	if err != nil {
		return nil, nil, err
	}
	e, err := engine()
	if err != nil {
		return nil, nil, err
	}
	return outs[0], e, nil
}

// engine connects to the cluster of $KUBECONFIG (or ~/.kube/config) and
// $KUBE_CONTEXT (or the current context); $TIMEOUT (a Go duration) bounds
// the readiness wait, $PRUNE_DATA=1 lets prune and delete remove claims and
// Secrets holding data, $NO_PRUNE=1 keeps objects no longer synthesized.
func engine() (*apply.Engine, error) {
	opts := apply.Options{PruneData: os.Getenv("PRUNE_DATA") == "1", NoPrune: os.Getenv("NO_PRUNE") == "1"}
	if t := os.Getenv("TIMEOUT"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("TIMEOUT=%q: want a positive Go duration such as 15m", t)
		}
		opts.Timeout = d
	}
	cfg, err := apply.RESTConfig(os.Getenv("KUBECONFIG"), os.Getenv("KUBE_CONTEXT"))
	if err != nil {
		return nil, err
	}
	return apply.New(cfg, opts)
}

// Apply applies a profile to the current cluster (server-side apply, Secrets created once, prune, wait): `apply profile=minimal-3az`.
func Apply(ctx context.Context, profile string) error {
	out, e, err := clusterProfile(profile)
	if err != nil {
		return err
	}
	res, err := e.Apply(ctx, out)
	if err != nil {
		return err
	}
	fmt.Printf("%s applied; ready after %s\n", out.Stack, res.Ready.Round(time.Second))
	return nil
}

// Diff shows what apply would change (server-side dry-run) and exits non-zero when something would: `diff profile=100k`.
func Diff(ctx context.Context, profile string) error {
	out, e, err := clusterProfile(profile)
	if err != nil {
		return err
	}
	changes, err := e.Diff(ctx, out)
	if err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Printf("%s %s\n", c.Subject, c.Action)
		if c.Live != nil && c.Merged != nil {
			fmt.Print(apply.TextDiff(c.Live, c.Merged))
		}
	}
	if len(changes) > 0 {
		return fmt.Errorf("%d objects would change", len(changes))
	}
	fmt.Printf("%s: no changes\n", out.Stack)
	return nil
}

// Delete removes a profile from the current cluster, keeping claims and data Secrets (PRUNE_DATA=1 removes them too): `delete profile=small`.
func Delete(ctx context.Context, profile string) error {
	out, e, err := clusterProfile(profile)
	if err != nil {
		return err
	}
	entries, err := e.Delete(ctx, out)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d objects deleted\n", out.Stack, len(entries))
	return nil
}

// Sim runs a profile on a simulated cluster (real control plane, kwok nodes): placement, readiness, the zone-loss drill, re-apply and prune: `sim profile=minimal-3az` or `sim all`.
func Sim(ctx context.Context, profile string) error {
	names, err := profiles.Resolve(profile)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	var failed []string
	for _, n := range names {
		rep, err := sim.Run(ctx, n, sim.Options{Root: root, Log: os.Stdout})
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
