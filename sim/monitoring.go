package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/apply"
	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// monitoringSet is the --set that Options.Monitoring adds.
const monitoringSet = "monitoring.enabled=true"

// monitoringOutput returns the monitoring part of a built profile and its
// synthesized output, nils when the values leave monitoring off.
func monitoringOutput(b *profiles.Built) (*stack.Stack, *stack.Output, error) {
	for _, part := range b.Parts {
		if part.Dir == profiles.MonitoringDir {
			out, err := part.Stack.Synth()
			return part.Stack, out, err
		}
	}
	return nil, nil, nil
}

// applyMonitoring applies the monitoring part after the stack (with
// volumes for its claims in every zone, as for the stack) and checks that
// its objects are ready and where its pods run (placement).
func applyMonitoring(ctx context.Context, cs kubernetes.Interface, eng *apply.Engine, mon *stack.Output, r *Report) error {
	for _, pv := range Volumes(mon.Topology, mon) {
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("monitoring: volume %s: %w", pv.Name, err)
		}
	}
	if _, err := eng.Apply(ctx, mon); err != nil {
		r.check(false, "monitoring: apply: %v", err)
		return nil
	}
	r.check(true, "monitoring: every object of namespace %s accepted and ready: %d objects", mon.Namespace, len(mon.Objects))
	return placement(ctx, cs, mon, r)
}

// sdResult is one target group entry of promtool check service-discovery
// (prometheus v0.316.0 cmd/promtool/sd.go sdCheckResult): the labels
// discovered and those left after relabelling (none: dropped).
type sdResult struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	Labels           map[string]string `json:"labels"`
	Error            any               `json:"error,omitempty"`
}

// checkServiceDiscovery runs `promtool check service-discovery` for every
// scrape job of the rendered prometheus.yml against the simulated API
// server, with a kubeconfig holding a token of Prometheus's own service
// account (so that its RBAC is what discovery uses), and checks that every
// job lists exactly its expected targets: one per running pod of the
// role (ScrapeTargets of the watched stack and of the monitoring stack,
// which Prometheus scrapes too) and one per node for the kubelet and
// cAdvisor jobs. No Prometheus server is started: the pods'
// IPs are fake.
//
// The idle stacks are parts Prometheus is configured for but that are not
// applied during the check (the load test, applied separately): their
// jobs must list no target.
func checkServiceDiscovery(ctx context.Context, root string, cfg *rest.Config, cs kubernetes.Interface, scraped []*stack.Stack, mon *stack.Output, r *Report, log io.Writer, idle ...*stack.Stack) error {
	tl, ok, err := montools.Locate(root)
	if err != nil {
		return err
	}
	if !ok {
		r.check(false, "monitoring: promtool is not built (%s); run go tool mage monitoringtools", tl.Dir)
		return nil
	}
	promYAML, sa, err := prometheusConfig(mon)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "iotstack-sim-sd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// A short-lived token of Prometheus's service account (TokenRequest).
	tok, err := cs.CoreV1().ServiceAccounts(mon.Namespace).CreateToken(ctx, sa, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("monitoring: token of service account %s/%s: %w", mon.Namespace, sa, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["sim"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData, CertificateAuthority: cfg.CAFile, InsecureSkipTLSVerify: cfg.Insecure}
	kc.AuthInfos["prometheus"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["sim"] = &clientcmdapi.Context{Cluster: "sim", AuthInfo: "prometheus"}
	kc.CurrentContext = "sim"
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		return err
	}

	// The rendered configuration with every kubernetes_sd_config pointed
	// at that kubeconfig (in the cluster it uses the pod's own account).
	var pc map[string]any
	if err := yaml.Unmarshal([]byte(promYAML), &pc); err != nil {
		return fmt.Errorf("monitoring: prometheus.yml: %w", err)
	}
	var jobs []string
	scs, _ := pc["scrape_configs"].([]any)
	for _, sc := range scs {
		m, _ := sc.(map[string]any)
		jobs = append(jobs, fmt.Sprint(m["job_name"]))
		sds, _ := m["kubernetes_sd_configs"].([]any)
		for _, sd := range sds {
			if sdm, ok := sd.(map[string]any); ok {
				sdm["kubeconfig_file"] = kubeconfig
			}
		}
	}
	b, err := yaml.Marshal(pc)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return err
	}

	want, err := expectedTargets(ctx, cs, append(append([]*stack.Stack(nil), scraped...), idle...))
	if err != nil {
		return err
	}
	idleJob := map[string]bool{}
	for _, st := range idle {
		ts, err := st.ScrapeTargets()
		if err != nil {
			return err
		}
		for _, t := range ts {
			idleJob[t.Job] = true
		}
	}
	start := time.Now()
	results := make([][]sdResult, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runSD(ctx, tl.Promtool, cfgPath, job)
		}()
	}
	wg.Wait()
	fmt.Fprintf(log, "promtool check service-discovery: %d jobs in %s\n", len(jobs), time.Since(start).Round(time.Millisecond))
	for i, job := range jobs {
		if errs[i] != nil {
			r.check(false, "monitoring: service discovery of job %s: %v", job, errs[i])
			continue
		}
		var got []string
		bad := []string{}
		for _, res := range results[i] {
			if res.Error != nil {
				bad = append(bad, fmt.Sprint(res.Error))
			}
			if len(res.Labels) == 0 {
				continue // dropped by relabelling (another port or container)
			}
			if res.Labels["job"] != job {
				bad = append(bad, fmt.Sprintf("target %s with job %q", res.Labels["__address__"], res.Labels["job"]))
			}
			name := res.Labels["pod"]
			if name == "" {
				name = res.Labels["node"]
			}
			got = append(got, name)
		}
		sort.Strings(got)
		exp, known := want[job]
		if idleJob[job] {
			r.check(known && len(bad) == 0 && len(got) == 0 && len(exp) == 0,
				"monitoring: promtool check service-discovery job %s of a part not applied lists no target (got %s; problems: %s)",
				job, strings.Join(got, ","), strings.Join(bad, "; "))
			continue
		}
		r.check(known && len(bad) == 0 && strings.Join(got, ",") == strings.Join(exp, ",") && len(got) > 0,
			"monitoring: promtool check service-discovery job %s lists its %d expected targets (want %s; got %s; problems: %s)",
			job, len(exp), strings.Join(exp, ","), strings.Join(got, ","), strings.Join(bad, "; "))
	}
	for job := range want {
		if !contains(jobs, job) {
			r.check(false, "monitoring: prometheus.yml has no scrape job %s", job)
		}
	}
	return nil
}

