package preflight

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/iotstack/iotstack/plan"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// Expect is what a profile with its values needs from the cluster,
// computed without one: the topology the stacks were built on, the plan
// of every part that runs in the cluster, and the cluster objects the
// rendered objects refer to but do not render.
type Expect struct {
	// Profile is the profile's name.
	Profile string
	// Topology is the topology the main stack was built on (for dojot
	// without nodeAffinity, its pools carry no labels).
	Topology stack.Topology
	// Plan is the profile's plan (package plan): the requests per node,
	// pool and zone.
	Plan *plan.Plan
	// Namespaces are the rendered Namespaces of the planned parts, with
	// their labels (the Pod Security ones among them).
	Namespaces []Namespace
	// StorageClasses are the StorageClasses the parts render.
	StorageClasses []storagev1.StorageClass
	// ClaimClasses are the StorageClass names claims, claim templates
	// and volumes refer to, sorted; "" is the cluster's default class.
	ClaimClasses []string
	// IngressClasses are the IngressClass names Ingresses refer to,
	// sorted; "" is the cluster's default class.
	IngressClasses []string
	// AWSLoadBalancer names the objects that need the AWS Load Balancer
	// Controller (an Ingress of class alb, a Service it provisions an
	// NLB for); empty when nothing does.
	AWSLoadBalancer []string
	// Externals are the parts' External declarations that no planned
	// part renders.
	Externals []stack.ExternalRef
	// Sysctls and FileLimit are the node settings of the values
	// (cluster.sysctls, cluster.fileLimit).
	Sysctls   map[string]string
	FileLimit int64
	// PodSysctls are the sysctls pods set in their security context,
	// each "name (kind/workload)".
	PodSysctls []string
	// Transient are the Jobs and CronJobs (the plan leaves them out of
	// the nodes' totals: they run to completion), each with its pod's
	// requests and the pools it may run on.
	Transient []Transient
}

// Transient is a Job or CronJob's pod.
type Transient struct {
	// Name is "Job/name" or "CronJob/name".
	Name string
	// Requests are the pod's effective requests.
	Requests plan.Amount
	// Pools are the pools with a node that admits the pod.
	Pools []string
}

// Namespace is a rendered Namespace.
type Namespace struct {
	// Name and Labels are the Namespace's.
	Name   string
	Labels map[string]string
}

// awsLBCType is the Service annotation that hands a LoadBalancer Service
// to the AWS Load Balancer Controller (docs/guide/service/nlb.md of
// kubernetes-sigs/aws-load-balancer-controller v3.5.0: with "external"
// the in-tree controller ignores the Service and, with the
// nlb-target-type annotation, the controller provisions an NLB; "nlb-ip"
// is the older equivalent).
const awsLBCType = "service.beta.kubernetes.io/aws-load-balancer-type"

// awsLBCClass is the Service loadBalancerClass the AWS Load Balancer
// Controller provisions NLBs for (the same document).
const awsLBCClass = "service.k8s.aws/nlb"

// ALBController is the spec.controller of the AWS Load Balancer
// Controller's IngressClass (helm/aws-load-balancer-controller/templates/
// ingressclass.yaml and pkg/ingress/class_loader.go,
// IngressClassControllerALB, v3.5.0).
const ALBController = "ingress.k8s.aws/alb"

