package sim

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/iotstack/iotstack/stack"
)

// simPlaceholder is the value the simulated cluster gives user-provided
// Secret keys (backup store keys, receiver URLs): nothing in the simulated
// cluster connects anywhere, and the value is no credential.
const simPlaceholder = "sim-placeholder-not-a-credential"

// provideUserSecrets creates the Secrets whose keys only the user knows
// (stack.UserProvided: object-store keys, receiver URLs), absent from the
// simulated cluster, with placeholder values, as a user does before
// applying; the apply engine refuses to apply without them. It returns
// their names.
func provideUserSecrets(ctx context.Context, cs kubernetes.Interface, outs ...*stack.Output) ([]string, error) {
	var made []string
	for _, out := range outs {
		for _, s := range out.Secrets {
			data := map[string][]byte{}
			for _, k := range s.Keys {
				if k.Kind == stack.UserProvided {
					data[k.Key] = []byte(simPlaceholder)
				}
			}
			if len(data) == 0 {
				continue
			}
			if _, err := cs.CoreV1().Namespaces().Get(ctx, out.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: out.Namespace}}
				if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					return nil, err
				}
			}
			sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: out.Namespace}, Data: data}
			if _, err := cs.CoreV1().Secrets(out.Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return nil, fmt.Errorf("user-provided Secret %s/%s: %w", out.Namespace, s.Name, err)
			}
			made = append(made, out.Namespace+"/"+s.Name)
		}
	}
	return made, nil
}

// runCronJobs starts one Job from each rendered CronJob, suspended or
// not (kubectl create job --from=cronjob/NAME does the same), and checks
// that its pod is scheduled within the timeout beside everything else:
// backups, restores and drills are placed like the workloads (a
// Cassandra backup on its Cassandra pod's node). The Jobs are deleted
// again, with their pods, before the function returns.
func runCronJobs(ctx context.Context, cs kubernetes.Interface, timeout time.Duration, r *Report, outs ...*stack.Output) error {
	for _, out := range outs {
		for _, ro := range out.Objects {
			cj, ok := ro.Object.(*batchv1.CronJob)
			if !ok {
				continue
			}
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: cj.Name + "-sim", Namespace: cj.Namespace, Labels: cj.Spec.JobTemplate.Labels},
				Spec:       *cj.Spec.JobTemplate.Spec.DeepCopy(),
			}
			if _, err := cs.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
				r.check(false, "CronJob %s/%s: creating a Job from it: %v", cj.Namespace, cj.Name, err)
				continue
			}
			node, err := scheduledPod(ctx, cs, cj.Namespace, job.Name, timeout)
			r.check(err == nil, "CronJob %s/%s: a Job from it has its pod scheduled (node %s; %v)", cj.Namespace, cj.Name, node, err)
			if err := deleteJob(ctx, cs, cj.Namespace, job.Name, timeout); err != nil {
				return err
			}
		}
	}
	return nil
}

// scheduledPod waits until the Job's pod is bound to a node and returns
// the node's name, or why it is not.
func scheduledPod(ctx context.Context, cs kubernetes.Interface, ns, job string, timeout time.Duration) (string, error) {
	var node, why string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				node = p.Spec.NodeName
				return true, nil
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
					why = c.Message
				}
			}
		}
		return false, nil
	})
	if err != nil {
		if why == "" {
			why = "no pod bound to a node"
		}
		return "", fmt.Errorf("not scheduled after %s: %s", timeout, why)
	}
	return node, nil
}

// deleteJob deletes the Job with its pods and waits until they are gone.
func deleteJob(ctx context.Context, cs kubernetes.Interface, ns, job string, timeout time.Duration) error {
	bg := metav1.DeletePropagationForeground
	if err := cs.BatchV1().Jobs(ns).Delete(ctx, job, metav1.DeleteOptions{PropagationPolicy: &bg, GracePeriodSeconds: new(int64)}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := cs.BatchV1().Jobs(ns).Get(ctx, job, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, nil
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
		if err != nil {
			return false, err
		}
		// The garbage collector removes the pods; stragglers go
		// without a grace period (kwok's pods never stop by themselves).
		for _, p := range pods.Items {
			_ = cs.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		}
		return len(pods.Items) == 0, nil
	})
}
