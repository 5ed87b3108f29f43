// Package cli is the iotstack command line (cmd/iotstack): verbs that parse
// arguments and values documents, call the library and print. It is a
// package so that its tests run the verbs in-process and so that Mage's
// targets share its helpers.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/validate"
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
)

// ExitError carries the exit code of a failed verb.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// ExitStatus is the exit code; Mage's targets exit with it too.
func (e *ExitError) ExitStatus() int { return e.Code }
func (e *ExitError) Unwrap() error   { return e.Err }

func usage(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// valuesFlags are the values inputs every verb that builds a profile takes.
type valuesFlags struct {
	files []string
	sets  []string
}

func (v *valuesFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&v.files, "values", "f", nil, "values file (YAML or JSON); repeat to merge several, in order")
	cmd.Flags().StringArrayVar(&v.sets, "set", nil, "override one value after the files: PATH=VALUE (kafka.replicationFactor=3, topology.zones={a,b,c}); repeatable")
}

func (v *valuesFlags) given() bool { return len(v.files) > 0 || len(v.sets) > 0 }

// load reads the values files and builds the profile's configuration.
func (v *valuesFlags) load(p profiles.Profile) (profiles.Values, error) {
	docs := make([]values.Doc, 0, len(v.files))
	for _, f := range v.files {
		d, err := values.ReadFile(f)
		if err != nil {
			return nil, usage(err)
		}
		docs = append(docs, d)
	}
	cfg, err := p.Load(docs, v.sets)
	if err != nil {
		return nil, usage(fmt.Errorf("profile %s: values:\n%w", p.Name, err))
	}
	return cfg, nil
}

// target is what a verb works on: a profile with values, or a rendered
// directory (re-synthesized from the values it records and checked).
type target struct {
	profile profiles.Profile
	values  profiles.Values
	out     *stack.Output
	built   *profiles.Built
}

// resolve turns PROFILE or DIR plus the values flags into a target.
func resolve(arg string, vf *valuesFlags) (*target, error) {
	if isDir(arg) {
		if vf.given() {
			return nil, usage(fmt.Errorf("%s is a rendered directory: it records its own values; change them with iotstack synth %s ... -o %s", arg, "PROFILE", arg))
		}
		r, err := profiles.ReadDir(arg)
		if err != nil {
			return nil, usage(err)
		}
		return &target{profile: r.Profile, values: r.Values, out: r.Output, built: r.Built}, nil
	}
	names, err := profiles.Resolve(arg)
	if err != nil {
		return nil, usage(err)
	}
	if len(names) != 1 {
		return nil, usage(fmt.Errorf("one profile at a time here (the profiles share namespaces and object names); known profiles: %s", strings.Join(profiles.Names(), ", ")))
	}
	p, err := profiles.Get(names[0])
	if err != nil {
		return nil, usage(err)
	}
	cfg, err := vf.load(p)
	if err != nil {
		return nil, err
	}
	b, err := p.BuildValues(cfg)
	if err != nil {
		return nil, usage(err)
	}
	out, err := profiles.SynthBuilt(p.Name, b)
	if err != nil {
		return nil, usage(err)
	}
	return &target{profile: p, values: cfg, out: out, built: b}, nil
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

// Command returns the iotstack root command writing to stdout and stderr.
func Command(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "iotstack",
		Short: "Synthesize, validate and apply IoT platform stacks on Kubernetes",
		Long: `iotstack renders ThingsBoard and dojot stacks from typed, validated values into plain
YAML, checks them offline and applies them with server-side apply.

Values: defaults <- -f files in order <- --set PATH=VALUE in order. Every error names
its values path. "iotstack values PROFILE" prints the complete default document.

Exit codes: 0 success; 1 the operation failed; 2 bad usage or input; 3 diff found changes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(profilesCmd(), valuesCmd(), schemaCmd(), synthCmd(), validateCmd(),
		diffCmd(), applyCmd(), deleteCmd(), secretsCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usage(err) })
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usage(err) })
		if c.Args == nil {
			c.Args = cobra.NoArgs
		}
		args := c.Args
		c.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usage(err)
			}
			return nil
		}
	}
	return root
}

func profileNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
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

func oneProfile(name string) (profiles.Profile, error) {
	p, err := profiles.Get(name)
	if err != nil {
		return p, usage(err)
	}
	return p, nil
}

func valuesCmd() *cobra.Command {
	var vf valuesFlags
	cmd := &cobra.Command{
		Use:   "values PROFILE",
		Short: "Print the profile's complete values document, each field with its documentation",
		Long: `Print the profile's complete values document: every field with its default (or the value
the given files and --set make of it) and its documentation as a comment. Save it as a
starting point for your own values file.`,
		Example: `  iotstack values minimal-3az > prod.yaml
  iotstack values small --set namespace=lab`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := oneProfile(args[0])
			if err != nil {
				return err
			}
			cfg, err := vf.load(p)
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
	vf.add(cmd)
	return cmd
}

func schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema PROFILE",
		Short: "Print the JSON Schema of the profile's values (for editors: yaml-language-server)",
		Example: `  iotstack schema minimal-3az > minimal-3az.schema.json
  # then, first line of prod.yaml:  # yaml-language-server: $schema=minimal-3az.schema.json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := oneProfile(args[0])
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
	var vf valuesFlags
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
		ValidArgsFunction: profileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := profiles.Resolve(args[0])
			if err != nil {
				return usage(err)
			}
			var jobs []profiles.DirJob
			for _, n := range names {
				p, err := oneProfile(n)
				if err != nil {
					return err
				}
				cfg, err := vf.load(p)
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
				return usage(err)
			}
			for i, out := range outs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d objects in %d files\n", jobs[i].Dir, len(out.Objects), len(out.Files))
			}
			return nil
		},
	}
	vf.add(cmd)
	cmd.Flags().StringVarP(&dir, "output", "o", "", "output directory (default dist/PROFILE; with all, DIR/PROFILE)")
	return cmd
}

