package sts

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/stack"
)

// PerZone builds one StatefulSet per zone of the topology that holds
// planned nodes, in zone order: nodeZones lists each planned node's zone;
// build gets the zone's letter (ZoneLetter), name and node count. The
// components that place nodes deterministically (Redis Cluster, Cassandra)
// use it.
func PerZone(topo stack.Topology, nodeZones []string, build func(letter, zone string, replicas int32) (*appsv1.StatefulSet, error)) ([]stack.Object, error) {
	var out []stack.Object
	for zi, zone := range topo.Zones {
		n := int32(0)
		for _, z := range nodeZones {
			if z == zone {
				n++
			}
		}
		if n == 0 {
			continue
		}
		set, err := build(ZoneLetter(zi), zone, n)
		if err != nil {
			return nil, err
		}
		out = append(out, set)
	}
	return out, nil
}

// JobSpec describes a one-off Job of a component (cluster creation,
// schema): one restricted container, retried on failure.
type JobSpec struct {
	// Name is the Job's name; Selector its pod labels.
	Name     string
	Selector map[string]string
	// Pool is the node pool it runs on.
	Pool string
	// Security is the pod's identity.
	Security stack.PodSecurity
	// Container is the Job's container; Volumes what it mounts.
	Container corev1.Container
	Volumes   []corev1.Volume
	// BackoffLimit and DeadlineSeconds bound the retries.
	BackoffLimit    int32
	DeadlineSeconds int64
}

// Job builds the Job of spec.
func Job(topo stack.Topology, spec JobSpec) (*batchv1.Job, error) {
	pod := corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyOnFailure,
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(spec.Security),
		Containers:                   []corev1.Container{spec.Container},
		Volumes:                      spec.Volumes,
	}
	if err := topo.Place(&pod, spec.Selector, stack.Placement{Pool: spec.Pool}); err != nil {
		return nil, fmt.Errorf("job %s placement: %w", spec.Name, err)
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(spec.BackoffLimit),
			ActiveDeadlineSeconds: ptr.To(spec.DeadlineSeconds),
			Template:              corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: copyMap(spec.Selector)}, Spec: pod},
		},
	}, nil
}
