// Package kubestatemetrics renders kube-state-metrics (registry.k8s.io/
// kube-state-metrics/kube-state-metrics v2.20.0) for a monitoring stack:
// one replica that turns the Kubernetes objects of the watched stack's
// namespace into series (pods' waiting reasons, Jobs' conditions, PDBs'
// healthy counts, claims' phases), scraped by the bundled Prometheus like
// every other exporter (a job per component, here "kube-state-metrics",
// with honor_labels, so that a series keeps the namespace and pod it
// describes instead of kube-state-metrics' own).
//
// Least privilege, narrower than upstream's examples/standard (a
// ClusterRole over every resource it knows): --resources is limited to
// pods, deployments, statefulsets, jobs, cronjobs (the backups' restore
// drills: kube_cronjob_status_last_successful_time),
// poddisruptionbudgets, persistentvolumeclaims and nodes, and
// --namespaces to the watched stack's namespace, so a Role in that
// namespace grants list and watch on the seven namespaced resources, and a ClusterRole only list and watch on
// nodes (cluster-scoped).
//
// Facts, from kubernetes/kube-state-metrics at tag v2.20.0: Dockerfile
// (distroless static, USER nobody, ENTRYPOINT /kube-state-metrics
// --port=8080 --telemetry-port=8081, EXPOSE 8080 8081);
// examples/standard/deployment.yaml (ports http-metrics 8080 and
// telemetry 8081, liveness GET /livez on http-metrics, readiness GET
// /readyz on telemetry, runAsUser 65534, read-only root file system);
// docs/developer/cli-arguments.md (--resources, --namespaces, --port,
// --telemetry-port); internal/store/builder.go (buildNodeStores goes
// through buildClusterScopedStores, which lists with v1.NamespaceAll
// whatever --namespaces says; the namespaced stores list per namespace of
// --namespaces, so a Role in that namespace suffices for them).
//
// What remains: one replica (kube-state-metrics is stateless; a second
// replica would double every series, and upstream shards rather than
// replicates), so its series have a gap while it is rescheduled, which
// the rules' windows absorb; the monitoring namespace's own objects are
// not watched.
package kubestatemetrics

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

const (
	// Image is the default image, pinned.
	Image = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0"
	// MetricsPort serves the objects' series (/metrics) and /livez.
	MetricsPort = 8080
	// TelemetryPort serves kube-state-metrics' own series and /readyz.
	TelemetryPort = 8081
	uid           = 65534
)

// Resources are the kinds kube-state-metrics watches (its --resources),
// the only ones its RBAC grants: what the alert rules and dashboards read.
var Resources = []string{"cronjobs", "deployments", "jobs", "nodes", "persistentvolumeclaims", "poddisruptionbudgets", "pods", "statefulsets"}

// Config configures kube-state-metrics. Zero fields take defaults.
type Config struct {
	// Name names the Deployment, Service and RBAC; default "kube-state-metrics".
	Name string
	// Image overrides the pinned image.
	Image string
	// Pool is the node pool; empty means any node.
	Pool string
	// Resources default to 200m CPU / 256Mi limits (one namespace's
	// objects).
	Resources stack.Resources
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "kube-state-metrics"
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("200m", "256Mi")
	}
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("kube-state-metrics", c.Name, 40); err != nil {
		return err
	}
	if err := sts.CheckImages("kube-state-metrics", [2]string{"image", c.Image}); err != nil {
		return err
	}
	return c.Resources.Validate("kube-state-metrics: resources")
}

// Handle is what the rest of the monitoring needs of kube-state-metrics.
type Handle struct {
	// Component owns the objects; its scrape job is Component.Job("").
	Component *stack.Component
	// Service is the Service name; Port its metrics port.
	Service string
	Port    int32
}

// New adds kube-state-metrics to the monitoring stack s, watching the
// namespace of the target stack.
func New(s, target *stack.Stack, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil || target == nil {
		return nil, fmt.Errorf("kube-state-metrics: the monitoring and the target stack are required")
	}
	if err := s.Topology().Fits("kube-state-metrics", cfg.Pool, 1, cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: "kube-state-metrics", Role: "exporter", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	sel := c.SelectorLabels()
	annotations := sts.ScrapeAnnotations(MetricsPort, "/metrics")
	annotations[stack.AnnotationHonorLabels] = "true"
	pod := corev1.PodSpec{
		ServiceAccountName:           cfg.Name,
		AutomountServiceAccountToken: ptr.To(true), // it lists and watches through the API server
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid}),
		Containers: []corev1.Container{{
			Name:  "kube-state-metrics",
			Image: cfg.Image,
			Args:  Args(target.Namespace()),
			Ports: []corev1.ContainerPort{
				{Name: "http-metrics", ContainerPort: MetricsPort},
				{Name: "telemetry", ContainerPort: TelemetryPort},
			},
			Resources:       cfg.Resources.Requirements(),
			LivenessProbe:   stack.HTTPProbe("/livez", "http-metrics", stack.ProbeTiming{InitialDelaySeconds: 5, PeriodSeconds: 10, TimeoutSeconds: 5}),
			ReadinessProbe:  stack.HTTPProbe("/readyz", "telemetry", stack.ProbeTiming{InitialDelaySeconds: 5, PeriodSeconds: 10, TimeoutSeconds: 5}),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
		}},
	}
	if err := s.Topology().Place(&pod, sel, stack.Placement{Pool: cfg.Pool}); err != nil {
		return nil, fmt.Errorf("kube-state-metrics: placement: %w", err)
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel, Annotations: annotations},
				Spec:       pod,
			},
		},
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name}, AutomountServiceAccountToken: ptr.To(false)}
	c.Add(sa, sts.Client(cfg.Name, sel, []corev1.ServicePort{sts.Port("http-metrics", MetricsPort)}), deploy)
	c.Add(RBAC(cfg.Name, s.Namespace(), target.Namespace())...)
	return &Handle{Component: c, Service: cfg.Name, Port: MetricsPort}, nil
}

// Args are kube-state-metrics' arguments: the ports of the image's
// entrypoint, the resources it watches and the one namespace.
func Args(namespace string) []string {
	return []string{
		fmt.Sprintf("--port=%d", MetricsPort),
		fmt.Sprintf("--telemetry-port=%d", TelemetryPort),
		"--resources=" + strings.Join(Resources, ","),
		"--namespaces=" + namespace,
	}
}

// RBAC returns the least-privilege RBAC of the ServiceAccount name in
// namespace ns watching targetNS: a Role there to list and watch the
// namespaced Resources, a ClusterRole to list and watch nodes. The
// ClusterRole's name carries the namespace, so two monitoring stacks do
// not share it.
func RBAC(name, ns, targetNS string) []stack.Object {
	verbs := []string{"list", "watch"}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: targetNS},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims", "pods"}, Verbs: verbs},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: verbs},
			{APIGroups: []string{"batch"}, Resources: []string{"cronjobs", "jobs"}, Verbs: verbs},
			{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: verbs},
		}}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name + "-nodes"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: verbs}}}
	return []stack.Object{
		role,
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: targetNS},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, Subjects: subject},
		cr,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: cr.Name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}, Subjects: subject},
	}
}
