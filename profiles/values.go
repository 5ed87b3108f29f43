package profiles

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

//go:generate go run github.com/iotstack/iotstack/values/internal/docgen -pkg profiles -files values.go,minimal3az_values.go,dojot_values.go,monitoring.go,ui_values.go,dojot_backup_values.go,cluster.go -o zz_values_docs.go

// Values is a profile's configuration: one documented Go type per profile
// (Minimal3AZValues, DojotValues), decoded strictly from values documents
// (package values) and validated before anything is built. A profile's
// Defaults reproduce its committed dist/ byte for byte.
type Values interface {
	// Base returns the settings every profile has.
	Base() *Common
}

// Common holds the settings every profile has.
type Common struct {
	// Namespace holds every namespaced object of the stack: a DNS-1123
	// label, not one Kubernetes reserves (default, kube-*). Names and
	// addresses are wired from it, so change it here, not in an overlay.
	Namespace string `json:"namespace"`
	// Topology is the cluster the stack is placed on: zones, node pools
	// and the cloud specifics. The simulated cluster of mage sim is built
	// from it.
	Topology Topology `json:"topology"`
	// Images rewrites the images of every container.
	Images Images `json:"images"`
	// RequestScale multiplies every container's CPU and memory requests
	// (not limits), in (0, 1]; 1 leaves them as sized. For laptop clusters
	// (mage e2e uses 0.1).
	RequestScale float64 `json:"requestScale"`
	// MonitoringNamespace is the namespace whose pods may scrape the
	// stack's metrics ports (matched on kubernetes.io/metadata.name).
	MonitoringNamespace string `json:"monitoringNamespace"`
	// Monitoring is the bundled Prometheus and Alertmanager, rendered
	// into monitoring/ in the monitoring namespace.
	Monitoring Monitoring `json:"monitoring"`
	// Backup is where the datastores' backups go; each datastore's
	// schedule and retention are in its own section (postgres.backup,
	// ...). Off while backup.store.bucket is empty.
	Backup Backup `json:"backup"`
	// Plan is what iotstack plan needs beyond the topology: node prices,
	// the overhead on top of them and the devices served.
	Plan Plan `json:"plan"`
	// Cluster is the cluster beneath the stack, rendered into
	// dist/<profile>/cluster/ from the topology.
	Cluster Cluster `json:"cluster"`
}

// Plan holds the inputs of iotstack plan's cost figures (package plan).
// The defaults are the ThingsBoard article's ("ThingsBoard k8s cluster -
// minimal design", "Total ownership cost"): r7g.xlarge at $135 per month
// (1-year reserved), 50 % on top for storage, traffic, Kubernetes and load
// balancers.
type Plan struct {
	// Prices maps a pool's instanceType to the monthly price of one node,
	// in US dollars. A pool whose instance type is not here is reported
	// as "no price" and left out of the totals.
	Prices map[string]float64 `json:"prices"`
	// OverheadPercent is added to the nodes' price for everything else
	// the cloud bills (storage, traffic, the Kubernetes control plane,
	// load balancers): 50 adds half.
	OverheadPercent float64 `json:"overheadPercent" min:"0" max:"1000"`
	// Devices is the number of devices the stack serves, for the cost per
	// device; 0 leaves that figure out.
	Devices int `json:"devices" min:"0" max:"1000000000"`
	// RequireCost makes a pool without a price an error instead of a "no
	// price" note, for scripts that need the full cost.
	RequireCost bool `json:"requireCost"`
}

// MaxPrice bounds a node's monthly price in plan.prices (US dollars).
const MaxPrice = 1e9

// ArticlePrices are the ThingsBoard article's node prices: "3 x 135$ (1 Yr
// reserved r7g.xlarge)".
func ArticlePrices() map[string]float64 { return map[string]float64{"r7g.xlarge": 135} }

