package profiles

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/alertmanager"
	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/components/grafana"
	"github.com/iotstack/iotstack/components/kubestatemetrics"
	"github.com/iotstack/iotstack/components/nodeexporter"
	"github.com/iotstack/iotstack/components/prometheus"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// Monitoring is the bundled monitoring of a profile: Prometheus,
// Alertmanager and kube-state-metrics in the monitoring namespace,
// watching the profile's stack with the alert rules its components
// contribute, Grafana with a dashboard per component, and optionally the
// node exporter.
type Monitoring struct {
	// Enabled renders the monitoring stack into the profile's
	// monitoring/ directory (its own kustomization, applied after the
	// stack). Default true.
	Enabled bool `json:"enabled"`
	// Receivers are where Alertmanager sends alerts. Their secrets (URLs
	// with tokens, passwords) are never values: they are keys of the
	// Secret alertmanager-receivers in the monitoring namespace, which
	// you create before applying (see the README).
	Receivers Receivers `json:"receivers"`
	// NodeExporter adds the Prometheus node exporter on every node, in a
	// namespace of its own, <monitoringNamespace>-node-exporter, which
	// alone enforces Pod Security "privileged" (the exporter reads the
	// host's network, processes and root file system, read-only);
	// rendered into the profile's node-exporter/ directory. Only with
	// enabled (Prometheus scrapes it). Default false.
	NodeExporter bool `json:"nodeExporter"`
	// Operator is for clusters that run the Prometheus Operator: instead
	// of the bundled Prometheus and Alertmanager, render a PodMonitor per
	// scrape job and a PrometheusRule with every alert rule
	// (monitoring.coreos.com/v1) into the monitoring namespace, for the
	// operator's Prometheus to select (podMonitorSelector, ruleSelector)
	// and its Alertmanager to route; receivers must then be empty.
	// kube-state-metrics is still rendered. Only with enabled. Default
	// false.
	Operator bool `json:"operator"`
	// Prometheus sizes the bundled Prometheus.
	Prometheus PrometheusValues `json:"prometheus"`
	// Alertmanager sizes the bundled Alertmanager (default 100m CPU /
	// 128Mi limits).
	Alertmanager Sizing `json:"alertmanager"`
	// Grafana sizes Grafana (default 1 CPU / 1Gi limits, the ThingsBoard
	// article's pod table; dojot: the guide's 100m/100Mi requests and
	// 200m/200Mi limits).
	Grafana Sizing `json:"grafana"`
	// KubeStateMetrics sizes kube-state-metrics (default 200m CPU / 256Mi
	// limits).
	KubeStateMetrics Sizing `json:"kubeStateMetrics"`
}

// Sizing is a monitoring workload's container resources; zero leaves the
// component's default.
type Sizing struct {
	// Resources are the container's requests and limits.
	Resources stack.Resources `json:"resources"`
}

// PrometheusValues size the bundled Prometheus's storage.
type PrometheusValues struct {
	// Retention is how long samples are kept (--storage.tsdb.retention.time),
	// whole hours of at least 1h, e.g. "360h" (15 days, the default).
	Retention time.Duration `json:"retention"`
	// Size is each replica's volume (default 50Gi; dojot: 2Gi, the guide's
	// local-pv-prometheus); samples are also dropped once they fill 80 % of it
	// (--storage.tsdb.retention.size), whatever their age.
	Size resource.Quantity `json:"size"`
	// Resources default to 1 CPU / 1Gi limits (the ThingsBoard article's
	// pod table); dojot: the guide's 400Mi memory request, 800Mi limit.
	Resources stack.Resources `json:"resources"`
}

