// Package cli is the iotstack command line: verbs that parse arguments and
// values documents, call the library and print. It is a package so that
// its tests run the verbs in-process and so that Mage's targets share its
// helpers.
//
// Command is the whole command line: the verbs of package core (profiles,
// values, schema, synth) and the verbs here, which need the cluster client
// or the schema validator (validate, preflight, diff, apply, delete,
// secrets). The
// installed iotstack (cmd/iotstack) imports only core, so that `go tool
// iotstack synth` starts fast, and forwards these verbs to
// cmd/iotstack-cluster, which runs Command.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/cli/core"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/validate"
)

// Exit codes, stable for scripts (the same as package core's).
const (
	// ExitOK is success; for diff, nothing would change.
	ExitOK = core.ExitOK
	// ExitFailed means the operation failed: a cluster error, a stack not
	// ready in time, validation findings.
	ExitFailed = core.ExitFailed
	// ExitUsage means bad usage or bad input: an unknown profile, flag or
	// values path, an invalid value, a rendered directory that no longer
	// matches its values.
	ExitUsage = core.ExitUsage
	// ExitChanges is diff's result when something would change.
	ExitChanges = core.ExitChanges
	// ExitUnreachable is preflight's result when the cluster did not
	// answer.
	ExitUnreachable = core.ExitUnreachable
)

// ExitError carries the exit code of a failed verb.
type ExitError = core.ExitError

func usage(err error) error { return core.Usage(err) }

// Command returns the whole iotstack command line writing to stdout and
// stderr: the verbs of package core and the cluster verbs.
func Command(stdout, stderr io.Writer) *cobra.Command {
	verbs := append(core.Commands(), validateCmd(), preflightCmd(), diffCmd(), applyCmd(), deleteCmd(), secretsCmd())
	return core.Root(stdout, stderr, verbs...)
}

func validateCmd() *cobra.Command {
	var vf core.ValuesFlags
	cmd := &cobra.Command{
		Use:   core.ClusterVerb("validate").Use,
		Short: core.ClusterVerb("validate").Short,
		Example: `  iotstack validate minimal-3az -f prod.yaml
  iotstack validate deploy/prod`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: core.ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := core.Resolve(args[0], &vf)
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
			stacks := []*stack.Stack{t.Built.Stack}
			for _, part := range t.Built.Parts {
				stacks = append(stacks, part.Stack)
			}
			findings, objects := 0, 0
			for _, s := range stacks {
				r, err := validate.CheckStack(t.Profile.Name, s, schemas)
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
				t.Profile.Name, objects, len(validate.Rules), strings.Join(validate.KubernetesVersions, ", "), findings)
			if findings > 0 {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d findings", findings)}
			}
			return nil
		},
	}
	vf.Add(cmd)
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
	name, long, example string
	prune               bool
	run                 func(ctx context.Context, w io.Writer, e *apply.Engine, out *stack.Output) error
}

func (v clusterVerb) command() *cobra.Command {
	var vf core.ValuesFlags
	var cf clusterFlags
	cmd := &cobra.Command{
		Use: core.ClusterVerb(v.name).Use, Short: core.ClusterVerb(v.name).Short, Long: v.long, Example: v.example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: core.ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := core.Resolve(args[0], &vf)
			if err != nil {
				return err
			}
			e, err := cf.engine(cmd.OutOrStdout())
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			return v.run(ctx, cmd.OutOrStdout(), e, t.Out)
		},
	}
	vf.Add(cmd)
	cf.add(cmd, v.prune)
	return cmd
}

func diffCmd() *cobra.Command {
	return clusterVerb{
		name: "diff",
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
		name: "apply",
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
		name: "delete",
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
	var vf core.ValuesFlags
	cmd := &cobra.Command{
		Use:   core.ClusterVerb("secrets").Use,
		Short: core.ClusterVerb("secrets").Short,
		Long: `Print every Secret the stack declares, with freshly generated values, as YAML documents on
standard output, for users of SOPS, sealed-secrets or plain kubectl who create Secrets
themselves. Nothing is written to disk: pipe it into your encryption tool. Each run
generates new values.`,
		Example: `  iotstack secrets minimal-3az -f prod.yaml | sops --encrypt --input-type yaml --output-type yaml /dev/stdin > secrets.enc.yaml
  iotstack secrets deploy/prod | kubeseal -o yaml > sealed-secrets.yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: core.ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := core.Resolve(args[0], &vf)
			if err != nil {
				return err
			}
			specs := append([]stack.SecretSpec(nil), t.Out.Secrets...)
			sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
			w := cmd.OutOrStdout()
			for _, spec := range specs {
				sec, err := apply.NewSecret(t.Out, spec)
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
	vf.Add(cmd)
	return cmd
}