// DefaultPlan is the plan inputs every profile starts from: the article's
// prices and overhead, with devices as the profile serves.
func DefaultPlan(devices int) Plan {
	return Plan{Prices: ArticlePrices(), OverheadPercent: 50, Devices: devices}
}

// Validate checks the prices (a named instance type, a price from 0 to
// MaxPrice) and the overhead; paths are relative to plan.
func (p Plan) Validate() []values.FieldError {
	var errs []values.FieldError
	for _, k := range slices.Sorted(maps.Keys(p.Prices)) {
		v := p.Prices[k]
		switch {
		case strings.TrimSpace(k) == "":
			errs = append(errs, values.Errorf("prices", k, "an instance type name is required"))
		case math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > MaxPrice:
			errs = append(errs, values.Errorf("prices."+k, v, "allowed a monthly price from 0 to %g", float64(MaxPrice)))
		}
	}
	if math.IsNaN(p.OverheadPercent) || math.IsInf(p.OverheadPercent, 0) {
		errs = append(errs, values.Errorf("overheadPercent", p.OverheadPercent, "allowed from 0 to 1000"))
	}
	return errs
}

// Backup is the stack's backup settings shared by every datastore.
type Backup struct {
	// Store is the S3-compatible object store every backup is written to.
	Store backup.Store `json:"store"`
}

// Base returns c; the profiles' values types embed Common.
func (c *Common) Base() *Common { return c }

// Topology is the cluster shape.
type Topology struct {
	// Zones are the availability zones' names, as in the nodes'
	// topology.kubernetes.io/zone label; one zone means no zone spreading.
	Zones []string `json:"zones" min:"1"`
	// Pools are the node pools; every zone has NodesPerZone nodes of each.
	Pools []Pool `json:"pools" min:"1"`
	// StorageClass is the class every claim of the stack uses.
	StorageClass StorageClass `json:"storageClass"`
	// LoadBalancer is how the stack is exposed: "aws" renders the AWS Load
	// Balancer Controller's annotations (ALB Ingress, NLB Service);
	// "generic" renders a plain Ingress and LoadBalancer Service for any
	// cluster (kind, on-premises, other clouds).
	LoadBalancer string `json:"loadBalancer" enum:"aws,generic"`
}

// Pool is a node pool: the same nodes in every zone.
type Pool struct {
	// Name identifies the pool; components are placed on pools by name.
	Name string `json:"name"`
	// InstanceType is the cloud instance type (r7g.xlarge); free text.
	InstanceType string `json:"instanceType"`
	// Arch is the CPU architecture, as in kubernetes.io/arch.
	Arch string `json:"arch" enum:"amd64,arm64"`
	// CPU is one node's allocatable vCPUs ("4").
	CPU resource.Quantity `json:"cpu"`
	// Memory is one node's allocatable memory ("32Gi").
	Memory resource.Quantity `json:"memory"`
	// NodesPerZone is the number of nodes of the pool in each zone.
	NodesPerZone int `json:"nodesPerZone" min:"1" max:"1000"`
	// Labels are the node labels that identify the pool: workloads placed
	// on it require all of them. Required when there is more than one pool.
	Labels map[string]string `json:"labels"`
	// Taints are the pool's node taints; its workloads tolerate exactly
	// these.
	Taints []Taint `json:"taints"`
}

// Taint is a node taint.
type Taint struct {
	// Key is the taint's key.
	Key string `json:"key"`
	// Value is the taint's value.
	Value string `json:"value"`
	// Effect is what the taint does to pods that do not tolerate it.
	Effect string `json:"effect" enum:"NoSchedule,PreferNoSchedule,NoExecute"`
}

// StorageClass is the class the stack's claims use.
type StorageClass struct {
	// Name is the class's name; empty means the cluster's default class.
	Name string `json:"name"`
	// Create renders the class into the stack (shared safely with other
	// stacks that render the same class); off means the cluster has it.
	Create bool `json:"create"`
	// Provisioner is the CSI driver of a created class (ebs.csi.aws.com).
	Provisioner string `json:"provisioner"`
	// Parameters are the created class's provisioner parameters.
	Parameters map[string]string `json:"parameters"`
}

