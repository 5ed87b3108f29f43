package stack

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// PDB returns a PodDisruptionBudget named name for the pods matched by
// selector, allowing maxUnavailable voluntary disruptions at a time (1 when
// maxUnavailable is 0, the right value for a quorum of 3). Unhealthy pods
// may always be evicted: a pod that is not ready holds no quorum vote worth
// protecting, and blocking its eviction would block every node drain.
func PDB(name string, selector map[string]string, maxUnavailable int) *policyv1.PodDisruptionBudget {
	if maxUnavailable <= 0 {
		maxUnavailable = 1
	}
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(int32(maxUnavailable))),
			Selector:                   &metav1.LabelSelector{MatchLabels: copyLabels(selector)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}