// Receivers are Alertmanager's notification targets; each is on when set.
type Receivers struct {
	// Webhook posts every alert to the URL in the Secret key webhook-url.
	Webhook bool `json:"webhook"`
	// Slack posts to the incoming-webhook URL in the Secret key
	// slack-api-url.
	Slack SlackReceiver `json:"slack"`
	// Email sends through an SMTP relay; the password is the Secret key
	// smtp-password.
	Email EmailReceiver `json:"email"`
	// Telegram sends with the bot token in the Secret key
	// telegram-bot-token.
	Telegram TelegramReceiver `json:"telegram"`
	// Heartbeat sends the always-firing Watchdog every minute to the URL
	// in the Secret key heartbeat-url: a dead man's switch outside the
	// cluster raises the alarm when it stops.
	Heartbeat bool `json:"heartbeat"`
}

// SlackReceiver is on when Channel is set.
type SlackReceiver struct {
	// Channel is the channel to post to (e.g. "#iot-alerts").
	Channel string `json:"channel"`
}

// EmailReceiver is on when any field is set; then To, From and Smarthost
// are required.
type EmailReceiver struct {
	// To is the recipient address.
	To string `json:"to"`
	// From is the sender address.
	From string `json:"from"`
	// Smarthost is the relay's host:port.
	Smarthost string `json:"smarthost"`
	// Username is the SMTP user, if the relay authenticates.
	Username string `json:"username"`
}

// TelegramReceiver is on when ChatID is set.
type TelegramReceiver struct {
	// ChatID is the chat to send to.
	ChatID int64 `json:"chatID"`
}

