package stack

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels).
// Every rendered object carries all six; selectors use only the stable
// subset LabelName, LabelInstance and LabelComponent, because a selector is
// immutable on a workload and must survive upgrades.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "app.kubernetes.io/version"
)

// ManagedBy is the value of LabelManagedBy on every object.
const ManagedBy = "iotstack"

// Pod Security Standard levels accepted by Options.PodSecurity.
const (
	PodSecurityRestricted = "restricted"
	PodSecurityBaseline   = "baseline"
	PodSecurityPrivileged = "privileged"
)

// Options configure a Stack.
type Options struct {
	// Name is the stack's name: the app.kubernetes.io/instance label of
	// every object. A DNS-1123 label, such as the profile name.
	Name string
	// Namespace holds every namespaced object; defaults to Name. A
	// DNS-1123 label.
	Namespace string
	// PartOf is the app.kubernetes.io/part-of label (e.g. "thingsboard");
	// defaults to Name.
	PartOf string
	// ClusterDomain is the cluster's DNS domain for fully qualified names;
	// defaults to "cluster.local".
	ClusterDomain string
	// PodSecurity is the Pod Security Standard the namespace enforces:
	// "restricted" (default), "baseline" or "privileged".
	PodSecurity string
	// Topology is the cluster shape the stack is placed on.
	Topology Topology
	// ExistingNamespace means another stack owns the namespace: it is not
	// rendered here (a load test applied next to the stack it tests).
	ExistingNamespace bool
	// NoNetworkPolicies turns off the NetworkPolicies Synth adds for each
	// role of a component with pods (ingress from the declared consumers
	// and peers, from anywhere on externally exposed ports, from the
	// monitoring namespace on the scrape port; see the package doc).
	NoNetworkPolicies bool
	// ImageRegistry, when set, is a registry mirror that replaces the
	// registry of every container image at synthesis (MirrorImage), for
	// air-gapped clusters. A host[:port][/path] (CheckRegistry).
	ImageRegistry string
	// MonitoringNamespace is the namespace of the Prometheus that scrapes
	// the exporters: only its pods may open a scrape port
	// (prometheus.io/port). It is matched through the namespace label
	// kubernetes.io/metadata.name, which the API server sets. Default
	// "monitoring".
	MonitoringNamespace string
	// MonitoringNamespaceLabels, when set, replace the match on
	// MonitoringNamespace: the scraper's namespaces are those carrying all
	// of these labels (e.g. a label your platform puts on its monitoring
	// namespaces).
	MonitoringNamespaceLabels map[string]string
}

// Stack is the root of the construct tree: a named set of Components in one
// namespace, placed on one Topology. Build it with New, add components with
// AddComponent (usually through a component package's constructor), then
// call Synth.
type Stack struct {
	opts       Options
	components []*Component
	byName     map[string]*Component
	externals  map[ObjectRef]string
	crdScopes  map[schema.GroupKind]bool
	runtime    map[string]string
	// existingSecrets maps declared Secrets to the user's (UseExistingSecret).
	existingSecrets map[string]string
	namespace       *Component
	// alertsSealedBy names the monitoring component that read the alert
	// rules (Alerts); rules added later are reported at synthesis.
	alertsSealedBy string
}

