package prometheus

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/stack"
)

// The configuration's shape is Prometheus 3.16's config/config.go
// (ScrapeConfig, AlertingConfig) and discovery/kubernetes/kubernetes.go
// (SDConfig: role, namespaces.names, selectors); promtool check config
// proves it in the tests.

type promConfig struct {
	Global        promGlobal     `json:"global"`
	RuleFiles     []string       `json:"rule_files"`
	Alerting      promAlerting   `json:"alerting"`
	ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string            `json:"scrape_interval"`
	EvaluationInterval string            `json:"evaluation_interval"`
	ExternalLabels     map[string]string `json:"external_labels"`
}

type promAlerting struct {
	Alertmanagers []amConfig `json:"alertmanagers"`
}

type amConfig struct {
	APIVersion    string         `json:"api_version"`
	StaticConfigs []staticConfig `json:"static_configs"`
}

type staticConfig struct {
	Targets []string `json:"targets"`
}

type scrapeConfig struct {
	JobName              string          `json:"job_name"`
	Scheme               string          `json:"scheme,omitempty"`
	MetricsPath          string          `json:"metrics_path"`
	HonorLabels          bool            `json:"honor_labels,omitempty"`
	Authorization        *authorization  `json:"authorization,omitempty"`
	TLSConfig            *tlsConfig      `json:"tls_config,omitempty"`
	KubernetesSDConfigs  []k8sSD         `json:"kubernetes_sd_configs"`
	RelabelConfigs       []relabelConfig `json:"relabel_configs"`
	MetricRelabelConfigs []relabelConfig `json:"metric_relabel_configs,omitempty"`
}

type authorization struct {
	CredentialsFile string `json:"credentials_file"`
}

type tlsConfig struct {
	CAFile string `json:"ca_file"`
}

type k8sSD struct {
	Role       string        `json:"role"`
	Namespaces *k8sNS        `json:"namespaces,omitempty"`
	Selectors  []k8sSelector `json:"selectors,omitempty"`
}

type k8sNS struct {
	Names []string `json:"names"`
}

type k8sSelector struct {
	Role  string `json:"role"`
	Label string `json:"label"`
}

type relabelConfig struct {
	SourceLabels []string `json:"source_labels,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Action       string   `json:"action,omitempty"`
	TargetLabel  string   `json:"target_label,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
}

// The kubelet series the rules and the coming dashboards use; the rest
// of the kubelet's and cAdvisor's series are dropped at scrape.
var (
	kubeletKeep  = "kubelet_volume_stats_(capacity|available|used)_bytes|kubelet_volume_stats_inodes(_free|_used)?"
	cadvisorKeep = "container_cpu_usage_seconds_total|container_memory_working_set_bytes|machine_cpu_cores|machine_memory_bytes"
)

// renderConfig renders prometheus.yml.
func renderConfig(cfg Config, c *stack.Component, targets []stack.ScrapeTarget, alertmanagers []string, ruleFile string) (string, error) {
	pc := promConfig{
		Global: promGlobal{
			ScrapeInterval:     stack.PromDuration(cfg.ScrapeInterval),
			EvaluationInterval: stack.PromDuration(cfg.EvaluationInterval),
			// Both replicas carry the same external labels, so their
			// alerts are identical and Alertmanager sends them once.
			ExternalLabels: map[string]string{"prometheus": c.Namespace() + "/" + cfg.Name},
		},
		RuleFiles: []string{rulesDir + "/" + ruleFile},
		Alerting:  promAlerting{Alertmanagers: []amConfig{{APIVersion: "v2", StaticConfigs: []staticConfig{{Targets: alertmanagers}}}}},
	}
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t.Job] {
			return "", fmt.Errorf("prometheus: two scrape jobs named %s (component %s, role %s); rename one component", t.Job, t.Component, t.Role)
		}
		seen[t.Job] = true
		pc.ScrapeConfigs = append(pc.ScrapeConfigs, podJob(t))
	}
	for _, j := range []struct{ name, path, keep string }{{"kubelet", "metrics", kubeletKeep}, {"cadvisor", "metrics/cadvisor", cadvisorKeep}} {
		pc.ScrapeConfigs = append(pc.ScrapeConfigs, nodeJob(j.name, j.path, j.keep))
	}
	b, err := yaml.Marshal(pc)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// podJob scrapes the pods of one role of a component: discovery limited
// to the namespace and the role's selector labels, kept on the scraped
// container port (by name when it has one), with namespace, pod,
// container and node labels. __meta_kubernetes_pod_container_port_name
// and _number are Prometheus' pod discovery labels
// (discovery/kubernetes/pod.go at v0.316.0).
func podJob(t stack.ScrapeTarget) scrapeConfig {
	keys := make([]string, 0, len(t.Selector))
	for k := range t.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sel []string
	for _, k := range keys {
		sel = append(sel, k+"="+t.Selector[k])
	}
	keep := relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_container_port_number"}, Regex: fmt.Sprint(t.Port), Action: "keep"}
	if t.PortName != "" {
		keep = relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_container_port_name"}, Regex: t.PortName, Action: "keep"}
	}
	return scrapeConfig{
		JobName:     t.Job,
		MetricsPath: t.Path,
		HonorLabels: t.HonorLabels,
		KubernetesSDConfigs: []k8sSD{{
			Role:       "pod",
			Namespaces: &k8sNS{Names: []string{t.Namespace}},
			Selectors:  []k8sSelector{{Role: "pod", Label: strings.Join(sel, ",")}},
		}},
		RelabelConfigs: []relabelConfig{
			keep,
			{SourceLabels: []string{"__meta_kubernetes_pod_phase"}, Regex: "Succeeded|Failed", Action: "drop"},
			{SourceLabels: []string{"__meta_kubernetes_namespace"}, TargetLabel: "namespace"},
			{SourceLabels: []string{"__meta_kubernetes_pod_name"}, TargetLabel: "pod"},
			{SourceLabels: []string{"__meta_kubernetes_pod_container_name"}, TargetLabel: "container"},
			{SourceLabels: []string{"__meta_kubernetes_pod_node_name"}, TargetLabel: "node"},
		},
	}
}

// nodeJob scrapes every node's kubelet through the API server proxy with
// the ServiceAccount's token (RBAC: nodes/proxy get).
func nodeJob(name, path, keep string) scrapeConfig {
	apiServer := "kubernetes.default.svc:443"
	metricsPath := "/api/v1/nodes/$1/proxy/" + path
	return scrapeConfig{
		JobName:             name,
		Scheme:              "https",
		MetricsPath:         "/metrics",
		HonorLabels:         true, // the kubelet's namespace and pod labels name the claim's and container's own
		Authorization:       &authorization{CredentialsFile: saDir + "/token"},
		TLSConfig:           &tlsConfig{CAFile: saDir + "/ca.crt"},
		KubernetesSDConfigs: []k8sSD{{Role: "node"}},
		RelabelConfigs: []relabelConfig{
			{TargetLabel: "__address__", Replacement: &apiServer},
			{SourceLabels: []string{"__meta_kubernetes_node_name"}, Regex: "(.+)", TargetLabel: "__metrics_path__", Replacement: &metricsPath},
			{SourceLabels: []string{"__meta_kubernetes_node_name"}, TargetLabel: "node"},
		},
		MetricRelabelConfigs: []relabelConfig{{SourceLabels: []string{"__name__"}, Regex: keep, Action: "keep"}},
	}
}