func validateCmd() *cobra.Command {
	var vf valuesFlags
	cmd := &cobra.Command{
		Use:   "validate PROFILE|DIR",
		Short: "Check a profile or rendered directory offline: schemas, Pod Security, HA and security rules",
		Example: `  iotstack validate minimal-3az -f prod.yaml
  iotstack validate deploy/prod`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := resolve(args[0], &vf)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, "preparing the Kubernetes schemas (first use: a few minutes)")
			cache, err := validate.SchemaCache()
			if err != nil {
				return err
			}
			schemas, err := validate.EnsureSchemas(cache, validate.KubernetesVersions)
			if err != nil {
				return err
			}
			stacks := []*stack.Stack{t.built.Stack}
			for _, part := range t.built.Parts {
				stacks = append(stacks, part.Stack)
			}
			findings, objects := 0, 0
			for _, s := range stacks {
				r, err := validate.CheckStack(t.profile.Name, s, schemas)
				if err != nil {
					return err
				}
				objects += r.Objects
				for _, f := range r.Findings {
					fmt.Fprintln(w, f)
					findings++
				}
			}
			fmt.Fprintf(w, "%s: %d objects checked against %d rules and the schemas of Kubernetes %s: %d findings\n",
				t.profile.Name, objects, len(validate.Rules), strings.Join(validate.KubernetesVersions, ", "), findings)
			if findings > 0 {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d findings", findings)}
			}
			return nil
		},
	}
	vf.add(cmd)
	return cmd
}

// clusterFlags configure the apply engine.
type clusterFlags struct {
	kubeconfig, context string
	timeout             time.Duration
	noPrune, pruneData  bool
}

func (c *clusterFlags) add(cmd *cobra.Command, prune bool) {
	cmd.Flags().StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&c.context, "context", "", "kubeconfig context (default the current one)")
	cmd.Flags().DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on the wait for readiness (apply) or termination (delete)")
	if prune {
		cmd.Flags().BoolVar(&c.noPrune, "no-prune", false, "keep objects of the stack that are no longer rendered")
	}
	cmd.Flags().BoolVar(&c.pruneData, "prune-data", false, "also remove components' data: claims, the volumes bound to them, data Secrets (all of a component's or none)")
}

func (c *clusterFlags) engine(out io.Writer) (*apply.Engine, error) {
	if c.timeout <= 0 {
		return nil, usage(fmt.Errorf("--timeout %s: want a positive duration such as 15m", c.timeout))
	}
	cfg, err := apply.RESTConfig(c.kubeconfig, c.context)
	if err != nil {
		return nil, usage(err)
	}
	return apply.New(cfg, apply.Options{Timeout: c.timeout, NoPrune: c.noPrune, PruneData: c.pruneData, Out: out})
}

func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt)
}

// clusterVerb is a verb that resolves PROFILE|DIR, connects the apply
// engine and runs against the cluster.
type clusterVerb struct {
	use, short, long, example string
	prune                     bool
	run                       func(ctx context.Context, w io.Writer, e *apply.Engine, out *stack.Output) error
}

func (v clusterVerb) command() *cobra.Command {
	var vf valuesFlags
	var cf clusterFlags
	cmd := &cobra.Command{
		Use: v.use, Short: v.short, Long: v.long, Example: v.example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := resolve(args[0], &vf)
			if err != nil {
				return err
			}
			e, err := cf.engine(cmd.OutOrStdout())
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			return v.run(ctx, cmd.OutOrStdout(), e, t.out)
		},
	}
	vf.add(cmd)
	cf.add(cmd, v.prune)
	return cmd
}

