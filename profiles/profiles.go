// Package profiles is the registry of the stacks iotstack ships: small and
// 100k (dojot v0.5.0's two Kubernetes environments) and minimal-3az
// (ThingsBoard's three-zone cluster). A profile declares its Topology once
// and composes component constructors into a stack.Stack; Synth and
// WriteDist turn profiles into dist/<profile>/.
//
// Sources: minimal-3az reproduces the cluster of the ThingsBoard article
// "ThingsBoard k8s cluster - minimal design" (called the ThingsBoard
// article in these docs); small and 100k reproduce the two environments of
// dojot's installation guide "Dojot v0.5.0 – Guia de Instalação: Instalando
// a dojot no Kubernetes" (in Portuguese; the install guide). Profile.Source
// names them.
//
// The profiles start with their namespace and topology; the component
// packages fill them in.
package profiles

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/stack"
)

// Options tune a profile. The zero value builds the profile as documented.
type Options struct {
	// Namespace overrides the profile's namespace; a DNS-1123 label.
	Namespace string
	// Generic builds the variant without cloud specifics (minimal-3az: no
	// AWS load-balancer annotations, no gp3 StorageClass; the cluster's
	// default StorageClass), for kind and other clusters.
	Generic bool
	// RequestScale multiplies every container's CPU and memory requests
	// (not limits) by this factor, in (0, 1]; 0 means unscaled. mage e2e
	// uses 0.1 (with Generic) so a profile fits a laptop's kind cluster.
	RequestScale float64
	// Demo loads ThingsBoard's demo tenant at install (minimal-3az), whose
	// administrator (tenant@thingsboard.org) mage e2e's smoke test uses.
	Demo bool
	// ThingsBoardVersion overrides the ThingsBoard image tag (minimal-3az).
	ThingsBoardVersion string
	// Replicas overrides the replicas of ThingsBoard services by name
	// (tb-core, tb-mqtt-transport, ...) in minimal-3az.
	Replicas map[string]int32
	// KafkaReplicationFactor overrides the Kafka default replication
	// factor (minimal-3az: 2, the ThingsBoard article's).
	KafkaReplicationFactor int
	// Bridges overrides the number of dojot k2v/v2k bridges and
	// kafka-loopbacks (small: 1, 100k: 9); KafkaPartitions, when set, must
	// equal it (dojot ties topic partitions to the bridges).
	Bridges         int32
	KafkaPartitions int
	// NodePorts overrides dojot's fixed NodePorts.
	NodePorts *dojot.NodePorts
	// Backends overrides the worker addresses in the dojot load-balancer
	// configurations (the defaults are documentation addresses,
	// 192.0.2.0/24, to be replaced).
	Backends *dojot.Backends
	// InsecureMQTT turns dojot's plain MQTT on 1883 on or off; nil keeps
	// the guide's setting (on).
	InsecureMQTT *bool
}

// Profile is a named, documented way to build a stack.
type Profile struct {
	// Name is the profile's name, also its dist/ directory and the stack
	// name (app.kubernetes.io/instance).
	Name string
	// Description says what the profile is for, in one line.
	Description string
	// Source names the document the profile reproduces.
	Source string

	build       func(Values) (*Built, error)
	defaults    func() Values
	fromOptions func(Values, Options)
	validate    func(Options) error
}

// Built is a profile's main stack and the parts rendered beside it.
type Built struct {
	// Stack is the profile's stack: dist/<profile>/.
	Stack *stack.Stack
	// Parts are stacks applied separately, each in dist/<profile>/<Dir>/
	// with a kustomization of its own (minimal-3az's load test).
	Parts []Part
	// Files are other generated files written beside the YAML (the
	// dojot load balancers' configurations).
	Files []stack.File
	// Grafana is how users reach the monitoring's Grafana, when the
	// monitoring is on.
	Grafana GrafanaAccess
	// cluster is what SynthBuilt renders cluster/ from (set by
	// BuildValues; nil renders none).
	cluster *clusterSpec
	// monitoring says where the monitoring part runs (set by the
	// profile's build; the zero value is any node, provisioned volumes).
	monitoring monitoringPlacement
}

// Part is a separately applied stack of a profile.
type Part struct {
	Dir   string
	Stack *stack.Stack
}

