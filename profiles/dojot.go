package profiles

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
)

// Small and Hundred are dojot v0.5.0's two Kubernetes environments (the
// install guide, seeds/000): few devices behind NGINX on one worker, and
// 100,000 devices behind HAProxy on node groups.
const (
	Small   = "small"
	Hundred = "100k"
)

// DojotGroupLabel is the node label dojot's manifests pin workloads with
// (dojot.components/group=vernemq|dojot|kafka|x509).
const DojotGroupLabel = "dojot.components/group"

// dojotZone names the single zone of the on-premises dojot clusters. Such
// nodes usually carry no zone label; a single-zone topology never asks for
// one, so the name only appears in simulated and kind clusters.
const dojotZone = "zone-a"

func init() {
	register(Profile{
		Name:        Small,
		Description: "dojot v0.5.0 for few devices: every service on one worker, NGINX in front",
		Source:      "dojot v0.5.0 Kubernetes install guide, few-devices environment (../shared/seeds/000_1acfbfba1cf21ce6.txt)",
		build:       buildSmall,
	})
	register(Profile{
		Name:        Hundred,
		Description: "dojot v0.5.0 for 100k MQTT devices: VerneMQ x3, 9 bridges, node groups, HAProxy in front",
		Source:      "dojot v0.5.0 Kubernetes install guide, 100k-devices environment (../shared/seeds/000_1acfbfba1cf21ce6.txt)",
		build:       buildHundred,
	})
}

func dojotPool(group string, cpu, memory string, nodes int) stack.NodePool {
	return stack.NodePool{
		Name:         group,
		Arch:         "amd64",
		CPU:          resource.MustParse(cpu),
		Memory:       resource.MustParse(memory),
		NodesPerZone: nodes,
		Labels:       map[string]string{DojotGroupLabel: group},
	}
}

// SmallTopology is the guide's few-devices worker (pp. 6-7: 4 cores,
// 6 GB), labelled dojot.components/group=dojot as the guide instructs.
func SmallTopology() stack.Topology {
	return stack.Topology{
		Zones: []string{dojotZone},
		Pools: []stack.NodePool{dojotPool("dojot", "4", "6Gi", 1)},
	}
}

// HundredTopology is the guide's 100k hardware (pp. 6-7): three VerneMQ
// nodes of 8 cores / 8 GB, and one node each for dojot (4/4), Kafka (6/6)
// and x509 (4/4), each group labelled dojot.components/group.
func HundredTopology() stack.Topology {
	return stack.Topology{
		Zones: []string{dojotZone},
		Pools: []stack.NodePool{
			dojotPool("vernemq", "8", "8Gi", 3),
			dojotPool("dojot", "4", "4Gi", 1),
			dojotPool("kafka", "6", "6Gi", 1),
			dojotPool("x509", "4", "4Gi", 1),
		},
	}
}

func buildSmall(opts Options) (*Built, error) {
	s, err := stack.New(stack.Options{Name: Small, Namespace: nsOr(opts, "dojot"), PartOf: "dojot", Topology: SmallTopology()})
	return &Built{Stack: s}, err
}

func buildHundred(opts Options) (*Built, error) {
	s, err := stack.New(stack.Options{Name: Hundred, Namespace: nsOr(opts, "dojot"), PartOf: "dojot", Topology: HundredTopology()})
	return &Built{Stack: s}, err
}
