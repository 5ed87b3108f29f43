package preflight

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/client-go/rest"
)

// EBSCSIDriver is the AWS EBS CSI driver's name, the CSIDriver object it
// installs (deploy/kubernetes/base/csidriver.yaml of
// kubernetes-sigs/aws-ebs-csi-driver) and the provisioner of the gp3
// class.
const EBSCSIDriver = "ebs.csi.aws.com"

// defaultClassAnnotation marks the cluster's default StorageClass
// (k8s.io/api/storage/v1 docs; the annotation the DefaultStorageClass
// admission plugin reads).
const defaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"

// defaultIngressClassAnnotation marks the default IngressClass
// (networkingv1.AnnotationIsDefaultIngressClass).
const defaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"

// Run reads the cluster and evaluates every check.
func Run(ctx context.Context, cfg *rest.Config, e *Expect) (*Result, error) {
	s, err := Read(ctx, cfg, e)
	if err != nil {
		return nil, err
	}
	return Evaluate(e, s), nil
}

// Evaluate runs every check of the Expect on the Snapshot, in a fixed
// order: version, nodes and capacity, storage, ingress, the AWS Load
// Balancer Controller, Pod Security, the external objects, sysctls and
// file limits.
func Evaluate(e *Expect, s *Snapshot) *Result {
	r := &Result{Profile: e.Profile, Server: s.Version}
	add := func(c ...Check) { r.Checks = append(r.Checks, c...) }
	add(CheckVersion(s.Version, SupportedWindow()))
	if msg, bad := s.Errors["nodes"]; bad {
		add(readFailure("nodes", "nodes and pods", msg, "get and list nodes and pods"))
	} else {
		add(CheckNodes(e, s.Nodes, s.Pods)...)
	}
	if msg, bad := s.Errors["storage"]; bad {
		add(readFailure("storage", "StorageClasses and CSIDrivers", msg, "list storageclasses and csidrivers"))
	} else {
		add(CheckStorage(e, s.StorageClasses, s.CSIDrivers)...)
	}
	if msg, bad := s.Errors["ingress"]; bad {
		add(readFailure("ingress", "IngressClasses", msg, "list ingressclasses"))
	} else {
		add(CheckIngress(e, s)...)
	}
	if msg, bad := s.Errors["aws-load-balancer-controller"]; bad {
		add(readFailure("aws-load-balancer-controller", "the controller", msg, "list deployments in every namespace"))
	} else {
		add(CheckLoadBalancerController(e, s)...)
	}
	add(CheckPodSecurity(s.PodSecurity)...)
	add(CheckExternals(e, s.Externals)...)
	add(CheckNodeSettings(e)...)
	return r
}

func readFailure(name, what, msg, verbs string) Check {
	return Check{Name: name, Subject: what, Status: Fail, Detail: "cannot read: " + msg,
		Fix: "run preflight as a user who may " + verbs + " (kubectl auth can-i --list)"}
}

// isCSI reports whether a provisioner names a CSI driver rather than an
// in-tree plugin (kubernetes.io/...).
func isCSI(provisioner string) bool {
	return provisioner != "" && !strings.HasPrefix(provisioner, "kubernetes.io/")
}

