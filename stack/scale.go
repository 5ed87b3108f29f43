package stack

import (
	"fmt"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// PodSpecs returns the pod specs of an object's pod templates (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod), for in-place
// changes before synthesis.
func PodSpecs(obj Object) []*corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return []*corev1.PodSpec{&o.Spec.Template.Spec}
	case *appsv1.StatefulSet:
		return []*corev1.PodSpec{&o.Spec.Template.Spec}
	case *appsv1.DaemonSet:
		return []*corev1.PodSpec{&o.Spec.Template.Spec}
	case *appsv1.ReplicaSet:
		return []*corev1.PodSpec{&o.Spec.Template.Spec}
	case *batchv1.Job:
		return []*corev1.PodSpec{&o.Spec.Template.Spec}
	case *batchv1.CronJob:
		return []*corev1.PodSpec{&o.Spec.JobTemplate.Spec.Template.Spec}
	case *corev1.Pod:
		return []*corev1.PodSpec{&o.Spec}
	}
	return nil
}

// Minimum requests after scaling: small enough for a laptop, large enough
// for the scheduler to count.
var (
	minScaledCPU    = resource.MustParse("5m")
	minScaledMemory = resource.MustParse("16Mi")
)

// ScaleRequests multiplies every container's CPU and memory requests by
// factor (0 < factor ≤ 1), rounding CPU down to millicores and memory to
// MiB, with a floor of 5m and 16Mi. Limits stay as they are: the JVM heaps
// and caches the components size from their limits still fit, and only
// what the scheduler reserves shrinks. It is how a profile fits a laptop's
// kind cluster (profiles.Options.RequestScale).
func (s *Stack) ScaleRequests(factor float64) error {
	if !(factor > 0 && factor <= 1) {
		return fmt.Errorf("request scale %v: allowed greater than 0 and at most 1", factor)
	}
	for _, c := range s.components {
		for _, obj := range c.objects {
			for _, spec := range PodSpecs(obj) {
				for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
					for i := range list {
						scaleRequests(list[i].Resources.Requests, factor)
					}
				}
			}
		}
	}
	return nil
}

func scaleRequests(req corev1.ResourceList, f float64) {
	if req == nil {
		return
	}
	if q, ok := req[corev1.ResourceCPU]; ok {
		m := int64(math.Floor(float64(q.MilliValue()) * f))
		n := resource.NewMilliQuantity(m, resource.DecimalSI)
		if n.Cmp(minScaledCPU) < 0 {
			n = &minScaledCPU
		}
		req[corev1.ResourceCPU] = n.DeepCopy()
	}
	if q, ok := req[corev1.ResourceMemory]; ok {
		mi := int64(math.Floor(float64(q.Value())*f/(1<<20))) << 20
		n := resource.NewQuantity(mi, resource.BinarySI)
		if n.Cmp(minScaledMemory) < 0 {
			n = &minScaledMemory
		}
		req[corev1.ResourceMemory] = n.DeepCopy()
	}
}
