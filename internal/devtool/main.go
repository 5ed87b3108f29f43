// Command devtool runs the Mage targets that need the schema validator,
// the simulated cluster or kind (schemas, validate, sim, e2e) in a process
// of their own: `go tool mage` checks every package the magefile imports
// before each target, so the magefile imports none of these and runs
// `go run ./internal/devtool TARGET [ARG]` for them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/iotstack/iotstack/cli/core"
	"github.com/iotstack/iotstack/drill"
	"github.com/iotstack/iotstack/e2e"
	"github.com/iotstack/iotstack/internal/s3test"
	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/sim"
	"github.com/iotstack/iotstack/validate"
	"github.com/iotstack/iotstack/values"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devtool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: devtool schemas|validate|sim ARG|e2e ARG")
	}
	target, rest := args[0], args[1:]
	switch {
	case target == "schemas" && len(rest) == 0:
		return schemas()
	case target == "validate" && len(rest) == 0:
		return validateAll()
	case target == "sim" && len(rest) == 1:
		return simulate(ctx, rest[0])
	case target == "drill" && len(rest) == 1:
		return drillProfiles(ctx, rest[0])
	case target == "e2e" && len(rest) == 1:
		return endToEnd(ctx, rest[0])
	case target == "monitoringtools" && len(rest) == 0:
		return monitoringTools()
	case target == "s3tools" && len(rest) == 0:
		return s3Tools()
	}
	return fmt.Errorf("%s: unknown target or wrong arguments %q: want schemas, validate, monitoringtools, s3tools, sim ARG, drill ARG or e2e ARG", target, rest)
}

// monitoringTools builds promtool and amtool from test/tools/monitoring,
// once, into the user cache directory.
func monitoringTools() error {
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

// s3Tools builds versitygw from test/tools/s3, once, into the user cache
// directory (the S3 server of the backup and restore tests).
func s3Tools() error {
	t, err := s3test.Ensure(".", os.Stdout)
	if err != nil {
		return err
	}
	v, err := t.Version()
	if err != nil {
		return err
	}
	fmt.Printf("versitygw in %s: %s\n", t.Dir, v)
	return nil
}

// schemas generates the Kubernetes OpenAPI schemas validation uses (once, into the user cache directory).
func schemas() error {
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

// validateAll checks every profile offline: strict decoding, OpenAPI schemas of three minors, Pod Security "restricted", HA and security rules.
func validateAll() error {
	// As Mage's Validate did with mg.Deps(Schemas): the schemas first.
	if err := schemas(); err != nil {
		return err
	}
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

// profileRun reads a mage argument (profile=NAME or all, values=FILE,
// PATH=VALUE): the profiles it names, the values documents and sets, and
// the module's root (the working directory).
func profileRun(arg string) (names []string, docs []values.Doc, sets []string, root string, err error) {
	m, err := core.ParseMageArg(arg)
	if err != nil {
		return nil, nil, nil, "", err
	}
	if names, err = profiles.Resolve(m.Target); err != nil {
		return nil, nil, nil, "", err
	}
	if docs, sets, err = core.ValuesArgs(m.Args); err != nil {
		return nil, nil, nil, "", err
	}
	root, err = os.Getwd()
	return names, docs, sets, root, err
}

// simulate runs a profile (or all) on the simulated cluster.
func simulate(ctx context.Context, profile string) error {
	names, docs, sets, root, err := profileRun(profile)
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

// drillProfiles runs the zone-loss drill with the data tier's real
// processes for a profile (or all).
func drillProfiles(ctx context.Context, profile string) error {
	names, docs, sets, root, err := profileRun(profile)
	if err != nil {
		return err
	}
	for _, n := range names {
		rep, err := drill.Run(ctx, n, drill.Options{Log: os.Stdout, Values: docs, Sets: sets, Root: root})
		if rep != nil {
			fmt.Print(rep)
		}
		if err != nil {
			return fmt.Errorf("drill %s: %w", n, err)
		}
	}
	return nil
}

// endToEnd runs a profile (or all) for real on kind; AGENTS chooses
// dojot's agents (e2e.Options.Agents), KEEP=1 keeps the cluster.
func endToEnd(ctx context.Context, profile string) error {
	names, err := profiles.Resolve(profile)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := e2e.Run(ctx, n, e2e.Options{Keep: os.Getenv("KEEP") == "1", Agents: os.Getenv("AGENTS"), Log: os.Stdout}); err != nil {
			return fmt.Errorf("e2e %s: %w", n, err)
		}
		fmt.Printf("e2e %s passed\n", n)
	}
	return nil
}
