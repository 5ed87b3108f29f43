// Package prometheus renders a highly available Prometheus for a stack:
// two replicas (prom/prometheus 3.16) in different zones, each on its own
// volume with retention by time and size, scraping the same targets and
// evaluating the same rules (Alertmanager deduplicates their identical
// alerts).
//
// It runs in the monitoring stack (the monitoring namespace, which the
// watched stack's NetworkPolicies already admit on the scrape ports) and
// watches another stack, the target: its scrape configuration has a job
// per scraped role of every component of the target (Stack.ScrapeTargets:
// kubernetes_sd of role pod limited to the target's namespace and the
// role's selector labels, kept on the named container port, so a pod with
// several ports is scraped once on the right one; the app.kubernetes.io/
// instance label is not mapped onto `instance`), a job for itself and for
// the monitoring stack's other components, and the kubelet's volume
// statistics and cAdvisor through the API server proxy
// (/api/v1/nodes/<node>/proxy/metrics[/cadvisor]), so every claim's usage
// is known without a privileged node agent. Its rule file is the target's
// alert rules (Stack.Alerts; build Prometheus after every component) and
// the cluster rules of this package (kubernetes.go).
//
// RBAC, least privilege: a Role in the target namespace and one in its own
// namespace to list and watch pods (the only discovery role used); a
// ClusterRole to list and watch nodes (node discovery is cluster-scoped)
// and to get nodes/proxy (the kubelet's metrics through the API server).
//
// The pod, Job and PodDisruptionBudget rules of kubernetes.go read the
// series of kube-state-metrics (components/kubestatemetrics), which the
// profiles deploy beside Prometheus and which this package scrapes with
// honor_labels (stack.AnnotationHonorLabels).
//
// What remains (issue 14): Grafana and dashboards, the Prometheus
// Operator option.
package prometheus

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/alertmanager"
	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Image facts, from prometheus/prometheus v3.16.0 (the module
// github.com/prometheus/prometheus@v0.316.0, VERSION 3.16.0): Dockerfile
// on quay.io/prometheus/busybox with USER nobody (uid/gid 65534 in
// busybox), EXPOSE 9090, VOLUME /prometheus, WORKDIR /prometheus,
// /etc/prometheus/prometheus.yml the example configuration, CMD
// --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus.
const (
	// Image is the default image, pinned.
	Image = "prom/prometheus:v3.16.0"
	// WebPort serves the API, /metrics, /-/ready and /-/healthy.
	WebPort   = 9090
	uid       = 65534
	configDir = "/etc/prometheus/config"
	rulesDir  = "/etc/prometheus/rules"
	dataDir   = "/prometheus"
	saDir     = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// Config configures Prometheus. Zero fields take defaults.
type Config struct {
	// Name names the StatefulSet, Services and RBAC; default "prometheus".
	Name string
	// Replicas is 2 by default: one per zone in two zones.
	Replicas int32
	// Image overrides the pinned image.
	Image string
	// Pool is the node pool; empty means any node.
	Pool string
	// Resources default to the ThingsBoard article's pod table: 1 CPU / 1 GiB limits.
	Resources stack.Resources
	// Data is each replica's TSDB volume; default 50Gi.
	Data stack.Storage
	// Retention is --storage.tsdb.retention.time; default 15 days.
	Retention time.Duration
	// RetentionSizePercent is --storage.tsdb.retention.size as a share of
	// Data.Size; default 80 (the rest absorbs the WAL and compaction).
	RetentionSizePercent int
	// ScrapeInterval and EvaluationInterval default to 30s.
	ScrapeInterval, EvaluationInterval time.Duration
	// Also are further stacks whose pods it scrapes, such as the node
	// exporter's privileged namespace: a job per scrape target and a Role
	// for pod discovery in each one's namespace.
	Also []*stack.Stack
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "prometheus"
	}
	if c.Replicas == 0 {
		c.Replicas = 2
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("1", "1Gi")
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("50Gi")
	}
	if c.Retention == 0 {
		c.Retention = 15 * 24 * time.Hour
	}
	if c.RetentionSizePercent == 0 {
		c.RetentionSizePercent = 80
	}
	if c.ScrapeInterval == 0 {
		c.ScrapeInterval = 30 * time.Second
	}
	if c.EvaluationInterval == 0 {
		c.EvaluationInterval = 30 * time.Second
	}
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("prometheus", c.Name, 40); err != nil {
		return err
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("prometheus: replicas %d; allowed 1 to 5 (2 for HA)", c.Replicas)
	}
	if err := c.Resources.Validate("prometheus: resources"); err != nil {
		return err
	}
	if c.Data.Size.Cmp(resource.MustParse("1Gi")) < 0 {
		return fmt.Errorf("prometheus: data.size %s; allowed 1Gi or more", c.Data.Size.String())
	}
	if c.Retention < time.Hour || c.Retention%time.Hour != 0 {
		return fmt.Errorf("prometheus: retention %s; allowed a whole number of hours, 1h or more", c.Retention)
	}
	if c.RetentionSizePercent < 10 || c.RetentionSizePercent > 95 {
		return fmt.Errorf("prometheus: retentionSizePercent %d; allowed 10 to 95", c.RetentionSizePercent)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"scrapeInterval", c.ScrapeInterval}, {"evaluationInterval", c.EvaluationInterval}} {
		if d.d < 5*time.Second || d.d > 5*time.Minute || d.d%time.Second != 0 {
			return fmt.Errorf("prometheus: %s %s; allowed whole seconds from 5s to 5m", d.name, d.d)
		}
	}
	return nil
}

