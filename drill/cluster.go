package drill

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/sim"
	"github.com/iotstack/iotstack/stack"
)

// Cluster is the simulated cluster with the rendered profile applied on
// it, as mage sim applies it: the topology's kwok nodes, the apply
// engine's generated Secrets, every object ready. The drill takes from it
// what a pod would: the Secrets' values, and the zone of each pod as the
// scheduler placed it; and a lost zone is drained on it (cordoned, its
// pods evicted through the PodDisruptionBudgets) before its processes are
// killed, then uncordoned before they restart.
type Cluster struct {
	*APIServer
	eng *apply.Engine
	out *stack.Output
	log io.Writer
	// Events are the drains and restores, one line each, for the report.
	Events []string
}

// DeployCluster starts a simulated cluster, applies r's output on it and
// makes r follow it: r.Secrets become the values the apply engine
// generated, the pods' zones those the scheduler chose, and the parts'
// zone losses drain the zone there. Stop it with Stop.
func DeployCluster(ctx context.Context, root string, r *Rendered, log io.Writer) (*Cluster, error) {
	if log == nil {
		log = io.Discard
	}
	api, err := StartAPIServer(ctx, root, log)
	if err != nil {
		return nil, err
	}
	c := &Cluster{APIServer: api, out: r.Out, log: log}
	start := time.Now()
	if c.eng, err = sim.Deploy(ctx, api.cl, r.Out, 5*time.Minute, log); err != nil {
		api.Stop()
		return nil, err
	}
	ns := r.Out.Namespace
	secrets := map[string]map[string]string{}
	for _, s := range r.Out.Secrets {
		sec, err := api.Client.CoreV1().Secrets(ns).Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			api.Stop()
			return nil, fmt.Errorf("Secret %s/%s after apply: %w", ns, s.Name, err)
		}
		data := map[string]string{}
		for k, v := range sec.Data {
			data[k] = string(v)
		}
		secrets[s.Name] = data
	}
	nodes, err := api.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		api.Stop()
		return nil, err
	}
	zoneOfNode := map[string]string{}
	for _, n := range nodes.Items {
		zoneOfNode[n.Name] = n.Labels[stack.ZoneLabel]
	}
	pods, err := api.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		api.Stop()
		return nil, err
	}
	zones := map[string]string{}
	r.podLabels = map[string]map[string]string{}
	for _, p := range pods.Items {
		if z := zoneOfNode[p.Spec.NodeName]; z != "" {
			zones[ns+"/"+p.Name] = z
			r.podLabels[ns+"/"+p.Name] = p.Labels
		}
	}
	r.Secrets, r.zones, r.cluster = secrets, zones, c
	c.Events = append(c.Events, fmt.Sprintf("profile applied on the simulated cluster (%d objects ready, %d pods placed) in %s", len(r.Out.Objects), len(zones), time.Since(start).Round(time.Second)))
	fmt.Fprintln(log, c.Events[len(c.Events)-1])
	return c, nil
}

// LoseZone drains zone on the simulated cluster; the part then kills the
// zone's processes.
func (c *Cluster) LoseZone(ctx context.Context, zone string) error {
	start := time.Now()
	pods, err := sim.DrainZone(ctx, c.Client, zone, 90*time.Second)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range pods {
		if p.Namespace == c.out.Namespace {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	e := fmt.Sprintf("zone %s drained on the simulated cluster in %s (%d pods evicted through their PodDisruptionBudgets: %s)", zone, time.Since(start).Round(time.Millisecond), len(pods), strings.Join(names, ", "))
	c.Events = append(c.Events, e)
	fmt.Fprintln(c.log, e)
	return nil
}

// RestoreZone uncordons zone and waits for every object to be ready
// again; the part then restarts the zone's processes.
func (c *Cluster) RestoreZone(ctx context.Context, zone string) error {
	start := time.Now()
	if err := sim.RestoreZone(ctx, c.Client, c.eng, zone, c.out); err != nil {
		return fmt.Errorf("zone %s back on the simulated cluster: %w", zone, err)
	}
	e := fmt.Sprintf("zone %s uncordoned, every object ready again in %s", zone, time.Since(start).Round(time.Millisecond))
	c.Events = append(c.Events, e)
	fmt.Fprintln(c.log, e)
	return nil
}

// PodZone is the zone of a pod: where the simulated cluster's scheduler
// placed it when the profile is deployed there (DeployCluster), else
// fallback (the zone the template pins, or the one-per-zone spread).
func (r *Rendered) PodZone(namespace, pod, fallback string) string {
	if z, ok := r.zones[namespace+"/"+pod]; ok {
		return z
	}
	return fallback
}

// zonesOf are the zones of the scheduled pods a selector picks (a
// Deployment's, whose pod names the drill cannot know), in the order of
// the pods' names; nil without a cluster.
func (r *Rendered) zonesOf(namespace string, sel *metav1.LabelSelector) []string {
	if r.cluster == nil || sel == nil {
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	var names []string
	for k, l := range r.podLabels {
		if ns, _, _ := strings.Cut(k, "/"); ns == namespace && s.Matches(labels.Set(l)) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	zones := make([]string, len(names))
	for i, n := range names {
		zones[i] = r.zones[n]
	}
	return zones
}

// loseZone drains zone on the cluster the profile is deployed on, if any.
func (r *Rendered) loseZone(ctx context.Context, zone string) error {
	if r.cluster == nil {
		return nil
	}
	return r.cluster.LoseZone(ctx, zone)
}

// restoreZone brings zone back on the cluster the profile is deployed on,
// if any.
func (r *Rendered) restoreZone(ctx context.Context, zone string) error {
	if r.cluster == nil {
		return nil
	}
	return r.cluster.RestoreZone(ctx, zone)
}
