package netmatrix

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/stack"
)

// Rendered is what a set of synthesized outputs holds for the evaluator:
// one Pod per workload (named Kind/name), the namespaces they render
// (with their labels) and every NetworkPolicy.
type Rendered struct {
	Pods       []*Pod
	Namespaces map[string]map[string]string
	Policies   []*networkingv1.NetworkPolicy
}

// FromOutputs reads pods, namespaces and policies from synthesized stacks
// (a profile's main stack and the parts applied beside it).
func FromOutputs(outs ...*stack.Output) *Rendered {
	r := &Rendered{Namespaces: map[string]map[string]string{}}
	for _, out := range outs {
		for _, o := range out.Objects {
			var t *corev1.PodTemplateSpec
			switch x := o.Object.(type) {
			case *corev1.Namespace:
				r.Namespaces[x.Name] = x.Labels
			case *networkingv1.NetworkPolicy:
				r.Policies = append(r.Policies, x)
			case *appsv1.Deployment:
				t = &x.Spec.Template
			case *appsv1.StatefulSet:
				t = &x.Spec.Template
			case *appsv1.DaemonSet:
				t = &x.Spec.Template
			case *appsv1.ReplicaSet:
				t = &x.Spec.Template
			case *batchv1.Job:
				t = &x.Spec.Template
			case *batchv1.CronJob:
				t = &x.Spec.JobTemplate.Spec.Template
			case *corev1.Pod:
				t = &corev1.PodTemplateSpec{ObjectMeta: x.ObjectMeta, Spec: x.Spec}
			}
			if t == nil {
				continue
			}
			p := &Pod{Name: o.Ref.Kind + "/" + o.Ref.Name, Namespace: o.Ref.Namespace, Labels: t.Labels}
			for _, c := range t.Spec.Containers {
				p.Ports = append(p.Ports, c.Ports...)
			}
			r.Pods = append(r.Pods, p)
		}
	}
	return r
}

// Cluster returns the evaluator for the rendered policies.
func (r *Rendered) Cluster() *Cluster { return NewCluster(r.Namespaces, r.Policies) }

// Pod returns the pod named name (Kind/name), or nil.
func (r *Rendered) Pod(name string) *Pod {
	for _, p := range r.Pods {
		if p.Name == name {
			return p
		}
	}
	return nil
}