// retentionSize is the share of the volume in MiB, in Prometheus' byte
// units (its "MB" is 2^20 bytes: github.com/alecthomas/units Base2Bytes).
func (c Config) retentionSize() string {
	return fmt.Sprintf("%dMB", c.Data.Size.Value()/(1<<20)*int64(c.RetentionSizePercent)/100)
}

// Handle is what the rest of the monitoring needs of Prometheus.
type Handle struct {
	// Component owns the objects.
	Component *stack.Component
	// Service is the client Service name; Port its port.
	Service string
	Port    int32
	// Config is the rendered prometheus.yml and Rules the rule file, for
	// checks (promtool check config / check rules) and tests.
	Config, Rules string
	// RuleFile is the rule file's name in the rules directory.
	RuleFile string
}

// New adds Prometheus to the monitoring stack s, watching target (which
// must be complete: its alert rules are read now, and a rule added later
// is an error at its synthesis), sending alerts to am.
func New(s, target *stack.Stack, am *alertmanager.Handle, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if target == nil || am == nil {
		return nil, fmt.Errorf("prometheus: the target stack and the Alertmanager handle are required")
	}
	if err := s.Topology().Fits("prometheus", cfg.Pool, int(cfg.Replicas), cfg.Resources); err != nil {
		return nil, err
	}
	targets, err := target.ScrapeTargets()
	if err != nil {
		return nil, fmt.Errorf("prometheus: target stack: %w", err)
	}
	own, err := s.ScrapeTargets()
	if err != nil {
		return nil, fmt.Errorf("prometheus: monitoring stack: %w", err)
	}
	for _, o := range cfg.Also {
		if o == nil {
			return nil, fmt.Errorf("prometheus: also: a nil stack")
		}
		more, err := o.ScrapeTargets()
		if err != nil {
			return nil, fmt.Errorf("prometheus: stack %s: %w", o.Name(), err)
		}
		own = append(own, more...)
	}
	for _, g := range target.Alerts("") {
		switch g.Component {
		case GroupKubernetes, GroupCapacity, GroupWatchdog:
			return nil, fmt.Errorf("prometheus: target component %s has alert rules, and its name is that of a rule group of Prometheus' own; rename the component", g.Component)
		}
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "metrics", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	own = append(own, stack.ScrapeTarget{Job: c.Job(""), Component: c.Name(), Role: "metrics", Namespace: c.Namespace(),
		Selector: c.SelectorLabels(), Port: WebPort, PortName: "web", Path: "/metrics"})
	groups := target.Alerts(s.Name() + "/" + cfg.Name)
	groups = append(groups, clusterRules(target)...)
	rules, err := stack.RuleFile(groups)
	if err != nil {
		return nil, fmt.Errorf("prometheus: rule file: %w", err)
	}
	ruleFile := target.Namespace() + ".rules.yml"
	yml, err := renderConfig(cfg, c, append(targets, own...), am.Targets, ruleFile)
	if err != nil {
		return nil, err
	}
	config := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-config"}, Data: map[string]string{"prometheus.yml": yml}}
	ruleCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-rules"}, Data: map[string]string{ruleFile: string(rules)}}

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name}, AutomountServiceAccountToken: ptr.To(false)}
	namespaces := []string{s.Namespace(), target.Namespace()}
	for _, o := range cfg.Also {
		namespaces = append(namespaces, o.Namespace())
	}
	objs := rbac(cfg.Name, namespaces)

	container := corev1.Container{
		Name:  "prometheus",
		Image: cfg.Image,
		Args: []string{
			"--config.file=" + configDir + "/prometheus.yml",
			"--storage.tsdb.path=" + dataDir,
			"--storage.tsdb.retention.time=" + stack.PromDuration(cfg.Retention),
			"--storage.tsdb.retention.size=" + cfg.retentionSize(),
			fmt.Sprintf("--web.listen-address=:%d", WebPort),
		},
		Ports:           []corev1.ContainerPort{{Name: "web", ContainerPort: WebPort}},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  stack.HTTPProbe("/-/ready", "web", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
		LivenessProbe:   stack.HTTPProbe("/-/healthy", "web", stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config", MountPath: configDir, ReadOnly: true},
			{Name: "rules", MountPath: rulesDir, ReadOnly: true},
			{Name: "data", MountPath: dataDir},
		},
	}
	cmVolume := func(name, cm string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}}
	}
	sel := c.SelectorLabels()
	headless := cfg.Name + "-headless"
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name, Service: headless, Replicas: cfg.Replicas, Parallel: true, Selector: sel,
		Placement:      stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true},
		Security:       stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod:    120, // the TSDB head is written out on shutdown
		PodAnnotations: sts.ScrapeAnnotations(WebPort, "/metrics"),
		Containers:     []corev1.Container{container},
		Volumes:        []corev1.Volume{cmVolume("config", config.Name), cmVolume("rules", ruleCM.Name)},
		Config:         []*corev1.ConfigMap{config, ruleCM},
		Claims:         []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	spec := &set.Spec.Template.Spec
	spec.ServiceAccountName = sa.Name
	spec.AutomountServiceAccountToken = ptr.To(true) // discovery and the kubelet through the API server
	// Prometheus sends alerts to every Alertmanager replica.
	c.Pods("").Uses(am.Web())
	c.Add(sa, config, ruleCM,
		sts.Headless(headless, sel, []corev1.ServicePort{sts.Port("web", WebPort)}),
		sts.Client(cfg.Name, sel, []corev1.ServicePort{sts.Port("web", WebPort)}),
		stack.PDB(cfg.Name, sel, 1),
		set,
	)
	c.Add(objs...)
	return &Handle{Component: c, Service: cfg.Name, Port: WebPort, Config: yml, Rules: string(rules), RuleFile: ruleFile}, nil
}

// rbac returns the least-privilege RBAC: pods in the namespaces, its own
// first (role pod discovery), nodes (node discovery, cluster-scoped) and nodes/proxy
// (GET of the kubelet's /metrics and /metrics/cadvisor through the API
// server). The ClusterRole's name carries the namespace, so two
// monitoring stacks do not share it.
func rbac(name string, namespaces []string) []stack.Object {
	ns := namespaces[0]
	verbs := []string{"get", "list", "watch"}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}
	var out []stack.Object
	for _, n := range uniq(namespaces) {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name + "-discovery", Namespace: n},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: verbs}}}
		out = append(out, role, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name + "-discovery", Namespace: n},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, Subjects: subject})
	}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name + "-nodes"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: verbs},
			{APIGroups: []string{""}, Resources: []string{"nodes/proxy"}, Verbs: []string{"get"}},
		}}
	out = append(out, cr, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: cr.Name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}, Subjects: subject})
	return out
}

// uniq returns the names without repeats, in their first order.
func uniq(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
