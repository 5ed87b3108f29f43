package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/cli/core"
	"github.com/iotstack/iotstack/preflight"
)

func preflightCmd() *cobra.Command {
	var vf core.ValuesFlags
	var kubeconfig, kubeContext, format, alias string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   core.ClusterVerb("preflight").Use,
		Short: core.ClusterVerb("preflight").Short,
		Long: `Check the current cluster against what the profile with its values needs, before any apply.
Nothing is changed: the checks read, and write only in server-side dry runs.

  version       the API server's Kubernetes minor inside the window the stacks are validated for
  nodes         every pool's nodes in every zone: zone label, pool labels and taints, architecture,
                Ready, as many as topology.pools[].nodesPerZone
  capacity      per pool and zone, the plan's requests (iotstack plan: the stack and its monitoring)
                against the nodes' allocatable less what other namespaces' pods request
  storage       the StorageClasses the claims use (rendered: its CSI driver, e.g. CSIDriver
                ebs.csi.aws.com; the cluster's: present; none named: a default class)
  ingress       the IngressClasses the Ingresses name (alb: the AWS Load Balancer Controller's)
  aws-load-balancer-controller
                its IngressClassParams CRD and an available Deployment, when an Ingress or Service needs it
  pod-security  Pod Security admission on, and enforcing the stack's namespaces' levels (dry runs)
  externals     the objects the stack expects to exist (user Secrets, operator CRDs)
  sysctls       what node status cannot show is reported "not-checkable", with a command to check by hand

Every failed check says what to do. Exit codes: 0 every check passed (warnings and
not-checkable allowed); 1 a check failed; 2 bad usage or input; 3 the cluster did not answer.`,
		Example: `  iotstack preflight minimal-3az -f envs/us-east-1.yaml
  iotstack preflight deploy/prod --context prod-eu -o json | jq '.checks[] | select(.status=="fail")'
  iotstack preflight small --set namespace=lab`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: core.ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("format") {
				if cmd.Flags().Changed("output") && alias != format {
					return usage(fmt.Errorf("--output %q and --format %q: give one", format, alias))
				}
				format = alias
			}
			if format != "table" && format != "json" {
				return usage(fmt.Errorf("--output %q: allowed %s", format, strings.Join(preflight.Formats, ", ")))
			}
			if timeout <= 0 {
				return usage(fmt.Errorf("--timeout %s: want a positive duration such as 1m", timeout))
			}
			t, err := core.Resolve(args[0], &vf)
			if err != nil {
				return err
			}
			e, err := preflight.Expectations(t.Profile.Name, t.Built, t.Values)
			if err != nil {
				return usage(err)
			}
			cfg, err := apply.RESTConfig(kubeconfig, kubeContext)
			if err != nil {
				return usage(err)
			}
			cfg.Timeout = timeout
			ctx, stop := signalContext(cmd)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			res, err := preflight.Run(ctx, cfg, e)
			if errors.Is(err, preflight.ErrUnreachable) {
				return &ExitError{Code: ExitUnreachable, Err: err}
			}
			if err != nil {
				return err
			}
			if err := res.Write(cmd.OutOrStdout(), format); err != nil {
				return err
			}
			if n := res.Count(preflight.Fail); n > 0 {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("preflight %s: %d checks failed", t.Profile.Name, n)}
			}
			return nil
		},
	}
	vf.Add(cmd)
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&kubeContext, "context", "", "kubeconfig context (default the current one)")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "bound on the whole check, every request included")
	cmd.Flags().StringVarP(&format, "output", "o", "table", "output format: "+strings.Join(preflight.Formats, ", "))
	cmd.Flags().StringVar(&alias, "format", "", "the same as --output (mage preflight's format=)")
	return cmd
}