func diffCmd() *cobra.Command {
	return clusterVerb{
		use:   "diff PROFILE|DIR",
		short: "Show what apply would change (server-side dry run); exit 3 when something would",
		long: `Dry-run the apply on the cluster: every object that would be created or configured (with a
text diff and the fields it would take back from other field managers), every Secret that
would be created or gain keys, every object prune would delete or release. Nothing changes.`,
		example: `  iotstack diff deploy/prod
  iotstack diff minimal-3az -f prod.yaml --context prod-eu`,
		prune: true,
		run: func(ctx context.Context, w io.Writer, e *apply.Engine, out *stack.Output) error {
			changes, err := e.Diff(ctx, out)
			if err != nil {
				return err
			}
			for _, c := range changes {
				if c.Detail != "" {
					fmt.Fprintf(w, "%s %s (%s)\n", c.Subject, c.Action, c.Detail)
				} else {
					fmt.Fprintf(w, "%s %s\n", c.Subject, c.Action)
				}
				for _, f := range c.Conflicts {
					fmt.Fprintf(w, "  conflict: %s; apply takes this field back\n", f)
				}
				if c.Live != nil && c.Merged != nil {
					fmt.Fprint(w, apply.TextDiff(c.Live, c.Merged))
				}
			}
			if len(changes) > 0 {
				return &ExitError{Code: ExitChanges, Err: fmt.Errorf("%s: %d objects would change", out.Stack, len(changes))}
			}
			fmt.Fprintf(w, "%s: no changes\n", out.Stack)
			return nil
		},
	}.command()
}

func applyCmd() *cobra.Command {
	return clusterVerb{
		use:   "apply PROFILE|DIR",
		short: "Apply a profile or rendered directory to the cluster and wait until it is ready",
		long: `Server-side apply of every object (cluster-scoped objects shared safely with other stacks),
the declared Secrets created with generated values (missing keys added, nothing rotated), a
wait for readiness with progress lines, then prune of what is no longer rendered. Claims,
the volumes bound to them and data Secrets are never pruned without --prune-data.`,
		example: `  iotstack apply deploy/prod
  iotstack apply small --set namespace=lab --timeout 20m`,
		prune: true,
		run: func(ctx context.Context, w io.Writer, e *apply.Engine, out *stack.Output) error {
			res, err := e.Apply(ctx, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s/%s applied; ready after %s\n", out.Namespace, out.Stack, res.Ready.Round(time.Second))
			return nil
		},
	}.command()
}

func deleteCmd() *cobra.Command {
	return clusterVerb{
		use:   "delete PROFILE|DIR",
		short: "Delete a stack from the cluster, keeping its data unless --prune-data",
		long: `Delete every object of the stack, workloads first, and return once they are gone. Claims,
the volumes bound to them, data Secrets and the namespace holding them are kept (and listed
with the reason) unless --prune-data; shared cluster-scoped objects other stacks hold are
released, not deleted. Applying again brings the stack back on the same data.`,
		example: `  iotstack delete deploy/prod
  iotstack delete small --set namespace=lab --prune-data`,
		run: func(ctx context.Context, w io.Writer, e *apply.Engine, out *stack.Output) error {
			res, err := e.Delete(ctx, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s/%s: %d objects deleted or released, %d kept\n", out.Namespace, out.Stack, len(res.Changes), len(res.Kept))
			return nil
		},
	}.command()
}

func secretsCmd() *cobra.Command {
	var vf valuesFlags
	cmd := &cobra.Command{
		Use:   "secrets PROFILE|DIR",
		Short: "Print the declared Secrets with freshly generated values, as YAML on standard output",
		Long: `Print every Secret the stack declares, with freshly generated values, as YAML documents on
standard output, for users of SOPS, sealed-secrets or plain kubectl who create Secrets
themselves. Nothing is written to disk: pipe it into your encryption tool. Each run
generates new values.`,
		Example: `  iotstack secrets minimal-3az -f prod.yaml | sops --encrypt --input-type yaml --output-type yaml /dev/stdin > secrets.enc.yaml
  iotstack secrets deploy/prod | kubeseal -o yaml > sealed-secrets.yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: profileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := resolve(args[0], &vf)
			if err != nil {
				return err
			}
			specs := append([]stack.SecretSpec(nil), t.out.Secrets...)
			sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
			w := cmd.OutOrStdout()
			for _, spec := range specs {
				sec, err := apply.NewSecret(t.out, spec)
				if err != nil {
					return err
				}
				sec.StringData = map[string]string{}
				for k, v := range sec.Data {
					sec.StringData[k] = string(v)
				}
				sec.Data = nil
				b, err := yaml.Marshal(sec)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "---\n%s", b)
			}
			if len(specs) == 0 {
				return errors.New("the stack declares no Secret")
			}
			return nil
		},
	}
	vf.add(cmd)
	return cmd
}