// CheckStorage checks the classes the claims use: a class the stack
// renders needs its CSI driver (a CSIDriver object; the AWS EBS driver's
// is ebs.csi.aws.com) and, when it already exists, the same provisioner
// and parameters (both are immutable); a class it does not render must
// exist; claims without a class need a default class.
func CheckStorage(e *Expect, classes []storagev1.StorageClass, drivers []string) []Check {
	live := map[string]storagev1.StorageClass{}
	var names, defaults []string
	for _, c := range classes {
		live[c.Name] = c
		names = append(names, c.Name)
		if c.Annotations[defaultClassAnnotation] == "true" {
			defaults = append(defaults, c.Name)
		}
	}
	slices.Sort(names)
	rendered := map[string]storagev1.StorageClass{}
	for _, c := range e.StorageClasses {
		rendered[c.Name] = c
	}
	var checks []Check
	for _, name := range e.ClaimClasses {
		c := Check{Name: "storage", Subject: "StorageClass " + name}
		if name == "" {
			c.Subject = "the default StorageClass"
			if len(defaults) == 0 {
				c.Status, c.Detail = Fail, "claims name no class and the cluster has no default class"
				c.Fix = fmt.Sprintf("kubectl annotate storageclass NAME %s=true (classes: %s), or set topology.storageClass.name", defaultClassAnnotation, joinOr(names, "none"))
			} else {
				c.Status, c.Detail = Pass, "claims name no class; the default is "+strings.Join(defaults, ", ")
			}
			checks = append(checks, c)
			continue
		}
		want, ours := rendered[name]
		have, exists := live[name]
		switch {
		case !ours && !exists:
			c.Status, c.Detail = Fail, "the claims use it, the stack does not render it (topology.storageClass.create is off) and the cluster has none of that name"
			c.Fix = fmt.Sprintf("create it, set topology.storageClass.name to one of the cluster's classes (%s), or set topology.storageClass.create=true with its provisioner", joinOr(names, "none"))
		case !ours:
			c.Status, c.Detail = Pass, fmt.Sprintf("the cluster's, provisioner %s", have.Provisioner)
		case exists && (have.Provisioner != want.Provisioner || !maps.Equal(have.Parameters, want.Parameters)):
			c.Status = Fail
			c.Detail = fmt.Sprintf("exists with provisioner %s and parameters %v; the stack renders %s with %v, and both fields are immutable", have.Provisioner, have.Parameters, want.Provisioner, want.Parameters)
			c.Fix = fmt.Sprintf("set topology.storageClass.create=false to use the cluster's class as it is, or topology.storageClass.name to another name (deleting a class leaves its volumes: kubectl delete storageclass %s)", name)
		case isCSI(want.Provisioner) && !slices.Contains(drivers, want.Provisioner):
			c.Status = Fail
			c.Detail = fmt.Sprintf("rendered with provisioner %s, but the cluster has no CSIDriver %s (drivers: %s): its claims would stay Pending", want.Provisioner, want.Provisioner, joinOr(drivers, "none"))
			if want.Provisioner == EBSCSIDriver {
				c.Fix = fmt.Sprintf("install the EBS CSI driver: eksctl create addon --cluster CLUSTER --name aws-ebs-csi-driver (dist/%s/cluster/eksctl.yaml lists it under addons)", e.Profile)
			} else {
				c.Fix = "install the CSI driver " + want.Provisioner + ", or set topology.storageClass.provisioner"
			}
			if want.Provisioner != EBSCSIDriver {
				c.Status = Warn // not every CSI driver registers a CSIDriver object
			}
		default:
			c.Status, c.Detail = Pass, fmt.Sprintf("rendered by the stack, provisioner %s available", want.Provisioner)
			if !isCSI(want.Provisioner) {
				c.Detail = fmt.Sprintf("rendered by the stack, provisioner %s (in-tree)", want.Provisioner)
			}
		}
		checks = append(checks, c)
	}
	return checks
}

// CheckIngress checks the IngressClasses the Ingresses name: a named
// class must exist (alb with the AWS Load Balancer Controller's
// controller), an Ingress without a class needs a default class.
func CheckIngress(e *Expect, s *Snapshot) []Check {
	var checks []Check
	var names, defaults []string
	byName := map[string]string{}
	for _, c := range s.IngressClasses {
		names = append(names, c.Name)
		byName[c.Name] = c.Spec.Controller
		if c.Annotations[defaultIngressClassAnnotation] == "true" {
			defaults = append(defaults, c.Name)
		}
	}
	slices.Sort(names)
	for _, name := range e.IngressClasses {
		c := Check{Name: "ingress", Subject: "IngressClass " + name}
		controller, ok := byName[name]
		switch {
		case name == "":
			c.Subject = "the default IngressClass"
			if len(defaults) == 0 {
				c.Status, c.Detail = Fail, "an Ingress names no class and the cluster has no default class: no controller would serve it"
				c.Fix = fmt.Sprintf("install an ingress controller and mark its class the default: kubectl annotate ingressclass NAME %s=true (classes: %s)", defaultIngressClassAnnotation, joinOr(names, "none"))
			} else {
				c.Status, c.Detail = Pass, "Ingresses without a class go to the default "+strings.Join(defaults, ", ")
			}
		case !ok:
			c.Status, c.Detail = Fail, fmt.Sprintf("an Ingress names it; the cluster has none (classes: %s)", joinOr(names, "none"))
			c.Fix = "install its controller"
			if name == "alb" {
				c.Fix = fmt.Sprintf("install the AWS Load Balancer Controller's Helm chart, which creates IngressClass alb (the command is in dist/%s/cluster/eksctl.yaml's header)", e.Profile)
			}
		case name == "alb" && controller != ALBController:
			c.Status, c.Detail = Fail, fmt.Sprintf("its controller is %q, not the AWS Load Balancer Controller's %s", controller, ALBController)
			c.Fix = "kubectl delete ingressclass alb and install the AWS Load Balancer Controller's Helm chart, or set topology.loadBalancer=generic"
		default:
			c.Status, c.Detail = Pass, "controller "+controller
		}
		checks = append(checks, c)
	}
	return checks
}