// Expectations computes what a built profile needs from the cluster: the
// main stack and every part the plan includes (not the opt-in load
// test), synthesized.
func Expectations(profile string, b *profiles.Built, v profiles.Values) (*Expect, error) {
	if b == nil || b.Stack == nil || v == nil {
		return nil, fmt.Errorf("preflight %s: nothing built", profile)
	}
	pl, err := plan.Compute(profile, b, v)
	if err != nil {
		return nil, err
	}
	stacks := []*stack.Stack{b.Stack}
	for _, p := range b.Parts {
		if p.Dir != profiles.LoadTestDir {
			stacks = append(stacks, p.Stack)
		}
	}
	var outs []*stack.Output
	for _, s := range stacks {
		out, err := s.Synth()
		if err != nil {
			return nil, fmt.Errorf("preflight %s: %w", profile, err)
		}
		outs = append(outs, out)
	}
	c := v.Base()
	e := &Expect{Profile: profile, Topology: outs[0].Topology, Plan: pl,
		Sysctls: maps.Clone(c.Cluster.Sysctls), FileLimit: c.Cluster.FileLimit}
	rendered := map[stack.ObjectRef]bool{}
	claims, ingresses, podSysctls := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, out := range outs {
		for _, o := range out.Objects {
			rendered[stack.ObjectRef{Kind: o.Ref.Kind, Namespace: o.Object.GetNamespace(), Name: o.Ref.Name}] = true
			switch x := o.Object.(type) {
			case *corev1.Namespace:
				e.Namespaces = append(e.Namespaces, Namespace{Name: x.Name, Labels: maps.Clone(x.Labels)})
			case *storagev1.StorageClass:
				e.StorageClasses = append(e.StorageClasses, *x.DeepCopy())
			case *corev1.PersistentVolumeClaim:
				claims[deref(x.Spec.StorageClassName)] = true
			case *corev1.PersistentVolume:
				claims[x.Spec.StorageClassName] = true
			case *appsv1.StatefulSet:
				for _, t := range x.Spec.VolumeClaimTemplates {
					claims[deref(t.Spec.StorageClassName)] = true
				}
			case *networkingv1.Ingress:
				class := deref(x.Spec.IngressClassName)
				ingresses[class] = true
				if class == "alb" {
					e.AWSLoadBalancer = append(e.AWSLoadBalancer, "Ingress "+x.Namespace+"/"+x.Name+" (class alb)")
				}
			case *corev1.Service:
				t := x.Annotations[awsLBCType]
				if x.Spec.Type == corev1.ServiceTypeLoadBalancer && (t == "external" || t == "nlb-ip" || deref(x.Spec.LoadBalancerClass) == awsLBCClass) {
					e.AWSLoadBalancer = append(e.AWSLoadBalancer, "Service "+x.Namespace+"/"+x.Name+" (NLB)")
				}
			}
			switch o.Object.(type) {
			case *batchv1.Job, *batchv1.CronJob:
				spec := stack.PodSpecs(o.Object)[0]
				cpu, mem := stack.PodRequests(spec)
				tr := Transient{Name: o.GVK.Kind + "/" + o.Ref.Name, Requests: plan.Amount{CPUMilli: cpu.MilliValue(), MemoryBytes: mem.Value()}}
				for _, h := range out.Topology.Hosts() {
					if h.Admits(spec) && !slices.Contains(tr.Pools, h.Pool.Name) {
						tr.Pools = append(tr.Pools, h.Pool.Name)
					}
				}
				e.Transient = append(e.Transient, tr)
			}
			for _, spec := range stack.PodSpecs(o.Object) {
				if spec.SecurityContext == nil {
					continue
				}
				for _, sc := range spec.SecurityContext.Sysctls {
					podSysctls[fmt.Sprintf("%s (%s/%s)", sc.Name, o.Ref.Kind, o.Ref.Name)] = true
				}
			}
		}
	}
	for _, s := range stacks {
		for _, x := range s.Externals() {
			ref := x.Ref
			ref.Group = ""
			if !rendered[ref] {
				e.Externals = append(e.Externals, x)
			}
		}
	}
	sort.Slice(e.Externals, func(i, j int) bool { return e.Externals[i].Ref.String() < e.Externals[j].Ref.String() })
	e.Externals = slices.CompactFunc(e.Externals, func(a, b stack.ExternalRef) bool { return a.Ref == b.Ref })
	e.ClaimClasses = slices.Sorted(maps.Keys(claims))
	e.IngressClasses = slices.Sorted(maps.Keys(ingresses))
	e.PodSysctls = slices.Sorted(maps.Keys(podSysctls))
	sort.Strings(e.AWSLoadBalancer)
	return e, nil
}

// stackNamespaces are the namespaces of the planned parts: pods there
// are the stack's own and do not count against the free capacity.
func (e *Expect) stackNamespaces() map[string]bool {
	ns := map[string]bool{}
	for _, n := range e.Namespaces {
		ns[n.Name] = true
	}
	for _, w := range e.Plan.Workloads {
		ns[w.Namespace] = true
	}
	return ns
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// joinOr joins s with ", ", or returns none for an empty list.
func joinOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ", ")
}
