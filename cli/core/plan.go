package core

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotstack/iotstack/plan"
)

func planCmd() *cobra.Command {
	var vf ValuesFlags
	var format, alias string
	cmd := &cobra.Command{
		Use:   "plan PROFILE|DIR",
		Short: "Print the capacity and cost plan: pods per zone, node totals, the zone-loss check, the monthly cost",
		Long: `Plan a profile with its values, without a cluster: every workload's pods placed on the
topology's nodes (the main stack and every part that runs in the cluster, the monitoring
included; minimal-3az's opt-in load test left out), CPU and memory requests and limits per
workload and per node against allocatable, the zone-loss check (can the surviving zones hold
what must reschedule, the average CPU load that keeps them under their allocatable, the headroom
left) and the cost: plan.prices (monthly US dollars per instance type) per node, plus
plan.overheadPercent, per month, per zone and per device (plan.devices).

The defaults are the ThingsBoard article's ("ThingsBoard k8s cluster - minimal design"):
r7g.xlarge at $135 a month (1-year reserved) and 50 % overhead, so minimal-3az costs $608
per month, 0.6 cents per device at 100,000 devices. A pool whose instance type has no price is
reported as "no price"; --set plan.requireCost=true makes that an error.

Formats (-o): table (terminal), markdown, json (the fields of package plan's Plan, stable),
svg (a chart of each node's requests against allocatable, by zone).`,
		Example: `  iotstack plan minimal-3az
  iotstack plan minimal-3az -f envs/us-east-1.yaml -o markdown
  iotstack plan minimal-3az --set plan.prices.m7g\.xlarge=98 -o json
  iotstack plan 100k -o svg > 100k-plan.svg`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: ProfileNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("format") {
				if cmd.Flags().Changed("output") && alias != format {
					return Usage(fmt.Errorf("--output %q and --format %q: give one", format, alias))
				}
				format = alias
			}
			if !validFormat(format) {
				return Usage(fmt.Errorf("--output %q: allowed %s", format, strings.Join(plan.Formats, ", ")))
			}
			t, err := Resolve(args[0], &vf)
			if err != nil {
				return err
			}
			p, err := plan.Compute(t.Profile.Name, t.Built, t.Values)
			if err != nil {
				return Usage(err)
			}
			return p.Write(cmd.OutOrStdout(), format)
		},
	}
	vf.Add(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "table", "output format: "+strings.Join(plan.Formats, ", "))
	cmd.Flags().StringVar(&alias, "format", "", "the same as --output (mage plan's format=)")
	return cmd
}

func validFormat(f string) bool {
	for _, x := range plan.Formats {
		if x == f {
			return true
		}
	}
	return false
}
