// Package core is the part of the iotstack command line that needs no
// cluster client and no schema validator: the root command, the values
// flags, and the verbs profiles, values, schema, synth and plan. The verbs that
// do (validate, preflight, diff, apply, delete, secrets) are in package cli, which
// adds them to the same root.
//
// The split is for start-up time: `go tool iotstack` checks every package
// the command imports before it runs it, so cmd/iotstack imports only this
// package (about 300 packages instead of over 800 with client-go, the
// server-side apply engine and kubeconform) and forwards the other verbs
// to its companion executable, cmd/iotstack-cluster, which is the whole
// command line (see Forward).
package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// Exit codes, stable for scripts.
const (
	// ExitOK is success; for diff, nothing would change.
	ExitOK = 0
	// ExitFailed means the operation failed: a cluster error, a stack not
	// ready in time, validation findings.
	ExitFailed = 1
	// ExitUsage means bad usage or bad input: an unknown profile, flag or
	// values path, an invalid value, a rendered directory that no longer
	// matches its values.
	ExitUsage = 2
	// ExitChanges is diff's result when something would change.
	ExitChanges = 3
	// ExitUnreachable is preflight's result when the cluster did not
	// answer (the same number as diff's ExitChanges: each verb documents
	// its own codes; the other verbs report a cluster error as
	// ExitFailed).
	ExitUnreachable = 3
)

// ExitError carries the exit code of a failed verb.
type ExitError struct {
	Code int
	Err  error
}

// Error returns the wrapped error's message.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitStatus is the exit code; Mage's targets exit with it too.
func (e *ExitError) ExitStatus() int { return e.Code }

// Usage marks err as bad usage or bad input (exit code ExitUsage).
func Usage(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// ValuesFlags are the values inputs every verb that builds a profile takes:
// -f FILE (repeatable) and --set PATH=VALUE (repeatable).
type ValuesFlags struct {
	files []string
	sets  []string
}

// Add declares the flags on cmd.
func (v *ValuesFlags) Add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&v.files, "values", "f", nil, "values file (YAML or JSON); repeat to merge several, in order")
	cmd.Flags().StringArrayVar(&v.sets, "set", nil, "override one value after the files: PATH=VALUE (kafka.replicationFactor=3, topology.zones={a,b,c}); repeatable")
}

// Given reports whether any values file or override was given.
func (v *ValuesFlags) Given() bool { return len(v.files) > 0 || len(v.sets) > 0 }

// Load reads the values files and builds the profile's configuration.
func (v *ValuesFlags) Load(p profiles.Profile) (profiles.Values, error) {
	docs := make([]values.Doc, 0, len(v.files))
	for _, f := range v.files {
		d, err := values.ReadFile(f)
		if err != nil {
			return nil, Usage(err)
		}
		docs = append(docs, d)
	}
	cfg, err := p.Load(docs, v.sets)
	if err != nil {
		return nil, Usage(fmt.Errorf("profile %s: values:\n%w", p.Name, err))
	}
	return cfg, nil
}

// Target is what a verb works on: a profile with values, or a rendered
// directory (re-synthesized from the values it records and checked).
type Target struct {
	// Profile is the profile built.
	Profile profiles.Profile
	// Values are the values it was built with.
	Values profiles.Values
	// Out is the synthesized output.
	Out *stack.Output
	// Built is the built profile (its stacks).
	Built *profiles.Built
}

// Resolve turns PROFILE or DIR plus the values flags into a Target.
func Resolve(arg string, vf *ValuesFlags) (*Target, error) {
	if isDir(arg) {
		if vf.Given() {
			return nil, Usage(fmt.Errorf("%s is a rendered directory: it records its own values; change them with iotstack synth %s ... -o %s", arg, "PROFILE", arg))
		}
		r, err := profiles.ReadDir(arg)
		if err != nil {
			return nil, Usage(err)
		}
		return &Target{Profile: r.Profile, Values: r.Values, Out: r.Output, Built: r.Built}, nil
	}
	names, err := profiles.Resolve(arg)
	if err != nil {
		return nil, Usage(err)
	}
	if len(names) != 1 {
		return nil, Usage(fmt.Errorf("one profile at a time here (the profiles share namespaces and object names); known profiles: %s", strings.Join(profiles.Names(), ", ")))
	}
	p, err := profiles.Get(names[0])
	if err != nil {
		return nil, Usage(err)
	}
	cfg, err := vf.Load(p)
	if err != nil {
		return nil, err
	}
	b, err := p.BuildValues(cfg)
	if err != nil {
		return nil, Usage(err)
	}
	out, err := profiles.SynthBuilt(p.Name, b)
	if err != nil {
		return nil, Usage(err)
	}
	return &Target{Profile: p, Values: cfg, Out: out, Built: b}, nil
}

