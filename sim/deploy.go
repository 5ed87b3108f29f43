package sim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/stack"
)

// addTopology creates the topology's kwok nodes and the volumes the
// output's claims bind to, and waits for the nodes to be ready; it
// returns the number of nodes.
func addTopology(ctx context.Context, cs kubernetes.Interface, out *stack.Output, timeout time.Duration) (int, error) {
	nodes := Nodes(out.Topology)
	for _, n := range nodes {
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return 0, fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	for _, pv := range Volumes(out.Topology, out) {
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return 0, fmt.Errorf("volume %s: %w", pv.Name, err)
		}
	}
	return len(nodes), waitNodesReady(ctx, cs, len(nodes), timeout)
}

// Deploy brings a running simulated cluster to the state a user's apply
// does: the topology's nodes and volumes, the user-provided Secrets (with
// placeholders), then the output applied by the apply engine (which
// generates the stack's Secrets) and every object ready. It returns the
// engine, for RestoreZone.
func Deploy(ctx context.Context, cl *Cluster, out *stack.Output, timeout time.Duration, log io.Writer) (*apply.Engine, error) {
	if log == nil {
		log = io.Discard
	}
	cfg, err := cl.RESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := addTopology(ctx, cs, out, timeout); err != nil {
		return nil, err
	}
	if _, err := provideUserSecrets(ctx, cs, out); err != nil {
		return nil, err
	}
	eng, err := apply.New(cfg, apply.Options{Timeout: timeout, Interval: time.Second, Out: log})
	if err != nil {
		return nil, err
	}
	if _, err := eng.Apply(ctx, out); err != nil {
		return nil, fmt.Errorf("apply on the simulated cluster: %w", err)
	}
	return eng, nil
}

// DrainZone drains every node of zone as kubectl drain does: cordons them,
// then evicts their pods (DaemonSets' excepted) through the eviction API,
// which the PodDisruptionBudgets guard, retrying refused evictions until
// none is left or timeout. It returns the pods evicted; an error names
// the pods the budgets still protect.
func DrainZone(ctx context.Context, cs kubernetes.Interface, zone string, timeout time.Duration) ([]corev1.Pod, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: stack.ZoneLabel + "=" + zone})
	if err != nil {
		return nil, err
	}
	if len(nodes.Items) == 0 {
		return nil, fmt.Errorf("drain: no node in zone %s", zone)
	}
	for _, n := range nodes.Items {
		if err := setUnschedulable(ctx, cs, n.Name, true); err != nil {
			return nil, err
		}
	}
	evicted := map[string]corev1.Pod{}
	deadline := time.Now().Add(timeout)
	for {
		left := 0
		blocked := []string{}
		for _, n := range nodes.Items {
			pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.Name})
			if err != nil {
				return nil, err
			}
			for _, p := range pods.Items {
				if p.DeletionTimestamp != nil || isDaemon(p) {
					continue
				}
				left++
				if err := evict(ctx, cs, p, false); err != nil {
					if apierrors.IsTooManyRequests(err) {
						blocked = append(blocked, p.Namespace+"/"+p.Name)
						continue
					}
					if !apierrors.IsNotFound(err) {
						return nil, fmt.Errorf("evict %s/%s: %w", p.Namespace, p.Name, err)
					}
				}
				evicted[string(p.UID)] = p
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("drain of zone %s: evictions still refused by PodDisruptionBudgets after %s: %s", zone, timeout, strings.Join(blocked, ", "))
		}
		time.Sleep(500 * time.Millisecond)
	}
	var pods []corev1.Pod
	for _, p := range evicted {
		pods = append(pods, p)
	}
	return pods, nil
}

// RestoreZone uncordons zone's nodes and waits for every object of the
// outputs to be ready again (the evicted pods rescheduled).
func RestoreZone(ctx context.Context, cs kubernetes.Interface, eng *apply.Engine, zone string, outs ...*stack.Output) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: stack.ZoneLabel + "=" + zone})
	if err != nil {
		return err
	}
	for _, n := range nodes.Items {
		if err := setUnschedulable(ctx, cs, n.Name, false); err != nil {
			return err
		}
	}
	var objs []*unstructured.Unstructured
	for _, o := range outs {
		oo, err := apply.Objects(o)
		if err != nil {
			return err
		}
		objs = append(objs, oo...)
	}
	return eng.Wait(ctx, objs)
}