// New validates opts and returns a Stack holding its Namespace object, which
// enforces opts.PodSecurity through the Pod Security Admission labels.
func New(opts Options) (*Stack, error) {
	if errs := validation.IsDNS1123Label(opts.Name); len(errs) > 0 {
		return nil, fmt.Errorf("stack: name: %q is not a DNS-1123 label (%s)", opts.Name, joinOr(errs, ""))
	}
	if opts.Namespace == "" {
		opts.Namespace = opts.Name
	}
	if errs := validation.IsDNS1123Label(opts.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("stack %s: namespace: %q is not a DNS-1123 label (%s)", opts.Name, opts.Namespace, joinOr(errs, ""))
	}
	if err := CheckNamespace(opts.Namespace); err != nil {
		return nil, fmt.Errorf("stack %s: namespace: %w", opts.Name, err)
	}
	if opts.PartOf == "" {
		opts.PartOf = opts.Name
	}
	if errs := validation.IsValidLabelValue(opts.PartOf); len(errs) > 0 {
		return nil, fmt.Errorf("stack %s: partOf: %q is not a valid label value (%s)", opts.Name, opts.PartOf, joinOr(errs, ""))
	}
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = "cluster.local"
	}
	if errs := validation.IsDNS1123Subdomain(opts.ClusterDomain); len(errs) > 0 {
		return nil, fmt.Errorf("stack %s: clusterDomain: %q is not a DNS name (%s)", opts.Name, opts.ClusterDomain, joinOr(errs, ""))
	}
	if opts.MonitoringNamespace == "" {
		opts.MonitoringNamespace = DefaultMonitoringNamespace
	}
	if errs := validation.IsDNS1123Label(opts.MonitoringNamespace); len(errs) > 0 {
		return nil, fmt.Errorf("stack %s: monitoringNamespace: %q is not a DNS-1123 label (%s)", opts.Name, opts.MonitoringNamespace, joinOr(errs, ""))
	}
	for _, k := range sortedKeys(opts.MonitoringNamespaceLabels) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("stack %s: monitoringNamespaceLabels: key %q is not a label key (%s)", opts.Name, k, joinOr(errs, ""))
		}
		if errs := validation.IsValidLabelValue(opts.MonitoringNamespaceLabels[k]); len(errs) > 0 {
			return nil, fmt.Errorf("stack %s: monitoringNamespaceLabels[%s]: %q is not a label value (%s)", opts.Name, k, opts.MonitoringNamespaceLabels[k], joinOr(errs, ""))
		}
	}
	if opts.ImageRegistry != "" {
		if err := CheckRegistry(opts.ImageRegistry); err != nil {
			return nil, fmt.Errorf("stack %s: imageRegistry: %w", opts.Name, err)
		}
	}
	switch opts.PodSecurity {
	case "":
		opts.PodSecurity = PodSecurityRestricted
	case PodSecurityRestricted, PodSecurityBaseline, PodSecurityPrivileged:
	default:
		return nil, fmt.Errorf("stack %s: podSecurity: %q; allowed: restricted, baseline, privileged", opts.Name, opts.PodSecurity)
	}
	if err := opts.Topology.Validate(); err != nil {
		return nil, fmt.Errorf("stack %s: %w", opts.Name, err)
	}
	s := &Stack{
		opts:      opts,
		byName:    map[string]*Component{},
		externals: map[ObjectRef]string{},
		crdScopes: map[schema.GroupKind]bool{},
		runtime:   map[string]string{},
	}
	ns, err := s.AddComponent("namespace", Meta{App: opts.Name, Role: "namespace"})
	if err != nil {
		return nil, err
	}
	s.namespace = ns
	if opts.ExistingNamespace {
		s.External("Namespace", opts.Namespace, "owned by the stack this one is applied next to")
		return s, nil
	}
	ns.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: opts.Namespace,
		Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": opts.PodSecurity,
			"pod-security.kubernetes.io/audit":   PodSecurityRestricted,
			"pod-security.kubernetes.io/warn":    PodSecurityRestricted,
		},
	}})
	return s, nil
}

// ReservedNamespaces are the namespaces Kubernetes creates and uses
// itself (kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces).
// A stack never takes one: it would label kube-system with its Pod
// Security level, and delete or prune could reach the cluster's own objects.
var ReservedNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// CheckNamespace refuses a reserved namespace, or any namespace starting
// with "kube-" (reserved for Kubernetes system namespaces).
func CheckNamespace(ns string) error {
	for _, r := range ReservedNamespaces {
		if ns == r {
			return fmt.Errorf("%q is reserved by Kubernetes (reserved: %s); use a namespace of the stack's own", ns, strings.Join(ReservedNamespaces, ", "))
		}
	}
	if strings.HasPrefix(ns, "kube-") {
		return fmt.Errorf("%q: the prefix kube- is reserved for Kubernetes system namespaces", ns)
	}
	return nil
}