// Build builds the profile's main stack.
func (p Profile) Build(opts Options) (*stack.Stack, error) {
	b, err := p.BuildAll(opts)
	if err != nil {
		return nil, err
	}
	return b.Stack, nil
}

// BuildAll builds the profile's main stack and its separate parts from
// the Options shorthand: the profile's defaults with the options laid
// over them (ValuesFromOptions), then BuildValues.
func (p Profile) BuildAll(opts Options) (*Built, error) {
	v, err := p.ValuesFromOptions(opts)
	if err != nil {
		return nil, err
	}
	return p.BuildValues(v)
}

// ValuesFromOptions returns the profile's values with opts laid over its
// defaults, after checking that every option applies to the profile.
func (p Profile) ValuesFromOptions(opts Options) (Values, error) {
	if err := p.Validate(opts); err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	v := p.defaults()
	c := v.Base()
	if opts.Namespace != "" {
		c.Namespace = opts.Namespace
	}
	if opts.RequestScale != 0 {
		c.RequestScale = opts.RequestScale
	}
	p.fromOptions(v, opts)
	return v, nil
}

var registry = map[string]Profile{}

func register(p Profile) { registry[p.Name] = p }

// Names returns the names of all profiles, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Get returns the named profile, or an error listing the known ones.
func Get(name string) (Profile, error) {
	p, ok := registry[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q; known profiles: %s (or all)", name, strings.Join(Names(), ", "))
	}
	return p, nil
}

// Resolve turns a command-line argument into profile names. It accepts
// the design card's form "profile=100k", the bare name "100k", and "all"
// (in either form) for every profile.
func Resolve(arg string) ([]string, error) {
	name := strings.TrimSpace(arg)
	if v, ok := strings.CutPrefix(name, "profile="); ok {
		name = v
	} else if strings.Contains(name, "=") {
		key, _, _ := strings.Cut(name, "=")
		return nil, fmt.Errorf("unknown argument %q: the only key is profile (profile=NAME); known profiles: %s (or all)", key, strings.Join(Names(), ", "))
	}
	if name == "" {
		return nil, fmt.Errorf("no profile given; use profile=NAME with one of: %s (or all)", strings.Join(Names(), ", "))
	}
	if name == "all" {
		return Names(), nil
	}
	if _, err := Get(name); err != nil {
		return nil, err
	}
	return []string{name}, nil
}

// Synth builds and synthesizes the named profiles with opts. It returns
// every output or the first error; nothing is written.
func Synth(opts Options, names ...string) ([]*stack.Output, error) {
	outs := make([]*stack.Output, 0, len(names))
	for _, n := range names {
		p, err := Get(n)
		if err != nil {
			return nil, err
		}
		b, err := p.BuildAll(opts)
		if err != nil {
			return nil, err
		}
		out, err := SynthBuilt(n, b)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// SynthBuilt synthesizes a built profile: its main stack with the parts'
// files under their directories and the other generated files.
func SynthBuilt(name string, b *Built) (*stack.Output, error) {
	out, err := b.Stack.Synth()
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", name, err)
	}
	objects := slices.Clone(out.Objects)
	for _, part := range b.Parts {
		po, err := part.Stack.Synth()
		if err != nil {
			return nil, fmt.Errorf("profile %s, %s: %w", name, part.Dir, err)
		}
		out.Include(part.Dir, po)
		objects = append(objects, po.Objects...)
	}
	out.Files = append(out.Files, b.Files...)
	if b.cluster != nil {
		files, err := clusterFiles(b.cluster, objects)
		if err != nil {
			return nil, clusterError(name, err)
		}
		out.Files = append(out.Files, files...)
	}
	return out, nil
}

// WriteDist renders the named profiles with their default values into
// root/<profile>/ (WriteDirs: the files and the RecordFile). Every profile
// is rendered before anything is written, so an error in one leaves all
// of root untouched.
func WriteDist(root string, names ...string) ([]*stack.Output, error) {
	jobs := make([]DirJob, 0, len(names))
	for _, n := range names {
		p, err := Get(n)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, DirJob{Dir: filepath.Join(root, n), Profile: p, Values: p.Defaults()})
	}
	return WriteDirs(jobs...)
}