// CheckLoadBalancerController checks, when objects of the stack need the
// AWS Load Balancer Controller, the evidence that it is installed and
// running: its IngressClassParams CRD served by the API and its
// Deployment available.
func CheckLoadBalancerController(e *Expect, s *Snapshot) []Check {
	if len(e.AWSLoadBalancer) == 0 {
		return nil
	}
	install := fmt.Sprintf("install the AWS Load Balancer Controller's Helm chart with the service account eksctl creates (dist/%s/cluster/eksctl.yaml's header has the command), or set topology.loadBalancer=generic", e.Profile)
	needs := "needed by " + strings.Join(e.AWSLoadBalancer, ", ")
	crd := Check{Name: "aws-load-balancer-controller", Subject: "CRD " + albParams + ".elbv2.k8s.aws"}
	if s.ALBParams {
		crd.Status, crd.Detail = Pass, "served as "+albParamsGV
	} else {
		crd.Status, crd.Detail, crd.Fix = Fail, "the API does not serve "+albParamsGV+" "+albParams+": the controller's CRDs are not installed; "+needs, install
	}
	dep := Check{Name: "aws-load-balancer-controller", Subject: "Deployment app.kubernetes.io/name=" + lbcName}
	var avail, found []string
	for _, d := range s.LBCDeployments {
		found = append(found, d.Namespace+"/"+d.Name)
		if d.Status.AvailableReplicas > 0 {
			avail = append(avail, fmt.Sprintf("%s/%s (%d available)", d.Namespace, d.Name, d.Status.AvailableReplicas))
		}
	}
	switch {
	case len(avail) > 0:
		dep.Status, dep.Detail = Pass, strings.Join(avail, ", ")
	case len(found) > 0:
		dep.Status, dep.Detail = Fail, "no replica available in "+strings.Join(found, ", ")+"; "+needs
		dep.Fix = "kubectl -n kube-system describe deployment " + lbcName + " (its IAM service account, its webhook certificate)"
	default:
		dep.Status, dep.Detail, dep.Fix = Fail, "not installed; "+needs, install
	}
	return []Check{crd, dep}
}

// CheckPodSecurity reads the Pod Security probe: the admission must
// refuse an invalid enforce level (it is on), must refuse a privileged
// pod in each existing namespace of the stack, and must not warn that a
// namespace still to be created is exempt.
func CheckPodSecurity(p PodSecurityProbe) []Check {
	var checks []Check
	on := Check{Name: "pod-security", Subject: "PodSecurity admission"}
	switch {
	case hasAny(p.InvalidLevel, enforceLabel):
		on.Status, on.Detail = Pass, "on: a dry-run namespace with an invalid enforce level is refused"
	case p.InvalidLevel == "":
		on.Status, on.Detail = Fail, "off: a dry-run namespace with enforce=no-such-level is accepted, so the stack's restricted labels would not be enforced"
		on.Fix = "enable the PodSecurity admission plugin (kube-apiserver: remove it from --disable-admission-plugins; on by default since Kubernetes 1.25)"
	default:
		on.Status, on.Detail = Fail, "the dry-run namespace was refused for another reason: "+p.InvalidLevel
		on.Fix = "run preflight as a user who may create namespaces (a dry run stores nothing)"
	}
	checks = append(checks, on)
	for _, n := range p.Namespaces {
		c := Check{Name: "pod-security", Subject: "namespace " + n.Name}
		switch {
		case !n.Exists && len(n.Warnings) > 0 && strings.HasPrefix(n.Warnings[0], "reading the namespace: "):
			c.Status, c.Detail = Fail, n.Warnings[0]
			c.Fix = "run preflight as a user who may get namespaces and create them (a dry run stores nothing)"
		case !n.Exists:
			exempt := ""
			for _, w := range n.Warnings {
				if hasAny(w, "exempt", "refused") {
					exempt = w
				}
			}
			if exempt != "" {
				c.Status, c.Detail = Fail, "creating it (dry run): "+exempt
				c.Fix = "remove the namespace from the exemptions of the API server's PodSecurity AdmissionConfiguration, or set namespace to another name"
			} else {
				c.Status, c.Detail = Pass, fmt.Sprintf("not created yet; a dry-run creation with enforce=%s is accepted without an exemption warning", n.Want)
			}
		case n.Live != n.Want:
			c.Status, c.Detail = Warn, fmt.Sprintf("exists with enforce=%q; apply sets %q (pods already there that violate it keep running)", n.Live, n.Want)
			c.Fix = fmt.Sprintf("kubectl label --dry-run=server --overwrite namespace %s %s=%s shows which running pods would violate it", n.Name, enforceLabel, n.Want)
		case hasAny(n.PodRefusal, "violates PodSecurity"):
			c.Status, c.Detail = Pass, fmt.Sprintf("enforces %s: a dry-run privileged pod is refused", n.Want)
		case n.PodRefusal == "":
			c.Status, c.Detail = Fail, fmt.Sprintf("labelled enforce=%s, yet a dry-run privileged pod is admitted: the namespace is exempt or the admission is off", n.Want)
			c.Fix = "remove the namespace from the exemptions of the API server's PodSecurity AdmissionConfiguration"
		default:
			c.Status, c.Detail = Warn, "the dry-run pod was refused before Pod Security could judge it: "+n.PodRefusal
			c.Fix = "kubectl -n " + n.Name + " get serviceaccount default (the probe pod uses it)"
		}
		checks = append(checks, c)
	}
	return checks
}

