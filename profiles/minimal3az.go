package profiles

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
)

// Minimal3AZ is the ThingsBoard minimal three-zone cluster of the write-up
// (seeds/003, "Cluster architecture"): three r7g.xlarge nodes (4 vCPU,
// 32 GiB, arm64), one in each of eu-west-1a/b/c, labelled role=thingsboard
// as in the write-up's eksctl node group. Fault tolerance: one of the three
// nodes may be down at a time.
const Minimal3AZ = "minimal-3az"

func init() {
	register(Profile{
		Name:        Minimal3AZ,
		Description: "ThingsBoard CE microservices on 3 zones x 1 r7g.xlarge, surviving the loss of one zone",
		Source:      "ThingsBoard minimal 3-AZ cluster write-up (../shared/seeds/003_7faa3f9ee7366b78.txt)",
		build:       buildMinimal3AZ,
	})
}

// Minimal3AZTopology is the profile's cluster shape.
func Minimal3AZTopology() stack.Topology {
	return stack.Topology{
		Zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"},
		Pools: []stack.NodePool{{
			Name:         "thingsboard",
			InstanceType: "r7g.xlarge",
			Arch:         "arm64",
			CPU:          resource.MustParse("4"),
			Memory:       resource.MustParse("32Gi"),
			NodesPerZone: 1,
			Labels:       map[string]string{"role": "thingsboard"},
		}},
	}
}

func buildMinimal3AZ(opts Options) (*stack.Stack, error) {
	return stack.New(stack.Options{
		Name:      Minimal3AZ,
		Namespace: nsOr(opts, "thingsboard"),
		PartOf:    "thingsboard",
		Topology:  Minimal3AZTopology(),
	})
}

func nsOr(opts Options, def string) string {
	if opts.Namespace != "" {
		return opts.Namespace
	}
	return def
}
