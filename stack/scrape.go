package stack

import (
	"fmt"
	"strconv"
)

// ScrapeTarget is one set of pods a Prometheus scrapes: the pods of one
// role of a component whose template carries the prometheus.io/port
// annotation (and prometheus.io/path, default /metrics).
type ScrapeTarget struct {
	// Job is the scrape job's name (Component.Job); rules select on it.
	Job string
	// Component and Role name the pods.
	Component, Role string
	// Namespace is where the pods run.
	Namespace string
	// Selector is the pods' selector labels (name, instance, component).
	Selector map[string]string
	// Port is the scraped container port; PortName its name, empty when
	// the container port is unnamed.
	Port     int32
	PortName string
	// Path is the metrics path.
	Path string
	// HonorLabels keeps the labels the target exposes (namespace, pod,
	// container) over those of its own pod: for exporters that describe
	// other objects, such as kube-state-metrics. Set by the pod template
	// annotation AnnotationHonorLabels "true".
	HonorLabels bool
}

// AnnotationHonorLabels on a scraped pod template asks its Prometheus to
// keep the labels the target exposes ("true"): kube-state-metrics labels
// its series with the namespace and pod they describe, not its own.
const AnnotationHonorLabels = "iotstack.io/scrape-honor-labels"

// Job returns the name of the scrape job of a role of the component
// ("" is the main role): the component's name for its main role (Meta.Role),
// else the name, "-" and the role (kafka-exporter). Alert rules select
// their series with it (JobSelector).
func (c *Component) Job(role string) string {
	if role == "" || role == c.meta.Role {
		return c.name
	}
	return c.name + "-" + role
}

// JobSelector returns the PromQL label matchers of a role's scrape job
// in the stack's namespace: job="<Job(role)>",namespace="<namespace>".
func (c *Component) JobSelector(role string) string {
	return fmt.Sprintf(`job=%q,namespace=%q`, c.Job(role), c.Namespace())
}

// NamespaceSelector returns the PromQL matcher of the stack's namespace,
// namespace="<namespace>", for series the kubelet or kube-state-metrics
// label with it.
func (c *Component) NamespaceSelector() string {
	return fmt.Sprintf(`namespace=%q`, c.Namespace())
}

// ScrapeTargets returns what a Prometheus scrapes in the stack: one target
// per role and annotated port, in the order the components and their
// workloads were added. A role whose templates disagree on the port or
// path, or whose annotation is not a port number, is an error.
func (s *Stack) ScrapeTargets() ([]ScrapeTarget, error) {
	var out []ScrapeTarget
	for _, c := range s.components {
		seen := map[string]int{}
		for _, o := range c.objects {
			if isNil(o) {
				continue
			}
			t := podTemplateOf(o)
			if t == nil {
				continue
			}
			ps, ok := t.Annotations["prometheus.io/port"]
			if !ok {
				continue
			}
			l := c.merged(t.Labels, true)
			role := l[LabelComponent]
			port, err := strconv.ParseInt(ps, 10, 32)
			if err != nil || port < 1 || port > 65535 {
				return nil, fmt.Errorf("component %s: role %s: annotation prometheus.io/port: %q is not a port number (1-65535)", c.name, role, ps)
			}
			path := t.Annotations["prometheus.io/path"]
			if path == "" {
				path = "/metrics"
			}
			st := ScrapeTarget{Job: c.Job(role), Component: c.name, Role: role, Namespace: s.opts.Namespace,
				Selector: map[string]string{LabelName: l[LabelName], LabelInstance: l[LabelInstance], LabelComponent: role},
				Port:     int32(port), Path: path, HonorLabels: t.Annotations[AnnotationHonorLabels] == "true"}
			for _, ct := range t.Spec.Containers {
				for _, p := range ct.Ports {
					if p.ContainerPort == int32(port) {
						st.PortName = p.Name
					}
				}
			}
			if j, dup := seen[role]; dup {
				if out[j].Port != st.Port || out[j].Path != st.Path {
					return nil, fmt.Errorf("component %s: role %s: pod templates scrape %d%s and %d%s; one role has one scrape port and path", c.name, role, out[j].Port, out[j].Path, st.Port, st.Path)
				}
				continue
			}
			seen[role] = len(out)
			out = append(out, st)
		}
	}
	return out, nil
}
