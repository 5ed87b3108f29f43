package profiles

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/stack"
)

// optionProfiles names, for every option that only some profiles use,
// the profiles it applies to. An option set on another profile is an
// error instead of being ignored. Options not listed apply to every
// profile (Namespace, Generic, RequestScale).
var optionProfiles = map[string][]string{
	"Demo":                   {Minimal3AZ},
	"ThingsBoardVersion":     {Minimal3AZ},
	"Replicas":               {Minimal3AZ},
	"KafkaReplicationFactor": {Minimal3AZ},
	"Bridges":                {Small, Hundred},
	"KafkaPartitions":        {Small, Hundred},
	"NodePorts":              {Small, Hundred},
	"Backends":               {Small, Hundred},
	"InsecureMQTT":           {Small, Hundred},
}

// set reports the options of opts that differ from their zero value, by
// Go field name.
func (o Options) set() map[string]bool {
	return map[string]bool{
		"Namespace": o.Namespace != "", "Generic": o.Generic, "RequestScale": o.RequestScale != 0,
		"Demo": o.Demo, "ThingsBoardVersion": o.ThingsBoardVersion != "", "Replicas": o.Replicas != nil,
		"KafkaReplicationFactor": o.KafkaReplicationFactor != 0, "Bridges": o.Bridges != 0,
		"KafkaPartitions": o.KafkaPartitions != 0, "NodePorts": o.NodePorts != nil,
		"Backends": o.Backends != nil, "InsecureMQTT": o.InsecureMQTT != nil,
	}
}

// Validate checks opts for the profile before anything is built: every
// option must apply to the profile and hold an allowed value. Errors name
// the option by its Go field (Options.Bridges is "Bridges"), the value
// and what is allowed.
func (p Profile) Validate(opts Options) error {
	set := opts.set()
	for _, name := range sortedOptionNames() {
		if !set[name] {
			continue
		}
		if applies := optionProfiles[name]; !contains(applies, p.Name) {
			return fmt.Errorf("options: %s is set, but it does not apply to profile %s (it applies to %s); leave it unset", name, p.Name, strings.Join(applies, ", "))
		}
	}
	if err := validateCommonOptions(opts); err != nil {
		return err
	}
	if p.validate != nil {
		return p.validate(opts)
	}
	return nil
}

func sortedOptionNames() []string {
	names := make([]string, 0, len(optionProfiles))
	for n := range optionProfiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validateCommonOptions checks the options every profile uses.
func validateCommonOptions(o Options) error {
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return fmt.Errorf("options: Namespace: %q is not a DNS-1123 label (%s)", o.Namespace, strings.Join(errs, "; "))
		}
		if err := stack.CheckNamespace(o.Namespace); err != nil {
			return fmt.Errorf("options: Namespace: %w", err)
		}
	}
	if o.RequestScale != 0 && !(o.RequestScale > 0 && o.RequestScale <= 1) || math.IsNaN(o.RequestScale) {
		return fmt.Errorf("options: RequestScale: %v; allowed greater than 0 and at most 1 (0 leaves requests unscaled)", o.RequestScale)
	}
	return nil
}

// minimal3AZBrokers is the Kafka brokers of minimal-3az, the bound of
// KafkaReplicationFactor.
const minimal3AZBrokers = 3

// validateMinimal3AZOptions checks the options of minimal-3az.
func validateMinimal3AZOptions(o Options) error {
	if o.KafkaReplicationFactor != 0 && (o.KafkaReplicationFactor < 1 || o.KafkaReplicationFactor > minimal3AZBrokers) {
		return fmt.Errorf("options: KafkaReplicationFactor: %d; allowed 1 to %d (the profile's Kafka brokers; 0 keeps the default 2)", o.KafkaReplicationFactor, minimal3AZBrokers)
	}
	if o.ThingsBoardVersion != "" {
		if errs := validation.IsValidLabelValue(o.ThingsBoardVersion); len(errs) > 0 || o.ThingsBoardVersion == "latest" || strings.ContainsAny(o.ThingsBoardVersion, ":@/") {
			return fmt.Errorf("options: ThingsBoardVersion: %q; must be a pinned image tag such as %s", o.ThingsBoardVersion, thingsboard.Version)
		}
	}
	enabled := map[string]bool{}
	var names []string
	for _, s := range thingsboard.Services {
		if !s.Optional() { // minimal-3az runs the seven core services
			enabled[string(s)] = true
			names = append(names, string(s))
		}
	}
	hosts := 0
	for _, p := range Minimal3AZTopology().Pools {
		if p.Name == minimal3AZPool {
			hosts = p.NodesPerZone * len(Minimal3AZTopology().Zones)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.Replicas)) {
		n := o.Replicas[name]
		if !enabled[name] {
			return fmt.Errorf("options: Replicas[%s]: the service is not enabled in profile %s; allowed services: %s", name, Minimal3AZ, strings.Join(names, ", "))
		}
		if n < 1 || int(n) > hosts {
			return fmt.Errorf("options: Replicas[%s]: %d; allowed 1 to %d (one per node of pool %s); leave the service out to keep its default", name, n, hosts, minimal3AZPool)
		}
	}
	return nil
}

// validateDojotOptions checks the options of small and 100k.
func validateDojotOptions(o Options) error {
	if o.Bridges != 0 && (o.Bridges < 1 || o.Bridges > 100) {
		return fmt.Errorf("options: Bridges: %d; allowed 1 to 100 (0 keeps the profile's default)", o.Bridges)
	}
	if o.KafkaPartitions != 0 && o.Bridges != 0 && o.KafkaPartitions != int(o.Bridges) {
		return fmt.Errorf("options: KafkaPartitions: %d must equal Bridges %d (dojot ties its topics' partitions to the bridges); leave it 0 to follow Bridges", o.KafkaPartitions, o.Bridges)
	}
	if o.KafkaPartitions < 0 {
		return fmt.Errorf("options: KafkaPartitions: %d; allowed 1 to 100, equal to Bridges (0 follows Bridges)", o.KafkaPartitions)
	}
	if o.NodePorts != nil {
		// The options build with the default monitoring (on: Grafana
		// serves the metrics port), no LwM2M agent and no mutual TLS.
		if err := o.NodePorts.ServeMetrics().CheckServed(); err != nil {
			return fmt.Errorf("options: NodePorts: %w", err)
		}
	}
	if o.Backends != nil {
		// The options build with the default monitoring (on): Grafana
		// serves the metrics group.
		b := *o.Backends
		if len(b.Metrics) == 0 {
			b.Metrics = b.APIGateway // as the build defaults it
		}
		if err := b.ValidateServed(true, false); err != nil { // Options select no LwM2M agent
			return fmt.Errorf("options: Backends: %w", err)
		}
	}
	return nil
}