// Validate requires To, From and Smarthost of an e-mail receiver that is on.
func (e EmailReceiver) Validate() error {
	if e == (EmailReceiver{}) {
		return nil
	}
	var errs values.Errors
	for _, f := range []struct{ path, v string }{{"to", e.To}, {"from", e.From}, {"smarthost", e.Smarthost}} {
		if f.v == "" {
			errs = append(errs, values.FieldError{Path: f.path, Message: "empty; an e-mail receiver needs to, from and smarthost"})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Validate refuses the options that need monitoring.enabled without it,
// and receivers with the operator option (the operator's Alertmanager
// routes the alerts; they would be ignored).
func (m Monitoring) Validate() error {
	var errs values.Errors
	if !m.Enabled {
		if m.NodeExporter {
			errs = append(errs, values.Errorf("nodeExporter", m.NodeExporter, "needs enabled: true (the bundled or the operator's Prometheus scrapes it)"))
		}
		if m.Operator {
			errs = append(errs, values.Errorf("operator", m.Operator, "needs enabled: true"))
		}
	}
	if m.Operator && m.Receivers != (Receivers{}) {
		errs = append(errs, values.FieldError{Path: "receivers", Message: "set with operator: true; the operator's Alertmanager routes the alerts, configure its receivers there"})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// alertmanager returns the component's receivers.
func (r Receivers) alertmanager() alertmanager.Receivers {
	out := alertmanager.Receivers{Webhook: r.Webhook, Heartbeat: r.Heartbeat}
	if r.Slack.Channel != "" {
		out.Slack = &alertmanager.Slack{Channel: r.Slack.Channel}
	}
	if r.Email != (EmailReceiver{}) {
		out.Email = &alertmanager.Email{To: r.Email.To, From: r.Email.From, Smarthost: r.Email.Smarthost, Username: r.Email.Username}
	}
	if r.Telegram.ChatID != 0 {
		out.Telegram = &alertmanager.Telegram{ChatID: r.Telegram.ChatID}
	}
	return out
}

// MonitoringDir is the directory of the monitoring stack in dist/<profile>/.
const MonitoringDir = "monitoring"

// monitoringPlacement is where a profile runs its monitoring part.
type monitoringPlacement struct {
	// common replaces the values' Common when set: dojot without
	// nodeAffinity builds on pools without their labels.
	common *Common
	// pool runs Prometheus, Alertmanager and Grafana; empty is any node.
	pool string
	// localNodes, when set, are the node labels of the local
	// PersistentVolumes the monitoring claims get (dojot's local-storage
	// class has no provisioner): one volume per claim, in
	// /mnt/data/<monitoring namespace>/<claim>.
	localNodes map[string]string
}

// buildMonitoring builds the monitoring stack for the built profile: in
// the monitoring namespace (Common.MonitoringNamespace, which the stack's
// NetworkPolicies admit on the scrape ports), on the profile's topology
// and pool (Built.monitoring), Prometheus built last so that it reads
// every component's rules.
func buildMonitoring(b *Built, values *Common) (Part, error) {
	c := values
	if b.monitoring.common != nil {
		c = b.monitoring.common
	}
	target := b.Stack
	opts := c.stackOptions(target.Name()+"-monitoring", "monitoring")
	opts.Namespace = target.MonitoringNamespace()
	mon, err := stack.New(opts)
	if err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	if c.Monitoring.Operator {
		return buildOperatorMonitoring(b, mon, target, c)
	}
	var storage *stack.Component
	if b.monitoring.localNodes != nil {
		// First, so that the volumes are applied before their claims.
		if storage, err = mon.AddComponent("storage", stack.Meta{App: "storage", Role: "local-volumes"}); err != nil {
			return Part{}, fmt.Errorf("monitoring: %w", err)
		}
	}
	// One replica per node at most (each on a node of its own): the
	// single-node small profile gets one of each, without HA.
	pool := b.monitoring.pool
	nodes := int32(poolHosts(mon.Topology(), pool))
	data := monitoringStorage(mon, c)
	am, err := alertmanager.New(mon, alertmanager.Config{Replicas: min(3, nodes), Pool: pool, Resources: c.Monitoring.Alertmanager.Resources, Receivers: c.Monitoring.Receivers.alertmanager(), Data: data})
	if err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	if err := addKubeStateMetrics(mon, target, c.Monitoring.KubeStateMetrics.Resources); err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	pdata := data
	pdata.Size = c.Monitoring.Prometheus.Size
	prom, err := prometheus.New(mon, target, am, prometheus.Config{Replicas: min(2, nodes), Pool: pool, Data: pdata, Resources: c.Monitoring.Prometheus.Resources,
		Retention: c.Monitoring.Prometheus.Retention, Also: partStacks(b, NodeExporterDir, LoadTestDir)})
	if err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	if err := buildGrafana(mon, b, prom, grafana.Config{Replicas: min(3, nodes), Pool: pool, Resources: c.Monitoring.Grafana.Resources, Data: data}); err != nil {
		return Part{}, err
	}
	if storage != nil {
		if err := addLocalMonitoringVolumes(mon, storage, b.monitoring.localNodes); err != nil {
			return Part{}, fmt.Errorf("monitoring: %w", err)
		}
	}
	return Part{Dir: MonitoringDir, Stack: mon}, nil
}

// poolHosts counts the nodes of the pool (every node for "").
func poolHosts(t stack.Topology, pool string) int {
	n := 0
	for _, p := range t.Pools {
		if pool == "" || p.Name == pool {
			n += p.NodesPerZone * len(t.Zones)
		}
	}
	return n
}

// addLocalMonitoringVolumes gives every claim of the monitoring
// StatefulSets a local PersistentVolume of its size, reserved for it, on
// the nodes with the labels, in /mnt/data/<namespace>/<claim> (as the
// dojot guide keeps Prometheus's data in /mnt/data/prometheus).
func addLocalMonitoringVolumes(mon *stack.Stack, storage *stack.Component, nodes map[string]string) error {
	var volumes []dojot.LocalVolume
	for _, comp := range mon.Components() {
		for _, obj := range comp.Objects() {
			sts, ok := obj.(*appsv1.StatefulSet)
			if !ok {
				continue
			}
			replicas := int32(1)
			if sts.Spec.Replicas != nil {
				replicas = *sts.Spec.Replicas
			}
			for i := range replicas {
				for _, vct := range sts.Spec.VolumeClaimTemplates {
					claim := vct.Name + "-" + sts.Name + "-" + strconv.Itoa(int(i))
					size := vct.Spec.Resources.Requests[corev1.ResourceStorage]
					volumes = append(volumes, dojot.LocalVolume{Name: "local-pv-" + claim, Path: "/mnt/data/" + mon.Namespace() + "/" + claim,
						Size: size.String(), Mode: corev1.ReadWriteOnce, NodeLabels: nodes, Claim: claim})
				}
			}
		}
	}
	slices.SortFunc(volumes, func(a, b dojot.LocalVolume) int { return strings.Compare(a.Name, b.Name) })
	return dojot.AddLocalVolumes(storage, volumes)
}

// addKubeStateMetrics adds kube-state-metrics to the monitoring stack,
// watching the target's namespace: the pod, Job, PDB and claim state the
// kubernetes rules read. Built before Prometheus, which scrapes it.
func addKubeStateMetrics(mon, target *stack.Stack, res stack.Resources) error {
	_, err := kubestatemetrics.New(mon, target, kubestatemetrics.Config{Resources: res})
	return err
}

// NodeExporterDir is the directory of the node exporter's part in
// dist/<profile>/ (monitoring.nodeExporter).
const NodeExporterDir = "node-exporter"

// buildNodeExporter builds the node exporter's part: its own stack in the
// namespace <monitoringNamespace>-node-exporter, the only one that
// enforces Pod Security "privileged". Built before the monitoring stack,
// whose Prometheus scrapes it.
func buildNodeExporter(b *Built, c *Common) (Part, error) {
	target := b.Stack
	opts := c.stackOptions(target.Name()+"-node-exporter", "monitoring")
	opts.Namespace = target.MonitoringNamespace() + "-node-exporter"
	opts.PodSecurity = stack.PodSecurityPrivileged
	s, err := stack.New(opts)
	if err != nil {
		return Part{}, fmt.Errorf("monitoring.nodeExporter: %w", err)
	}
	if _, err := nodeexporter.New(s, nodeexporter.Config{}); err != nil {
		return Part{}, fmt.Errorf("monitoring.nodeExporter: %w", err)
	}
	return Part{Dir: NodeExporterDir, Stack: s}, nil
}

// partStacks returns the stacks of the built parts in the directories.
func partStacks(b *Built, dirs ...string) []*stack.Stack {
	var out []*stack.Stack
	for _, p := range b.Parts {
		for _, d := range dirs {
			if p.Dir == d {
				out = append(out, p.Stack)
			}
		}
	}
	return out
}

// buildOperatorMonitoring fills the monitoring stack for the Prometheus
// Operator option: kube-state-metrics, then the PodMonitors and the
// PrometheusRule (after every scraped component, so that it reads them).
func buildOperatorMonitoring(b *Built, mon, target *stack.Stack, c *Common) (Part, error) {
	if err := addKubeStateMetrics(mon, target, c.Monitoring.KubeStateMetrics.Resources); err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	if _, err := prometheus.NewOperator(mon, target, partStacks(b, NodeExporterDir, LoadTestDir)); err != nil {
		return Part{}, fmt.Errorf("monitoring: %w", err)
	}
	// No Grafana: the operator's installation brings its own, reading
	// its own Prometheus.
	return Part{Dir: MonitoringDir, Stack: mon}, nil
}

// monitoringStorage is the storage of the monitoring claims: the
// profile's StorageClass (topology.storageClass, "every claim of the stack
// uses" it), declared external to the monitoring stack (the stack renders
// it or the cluster has it); the components' default sizes. Without it the
// claims took the cluster's default class, whose volumes need not follow
// the pods' zones: the simulated cluster left an Alertmanager replica
// unschedulable, its claim bound to a volume in a zone it could not use.
func monitoringStorage(mon *stack.Stack, c *Common) stack.Storage {
	class := c.Topology.StorageClass.Name
	if class != "" {
		mon.External("StorageClass", class, "the profile's storage class (topology.storageClass), rendered with the stack or the cluster's")
	}
	return stack.Storage{Class: class}
}