func isDir(arg string) bool {
	if strings.ContainsRune(arg, os.PathSeparator) || strings.HasPrefix(arg, ".") {
		return true
	}
	st, err := os.Stat(arg)
	return err == nil && st.IsDir() && fileExists(filepath.Join(arg, profiles.RecordFile))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Root returns the iotstack root command writing to stdout and stderr, with
// the given verbs (Commands, and the cluster verbs or their Forward stubs).
func Root(stdout, stderr io.Writer, verbs ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:   "iotstack",
		Short: "Synthesize, validate and apply IoT platform stacks on Kubernetes",
		Long: `iotstack renders ThingsBoard and dojot stacks from typed, validated values into plain
YAML, checks them offline and applies them with server-side apply.

Values: defaults <- -f files in order <- --set PATH=VALUE in order. Every error names
its values path. "iotstack values PROFILE" prints the complete default document.

Exit codes: 0 success; 1 the operation failed (preflight: a check failed); 2 bad usage
or input; 3 diff found changes, or preflight could not reach the cluster.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(verbs...)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return Usage(err) })
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return Usage(err) })
		if c.Args == nil {
			c.Args = cobra.NoArgs
		}
		args := c.Args
		c.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return Usage(err)
			}
			return nil
		}
	}
	return root
}

// Commands returns the verbs of this package: profiles, values, schema,
// synth and plan.
func Commands() []*cobra.Command {
	return []*cobra.Command{profilesCmd(), valuesCmd(), schemaCmd(), synthCmd(), planCmd()}
}

// ProfileNames completes a verb's first argument with the profile names.
func ProfileNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return profiles.Names(), cobra.ShellCompDirectiveFilterDirs
}

func profilesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "profiles",
		Short:   "List the profiles",
		Example: "  iotstack profiles",
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, n := range profiles.Names() {
				p, _ := profiles.Get(n)
				fmt.Fprintf(cmd.OutOrStdout(), "%-12s %s\n             source: %s\n", n, p.Description, p.Source)
			}
			return nil
		},
	}
}

// OneProfile returns the named profile; an unknown name is a usage error.
func OneProfile(name string) (profiles.Profile, error) {
	p, err := profiles.Get(name)
	if err != nil {
		return p, Usage(err)
	}
	return p, nil
}

func valuesCmd() *cobra.Command {
	var vf ValuesFlags
	cmd := &cobra.Command{
		Use:   "values PROFILE",
		Short: "Print the profile's complete values document, each field with its documentation",
		Long: `Print the profile's complete values document: every field with its default (or the value
the given files and --set make of it) and its documentation as a comment. Save it as a
starting point for your own values file.`,
		Example: `  iotstack values minimal-3az > prod.yaml
  iotstack values small --set namespace=lab`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := OneProfile(args[0])
			if err != nil {
				return err
			}
			cfg, err := vf.Load(p)
			if err != nil {
				return err
			}
			doc, err := values.Render(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "# yaml-language-server: $schema=%s.schema.json\n# iotstack values for profile %s.\n", p.Name, p.Name)
			_, err = cmd.OutOrStdout().Write(doc)
			return err
		},
	}
	vf.Add(cmd)
	return cmd
}

func schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema PROFILE",
		Short: "Print the JSON Schema of the profile's values (for editors: yaml-language-server)",
		Example: `  iotstack schema minimal-3az > minimal-3az.schema.json
  # then, first line of prod.yaml:  # yaml-language-server: $schema=minimal-3az.schema.json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := OneProfile(args[0])
			if err != nil {
				return err
			}
			b, err := p.Schema()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}

func synthCmd() *cobra.Command {
	var vf ValuesFlags
	var dir string
	cmd := &cobra.Command{
		Use:   "synth PROFILE|all",
		Short: "Render a profile into a directory of plain YAML (default dist/PROFILE)",
		Long: `Render a profile with its values into a directory: numbered YAML files, a
kustomization.yaml and ` + profiles.RecordFile + `, the values it was rendered from (your
overrides only), so that validate, diff, apply and delete can take the directory and refuse it
once a file no longer matches. The directory is replaced as a whole, atomically: on any error
nothing is written. No credential is ever written: Secrets are declared, not rendered.`,
		Example: `  iotstack synth minimal-3az                                # dist/minimal-3az, the defaults
  iotstack synth minimal-3az -f envs/prod.yaml -o deploy/prod
  iotstack synth all -o out                                 # out/<profile> for every profile
  iotstack synth small --set namespace=lab --set images.registry=registry.lab:5000`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := profiles.Resolve(args[0])
			if err != nil {
				return Usage(err)
			}
			var jobs []profiles.DirJob
			for _, n := range names {
				p, err := OneProfile(n)
				if err != nil {
					return err
				}
				cfg, err := vf.Load(p)
				if err != nil {
					return err
				}
				d := dir
				switch {
				case d == "":
					d = filepath.Join("dist", n)
				case len(names) > 1:
					d = filepath.Join(dir, n)
				}
				jobs = append(jobs, profiles.DirJob{Dir: d, Profile: p, Values: cfg})
			}
			outs, err := profiles.WriteDirs(jobs...)
			if err != nil {
				return Usage(err)
			}
			for i, out := range outs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d objects in %d files\n", jobs[i].Dir, len(out.Objects), len(out.Files))
			}
			return nil
		},
	}
	vf.Add(cmd)
	cmd.Flags().StringVarP(&dir, "output", "o", "", "output directory (default dist/PROFILE; with all, DIR/PROFILE)")
	return cmd
}