// runSD runs promtool check service-discovery for one job.
func runSD(ctx context.Context, promtool, cfgPath, job string) ([]sdResult, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "service-discovery", "--timeout=5s", cfgPath, job)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res []sdResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("output: %v: %.300s", err, out)
	}
	return res, nil
}

// expectedTargets returns, per scrape job, the sorted names of what it
// must scrape: the running pods of each scrape target of the stacks,
// every node for the kubelet and cadvisor jobs.
func expectedTargets(ctx context.Context, cs kubernetes.Interface, stacks []*stack.Stack) (map[string][]string, error) {
	var targets []stack.ScrapeTarget
	for _, s := range stacks {
		ts, err := s.ScrapeTargets()
		if err != nil {
			return nil, err
		}
		targets = append(targets, ts...)
	}
	want := map[string][]string{}
	for _, t := range targets {
		pods, err := cs.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(t.Selector).String()})
		if err != nil {
			return nil, err
		}
		names := []string{}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			names = append(names, p.Name)
		}
		sort.Strings(names)
		want[t.Job] = names
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var nn []string
	for _, n := range nodes.Items {
		nn = append(nn, n.Name)
	}
	sort.Strings(nn)
	want["kubelet"], want["cadvisor"] = nn, nn
	return want, nil
}

// prometheusConfig returns the rendered prometheus.yml of the monitoring
// output and the service account of the workload mounting it.
func prometheusConfig(mon *stack.Output) (string, string, error) {
	var yml, comp string
	for _, o := range mon.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok {
			if d, ok := cm.Data["prometheus.yml"]; ok {
				yml, comp = d, o.Component
			}
		}
	}
	if yml == "" {
		return "", "", fmt.Errorf("monitoring: no ConfigMap with prometheus.yml")
	}
	for _, o := range mon.Objects {
		if o.Component != comp {
			continue
		}
		switch w := o.Object.(type) {
		case *appsv1.StatefulSet:
			return yml, w.Spec.Template.Spec.ServiceAccountName, nil
		case *appsv1.Deployment:
			return yml, w.Spec.Template.Spec.ServiceAccountName, nil
		}
	}
	return "", "", fmt.Errorf("monitoring: no workload of component %s", comp)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