// Name returns the stack's name.
func (s *Stack) Name() string { return s.opts.Name }

// Namespace returns the namespace of the stack's namespaced objects.
func (s *Stack) Namespace() string { return s.opts.Namespace }

// Topology returns the cluster shape the stack is placed on; the zero
// Topology (no pools, so every placement fails with an error) for a nil
// stack.
func (s *Stack) Topology() Topology {
	if s == nil {
		return Topology{}
	}
	return s.opts.Topology
}

// Options returns the options the stack was built with, defaults filled in.
func (s *Stack) Options() Options { return s.opts }

// Components returns the components in the order they were added.
func (s *Stack) Components() []*Component {
	return append([]*Component(nil), s.components...)
}

// ComponentByName returns the component with the given name, or nil.
func (s *Stack) ComponentByName(name string) *Component { return s.byName[name] }

// ServiceHost returns the fully qualified DNS name of a Service in the
// stack's namespace: <service>.<namespace>.svc.<cluster domain>.
func (s *Stack) ServiceHost(service string) string {
	return fmt.Sprintf("%s.%s.svc.%s", service, s.opts.Namespace, s.opts.ClusterDomain)
}

// PodHost returns the fully qualified DNS name of a StatefulSet pod behind
// its headless Service: <pod>.<service>.<namespace>.svc.<cluster domain>.
func (s *Stack) PodHost(pod, headlessService string) string {
	return pod + "." + s.ServiceHost(headlessService)
}

// External declares that an object the stack references lives outside it:
// a Secret the user provides, the cluster's StorageClass, a ClusterRole.
// kind is the object's kind (e.g. "StorageClass"); namespaced kinds are
// looked up in the stack's namespace (a CRD-backed cluster-scoped kind must
// be declared with ClusterScoped first). reason is kept for the rendered
// kustomization and for reviewers.
func (s *Stack) External(kind, name, reason string) {
	ref := ObjectRef{Kind: kind, Name: name}
	if !isClusterScopedKind(kind) && !s.declaredClusterScoped(kind) {
		ref.Namespace = s.opts.Namespace
	}
	s.externals[ref] = reason
}

// ExternalRef is an object a stack references but does not render: a
// Stack.External declaration with its reason.
type ExternalRef struct {
	// Ref is the object's kind, namespace (namespaced kinds) and name.
	Ref ObjectRef
	// Reason says who provides it.
	Reason string
}

// Externals returns the stack's External declarations, sorted by
// reference, for checks against a cluster (package preflight).
func (s *Stack) Externals() []ExternalRef {
	var out []ExternalRef
	for _, ref := range sortedRefs(s.externals) {
		out = append(out, ExternalRef{Ref: ref, Reason: s.externals[ref]})
	}
	return out
}

// RuntimeLabel declares a pod label that a controller sets at run time
// (Patroni's role label, say), so a Service may select on it although no
// pod template carries it. Validation matches such selectors on their
// other labels. reason says who sets the label.
func (s *Stack) RuntimeLabel(key, reason string) { s.runtime[key] = reason }

// declaredClusterScoped reports whether kind was declared with
// ClusterScoped (a CRD-backed kind such as cert-manager's ClusterIssuer).
func (s *Stack) declaredClusterScoped(kind string) bool {
	for gk := range s.crdScopes {
		if gk.Kind == kind {
			return true
		}
	}
	return false
}

// ClusterScoped declares a CRD-backed kind whose CRD is not in the stack as
// cluster-scoped, so the stack does not give its objects a namespace.
func (s *Stack) ClusterScoped(gk schema.GroupKind) { s.crdScopes[gk] = true }

func isClusterScopedKind(kind string) bool {
	for gk := range clusterScoped {
		if gk.Kind == kind {
			return true
		}
	}
	return false
}

// MonitoringNamespace returns the namespace of the Prometheus that may
// scrape the stack (Options.MonitoringNamespace, defaulted).
func (s *Stack) MonitoringNamespace() string { return s.opts.MonitoringNamespace }
