package prometheus

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/stack"
)

// The Prometheus Operator's API, monitoring.coreos.com/v1, as read in
// prometheus-operator/prometheus-operator at tag v0.93.0:
// pkg/apis/monitoring/v1/podmonitor_types.go (PodMonitorSpec: selector,
// namespaceSelector, podMetricsEndpoints; PodMetricsEndpoint: port,
// portNumber, path, honorLabels, relabelings) and prometheusrule_types.go
// (PrometheusRuleSpec.groups of name and rules: alert, expr, for, labels,
// annotations). pkg/prometheus/promcfg.go (generatePodMonitorConfig) sets
// the namespace, container and pod labels and a job label of its own
// before the endpoint's relabelings, so a relabeling of job here wins and
// the rules' job selectors hold.
const (
	// OperatorGroup is the Prometheus Operator's API group.
	OperatorGroup = "monitoring.coreos.com"
	operatorAPI   = OperatorGroup + "/v1"
)

// OperatorHandle is what the Prometheus Operator option renders.
type OperatorHandle struct {
	// Component owns the PodMonitors and the PrometheusRule.
	Component *stack.Component
	// Rules is the PrometheusRule's rule file (the same groups the
	// bundled Prometheus loads), for checks (promtool check rules).
	Rules string
}

// NewOperator renders, for a cluster that runs the Prometheus Operator,
// what New and the bundled Alertmanager would run: a PodMonitor per scrape
// target of the target stack, of s and of also (the same jobs, ports,
// paths and honor_labels as the bundled configuration) and one
// PrometheusRule with the target's alert rules and this package's own.
// The objects are in s's namespace, labelled like every iotstack object:
// the operator's Prometheus must select them (podMonitorSelector,
// ruleSelector and their namespace selectors), and its Alertmanager routes
// the alerts. The kubelet and cAdvisor jobs are not rendered: an operator
// installation scrapes them itself (kube-prometheus' kubelet
// ServiceMonitor), under its own job names, which the capacity rules'
// job="cadvisor" selector does not match.
func NewOperator(s, target *stack.Stack, also []*stack.Stack) (*OperatorHandle, error) {
	if s == nil || target == nil {
		return nil, fmt.Errorf("prometheus: operator: the monitoring and the target stack are required")
	}
	targets, err := target.ScrapeTargets()
	if err != nil {
		return nil, fmt.Errorf("prometheus: operator: target stack: %w", err)
	}
	for _, o := range append([]*stack.Stack{s}, also...) {
		if o == nil {
			return nil, fmt.Errorf("prometheus: operator: also: a nil stack")
		}
		more, err := o.ScrapeTargets()
		if err != nil {
			return nil, fmt.Errorf("prometheus: operator: stack %s: %w", o.Name(), err)
		}
		targets = append(targets, more...)
	}
	for _, g := range target.Alerts("") {
		switch g.Component {
		case GroupKubernetes, GroupCapacity, GroupWatchdog:
			return nil, fmt.Errorf("prometheus: target component %s has alert rules, and its name is that of a rule group of Prometheus' own; rename the component", g.Component)
		}
	}
	const name = "monitors"
	c, err := s.AddComponent(name, stack.Meta{App: "prometheus-operator-config", Role: "monitors"})
	if err != nil {
		return nil, err
	}
	groups := append(target.Alerts(s.Name()+"/"+name), clusterRules(target)...)
	rules, err := stack.RuleFile(groups)
	if err != nil {
		return nil, fmt.Errorf("prometheus: operator: rule file: %w", err)
	}
	var spec map[string]any
	if err := yaml.Unmarshal(rules, &spec); err != nil {
		return nil, fmt.Errorf("prometheus: operator: rule file: %w", err)
	}
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t.Job] {
			return nil, fmt.Errorf("prometheus: two scrape jobs named %s (component %s, role %s); rename one component", t.Job, t.Component, t.Role)
		}
		seen[t.Job] = true
		c.Add(podMonitor(t))
	}
	c.Add(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operatorAPI,
		"kind":       "PrometheusRule",
		"metadata":   map[string]any{"name": target.Namespace() + "-rules"},
		"spec":       spec,
	}})
	for _, crd := range []string{"podmonitors", "prometheusrules"} {
		s.External("CustomResourceDefinition", crd+"."+OperatorGroup, "the Prometheus Operator, installed in the cluster (monitoring.operator), reads the PodMonitors and the PrometheusRule")
	}
	return &OperatorHandle{Component: c, Rules: string(rules)}, nil
}

// podMonitor is the PodMonitor of one scrape target: its pods by selector
// in its namespace, the named port (or the number when the port has no
// name), the job label of the bundled configuration and the node label.
func podMonitor(t stack.ScrapeTarget) *unstructured.Unstructured {
	keys := make([]string, 0, len(t.Selector))
	for k := range t.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	match := map[string]any{}
	for _, k := range keys {
		match[k] = t.Selector[k]
	}
	ep := map[string]any{
		"path": t.Path,
		"relabelings": []any{
			map[string]any{"targetLabel": "job", "replacement": t.Job},
			map[string]any{"sourceLabels": []any{"__meta_kubernetes_pod_node_name"}, "targetLabel": "node"},
		},
	}
	if t.PortName != "" {
		ep["port"] = t.PortName
	} else {
		ep["portNumber"] = int64(t.Port)
	}
	if t.HonorLabels {
		ep["honorLabels"] = true
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operatorAPI,
		"kind":       "PodMonitor",
		"metadata":   map[string]any{"name": t.Job},
		"spec": map[string]any{
			"selector":            map[string]any{"matchLabels": match},
			"namespaceSelector":   map[string]any{"matchNames": []any{t.Namespace}},
			"podMetricsEndpoints": []any{ep},
		},
	}}
}