// Images rewrites images.
type Images struct {
	// Registry is a mirror that replaces the registry of every image, for
	// air-gapped clusters: with registry.corp:5000, zookeeper:3.9.3 becomes
	// registry.corp:5000/library/zookeeper:3.9.3 and
	// ghcr.io/zalando/spilo-17:4.0-p3 becomes
	// registry.corp:5000/zalando/spilo-17:4.0-p3 (the repository path is
	// kept, Docker Hub's official images under library/). Empty keeps
	// every image's own registry.
	Registry string `json:"registry"`
}

// Validate checks what tags cannot: names, labels, the namespace.
func (c Common) Validate() []values.FieldError {
	var errs []values.FieldError
	if errs1 := validation.IsDNS1123Label(c.Namespace); len(errs1) > 0 {
		errs = append(errs, values.Errorf("namespace", c.Namespace, "not a DNS-1123 label (%s)", strings.Join(errs1, "; ")))
	} else if err := stack.CheckNamespace(c.Namespace); err != nil {
		errs = append(errs, values.Errorf("namespace", c.Namespace, "%v", err))
	}
	if !(c.RequestScale > 0 && c.RequestScale <= 1) {
		errs = append(errs, values.Errorf("requestScale", c.RequestScale, "allowed greater than 0 and at most 1"))
	}
	if c.MonitoringNamespace != "" {
		if errs1 := validation.IsDNS1123Label(c.MonitoringNamespace); len(errs1) > 0 {
			errs = append(errs, values.Errorf("monitoringNamespace", c.MonitoringNamespace, "not a DNS-1123 label (%s)", strings.Join(errs1, "; ")))
		}
	}
	if c.Images.Registry != "" {
		if err := stack.CheckRegistry(c.Images.Registry); err != nil {
			errs = append(errs, values.Errorf("images.registry", c.Images.Registry, "%v", err))
		}
	}
	if err := c.Topology.Stack().Validate(); err != nil {
		errs = append(errs, values.Errorf("topology", nil, "%v", err))
	}
	sc := c.Topology.StorageClass
	if sc.Create && (sc.Name == "" || sc.Provisioner == "") {
		errs = append(errs, values.Errorf("topology.storageClass", sc.Name, "create needs a name and a provisioner"))
	}
	return errs
}

// Stack converts the topology into the stack's form.
func (t Topology) Stack() stack.Topology {
	out := stack.Topology{Zones: append([]string(nil), t.Zones...)}
	for _, p := range t.Pools {
		np := stack.NodePool{Name: p.Name, InstanceType: p.InstanceType, Arch: p.Arch, CPU: p.CPU.DeepCopy(), Memory: p.Memory.DeepCopy(), NodesPerZone: p.NodesPerZone}
		if len(p.Labels) > 0 {
			np.Labels = map[string]string{}
			for k, v := range p.Labels {
				np.Labels[k] = v
			}
		}
		for _, tn := range p.Taints {
			np.Taints = append(np.Taints, corev1.Taint{Key: tn.Key, Value: tn.Value, Effect: corev1.TaintEffect(tn.Effect)})
		}
		out.Pools = append(out.Pools, np)
	}
	return out
}

// topologyValues converts a stack topology into values.
func topologyValues(t stack.Topology) Topology {
	out := Topology{Zones: append([]string(nil), t.Zones...)}
	for _, p := range t.Pools {
		pv := Pool{Name: p.Name, InstanceType: p.InstanceType, Arch: p.Arch, CPU: p.CPU.DeepCopy(), Memory: p.Memory.DeepCopy(), NodesPerZone: p.NodesPerZone}
		if len(p.Labels) > 0 {
			pv.Labels = map[string]string{}
			for k, v := range p.Labels {
				pv.Labels[k] = v
			}
		}
		for _, tn := range p.Taints {
			pv.Taints = append(pv.Taints, Taint{Key: tn.Key, Value: tn.Value, Effect: string(tn.Effect)})
		}
		out.Pools = append(out.Pools, pv)
	}
	return out
}