// Companion is the executable that holds the whole command line, the
// cluster verbs included (cmd/iotstack-cluster). `go install
// github.com/iotstack/iotstack/cmd/...@VERSION` installs it beside
// iotstack; in a clone it is a Go tool like iotstack.
const Companion = "iotstack-cluster"

// Verb names a verb the light command forwards to Companion, with the
// usage line and summary its help shows (package cli uses the same ones).
type Verb struct {
	// Use is the usage line: the name and the arguments.
	Use string
	// Short is the one-line summary.
	Short string
}

// Name is the verb's name, the first word of Use.
func (v Verb) Name() string { return strings.Fields(v.Use)[0] }

// ClusterVerbs are the verbs that need a cluster client or the schema
// validator, in package cli; cmd/iotstack forwards them to Companion.
var ClusterVerbs = []Verb{
	{Use: "validate PROFILE|DIR", Short: "Check a profile or rendered directory offline: schemas, Pod Security, HA and security rules"},
	{Use: "preflight PROFILE|DIR", Short: "Check the cluster before apply: version, nodes and capacity, storage, ingress, controllers, Pod Security; exit 1 on a failed check"},
	{Use: "diff PROFILE|DIR", Short: "Show what apply would change (server-side dry run); exit 3 when something would"},
	{Use: "apply PROFILE|DIR", Short: "Apply a profile or rendered directory to the cluster and wait until it is ready"},
	{Use: "delete PROFILE|DIR", Short: "Delete a stack from the cluster, keeping its data unless --prune-data"},
	{Use: "secrets PROFILE|DIR", Short: "Print the declared Secrets with freshly generated values, as YAML on standard output"},
}

// ClusterVerb returns the entry of ClusterVerbs named name; it panics on a
// name that is not there (a programming error, never user input).
func ClusterVerb(name string) Verb {
	for _, v := range ClusterVerbs {
		if v.Name() == name {
			return v
		}
	}
	panic("core: no cluster verb " + name)
}

// ErrReported is the error of a forwarded verb that failed: the companion
// has already printed its message, the exit code is in the ExitError.
var ErrReported = errors.New("reported by " + Companion)

// Forward returns a stub for verb that runs Companion with the same
// arguments, standard input and output, and returns its exit code as an
// ExitError wrapping ErrReported. Flags are not parsed here: `iotstack
// apply --help` prints the companion's help for apply.
func Forward(verb Verb) *cobra.Command {
	return &cobra.Command{
		Use:                verb.Use,
		Short:              verb.Short,
		Long:               verb.Short + ".\n\nRun by " + Companion + ", the part of iotstack with the cluster client and the schema validator.",
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		ValidArgsFunction:  ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := CompanionCommand(append([]string{verb.Name()}, args...))
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			// Interrupts reach the companion (same process group): it
			// stops its work and exits; wait for it rather than die first.
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt)
			defer signal.Stop(sig)
			err = c.Run()
			var ee *exec.ExitError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &ee) && ee.Exited():
				return &ExitError{Code: ee.ExitCode(), Err: ErrReported}
			default:
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%s: %w", Companion, err)}
			}
		},
	}
}

// CompanionCommand returns the command that runs Companion with args, looked
// for in this order: beside the running executable (go install puts both in
// GOBIN); when the running executable is in the Go build cache (`go tool
// iotstack` in a clone), `go tool iotstack-cluster`, so that both come from
// the same sources; on PATH.
func CompanionCommand(args []string) (*exec.Cmd, error) {
	name := Companion
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	self, err := os.Executable()
	if err == nil {
		if p := filepath.Join(filepath.Dir(self), name); isFile(p) {
			return exec.Command(p, args...), nil
		}
		if inGoBuildCache(self) {
			if goCmd, err := exec.LookPath("go"); err == nil {
				return exec.Command(goCmd, append([]string{"tool", Companion}, args...)...), nil
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return exec.Command(p, args...), nil
	}
	return nil, fmt.Errorf("%s is run by %s, which is neither beside %s nor on PATH: install both with go install github.com/iotstack/iotstack/cmd/...@VERSION", args[0], Companion, self)
}

// inGoBuildCache reports whether exe is an executable cached by `go tool`
// or `go run`: GOCACHE/xx/HASH-d/NAME, the cache root holding the README
// the go command writes there.
func inGoBuildCache(exe string) bool {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(exe))), "README"))
	return err == nil && strings.HasPrefix(string(b), "This directory holds cached build artifacts from the Go build system.")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
