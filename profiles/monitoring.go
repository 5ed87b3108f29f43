package profiles

import (
	"fmt"

	"github.com/iotstack/iotstack/components/alertmanager"
	"github.com/iotstack/iotstack/components/prometheus"
	"github.com/iotstack/iotstack/stack"
)

// Monitoring is the bundled monitoring of a profile: Prometheus and
// Alertmanager in the monitoring namespace, watching the profile's stack
// with the alert rules its components contribute (issue 14, first
// increment: Grafana, dashboards, kube-state-metrics and the receivers'
// settings in values come later).
type Monitoring struct {
	// Enabled renders the monitoring stack into the profile's
	// monitoring/ directory (its own kustomization, applied after the
	// stack). Default false.
	Enabled bool `json:"enabled"`
}

// MonitoringDir is the directory of the monitoring stack in dist/<profile>/.
const MonitoringDir = "monitoring"

// buildMonitoring builds the monitoring stack for the built profile: in
// the monitoring namespace (Common.MonitoringNamespace, which the stack's
// NetworkPolicies admit on the scrape ports), on the profile's topology,
// Prometheus built last so that it reads every component's rules.
func buildMonitoring(b *Built, c *Common) (Part, error) {
	target := b.Stack
	opts := c.stackOptions(target.Name()+"-monitoring", "monitoring")
	opts.Namespace = target.MonitoringNamespace()
	mon, err := stack.New(opts)
	if err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	// One replica per node at most (each on a node of its own): the
	// single-node small profile gets one of each, without HA.
	nodes := int32(len(target.Topology().Hosts()))
	am, err := alertmanager.New(mon, alertmanager.Config{Replicas: min(3, nodes)})
	if err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	if _, err := prometheus.New(mon, target, am, prometheus.Config{Replicas: min(2, nodes)}); err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	return Part{Dir: MonitoringDir, Stack: mon}, nil
}