// stackOptions are the stack options the common values set.
func (c Common) stackOptions(name, partOf string) stack.Options {
	return stack.Options{
		Name:                name,
		Namespace:           c.Namespace,
		PartOf:              partOf,
		Topology:            c.Topology.Stack(),
		ImageRegistry:       c.Images.Registry,
		MonitoringNamespace: c.MonitoringNamespace,
	}
}

// Defaults returns the profile's default values: what dist/<profile>/
// holds.
func (p Profile) Defaults() Values { return p.defaults() }

// Load builds the profile's values: the defaults, then the documents in
// order, then the --set overrides (PATH=VALUE), validated. Every problem
// comes back at once, each with its values path.
func (p Profile) Load(docs []values.Doc, sets []string) (Values, error) {
	v := p.defaults()
	if err := values.LoadAndSet(v, docs, sets); err != nil {
		return nil, err
	}
	return v, nil
}

// BuildValues builds the profile's stacks from validated values.
func (p Profile) BuildValues(v Values) (*Built, error) {
	if v == nil {
		return nil, fmt.Errorf("profile %s: values: nil", p.Name)
	}
	if err := values.Validate(v); err != nil {
		return nil, fmt.Errorf("profile %s: values:\n%w", p.Name, err)
	}
	b, err := p.build(v)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	if b.cluster == nil {
		b.cluster = &clusterSpec{}
	}
	b.cluster.kind, b.cluster.profile, b.cluster.common = kindOf(p.Name, v.Base()), p.Name, *v.Base()
	if v.Base().Monitoring.Enabled && v.Base().Monitoring.NodeExporter {
		part, err := buildNodeExporter(b, v.Base())
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Name, err)
		}
		b.Parts = append(b.Parts, part)
	}
	if v.Base().Monitoring.Enabled {
		part, err := buildMonitoring(b, v.Base())
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Name, err)
		}
		b.Parts = append(b.Parts, part)
	}
	if scale := v.Base().RequestScale; scale != 1 {
		stacks := []*stack.Stack{b.Stack}
		for _, part := range b.Parts {
			stacks = append(stacks, part.Stack)
		}
		for _, s := range stacks {
			if err := s.ScaleRequests(scale); err != nil {
				return nil, fmt.Errorf("profile %s: requestScale: %w", p.Name, err)
			}
		}
	}
	return b, nil
}

// Schema returns the JSON Schema of the profile's values, for editors.
func (p Profile) Schema() ([]byte, error) {
	return values.Schema(p.defaults(), "https://iotstack.io/schemas/"+p.Name+".schema.json")
}

// useExisting replaces declared Secrets with the user's (path names the
// values field in errors).
func useExisting(s *stack.Stack, c Credentials, path string) error {
	for _, declared := range slices.Sorted(maps.Keys(c.ExistingSecrets)) {
		if err := s.UseExistingSecret(declared, c.ExistingSecrets[declared]); err != nil {
			return fmt.Errorf("%s.%s: %w", path, declared, err)
		}
	}
	return nil
}

// checkPools reports every pool reference (values path → pool name) that
// names no pool of the topology; an empty name is the component's default.
func checkPools(t Topology, refs map[string]string) []values.FieldError {
	pools := map[string]bool{}
	var names []string
	for _, p := range t.Pools {
		pools[p.Name] = true
		names = append(names, p.Name)
	}
	var errs []values.FieldError
	for _, path := range slices.Sorted(maps.Keys(refs)) {
		if name := refs[path]; name != "" && !pools[name] {
			errs = append(errs, values.Errorf(path, name, "not a pool of topology.pools (%s)", strings.Join(names, ", ")))
		}
	}
	return errs
}