// CheckExternals checks the objects the stacks declare as provided by
// the cluster or the user (stack.Stack.External), other than the
// StorageClasses CheckStorage covers and the claims StatefulSets make.
func CheckExternals(e *Expect, found map[string]string) []Check {
	var checks []Check
	for _, x := range e.Externals {
		if x.Ref.Kind == "StorageClass" || x.Ref.Kind == "PersistentVolumeClaim" {
			continue
		}
		c := Check{Name: "externals", Subject: x.Ref.String()}
		state, ok := found[x.Ref.String()]
		get := "kubectl get " + strings.ToLower(x.Ref.Kind) + " " + x.Ref.Name
		if x.Ref.Namespace != "" {
			get += " -n " + x.Ref.Namespace
		}
		switch {
		case !ok || state == notLooked:
			c.Status, c.Detail, c.Fix = NotCheckable, "preflight does not look up this kind; "+x.Reason, "check it: "+get
		case state == "":
			c.Status, c.Detail = Pass, "exists ("+x.Reason+")"
		default:
			c.Status, c.Detail = Fail, state+": "+x.Reason
			c.Fix = "provide it before apply (" + get + " must find it)"
			if x.Ref.Kind == "Secret" && x.Ref.Namespace != "" {
				c.Fix = fmt.Sprintf("kubectl create namespace %s; kubectl -n %s create secret generic %s --from-literal=KEY=VALUE ... (the keys the reason names)", x.Ref.Namespace, x.Ref.Namespace, x.Ref.Name)
			}
		}
		checks = append(checks, c)
	}
	return checks
}

// CheckNodeSettings reports the node settings the stack needs that the
// API cannot show: node status reports neither sysctls nor file limits,
// and the kubelet's --allowed-unsafe-sysctls is not readable through the
// API. Each is NotCheckable, with the command that shows it on a node.
func CheckNodeSettings(e *Expect) []Check {
	var checks []Check
	if len(e.Sysctls) > 0 {
		var kv []string
		for _, k := range sortedKeys(e.Sysctls) {
			kv = append(kv, k+"="+e.Sysctls[k])
		}
		checks = append(checks, Check{Name: "sysctls", Subject: "cluster.sysctls", Status: NotCheckable,
			Detail: "node status does not report sysctls; the nodes need " + strings.Join(kv, ", ") + " (the eksctl preBootstrapCommands or prepare-node.sh write them)",
			Fix:    "on a node: kubectl debug node/NODE -it --image=busybox -- sysctl " + strings.Join(sortedKeys(e.Sysctls), " ")})
	}
	if e.FileLimit > 0 {
		checks = append(checks, Check{Name: "sysctls", Subject: "cluster.fileLimit", Status: NotCheckable,
			Detail: fmt.Sprintf("node status does not report file limits; the nodes need nofile and nproc %d (/etc/security/limits.d/90-iotstack.conf)", e.FileLimit),
			Fix:    "on a node: kubectl debug node/NODE -it --image=busybox -- cat /host/etc/security/limits.d/90-iotstack.conf"})
	}
	if len(e.PodSysctls) > 0 {
		checks = append(checks, Check{Name: "sysctls", Subject: "pod sysctls", Status: NotCheckable,
			Detail: "pods set " + strings.Join(e.PodSysctls, ", ") + "; an unsafe one needs the kubelet's --allowed-unsafe-sysctls, which the API does not show",
			Fix:    "check the kubelet configuration of the nodes (allowedUnsafeSysctls)"})
	}
	if len(checks) == 0 {
		checks = append(checks, Check{Name: "sysctls", Subject: "node settings", Status: Pass, Detail: "the values ask for no sysctl or file limit and no pod sets a sysctl"})
	}
	return checks
}
