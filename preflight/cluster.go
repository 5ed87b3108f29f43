package preflight

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/stack"
)

// ErrUnreachable wraps the error of a cluster that did not answer (the
// version request failed): the CLI exits with 3 on it.
var ErrUnreachable = errors.New("cluster unreachable")

// Pod Security admission's labels (k8s.io/pod-security-admission/api,
// EnforceLevelLabel).
const enforceLabel = "pod-security.kubernetes.io/enforce"

// probeName names the dry-run objects of the Pod Security probe; nothing
// is ever stored under it.
const probeName = "iotstack-preflight-probe"

// lbcName is the app.kubernetes.io/name label of the AWS Load Balancer
// Controller's Deployment: the chart's selector labels use its name
// (helm/aws-load-balancer-controller/templates/_helpers.tpl,
// selectorLabels, and Chart.yaml name, v3.5.0).
const lbcName = "aws-load-balancer-controller"

// albParamsGV and albParams are the IngressClassParams resource the AWS
// Load Balancer Controller's chart installs as a CRD
// (helm/aws-load-balancer-controller/crds/crds.yaml,
// ingressclassparams.elbv2.k8s.aws, served as v1beta1, v3.5.0).
const (
	albParamsGV = "elbv2.k8s.aws/v1beta1"
	albParams   = "ingressclassparams"
)

// Snapshot is what preflight reads from the cluster; the checks are pure
// functions of it and the Expect.
type Snapshot struct {
	// Version is the API server's gitVersion.
	Version string
	// Nodes and Pods are every node and pod.
	Nodes []corev1.Node
	Pods  []corev1.Pod
	// StorageClasses, CSIDrivers (names) and IngressClasses are the
	// cluster's.
	StorageClasses []storagev1.StorageClass
	CSIDrivers     []string
	IngressClasses []networkingv1.IngressClass
	// ALBParams is whether the API serves the AWS Load Balancer
	// Controller's IngressClassParams (its CRD is installed).
	ALBParams bool
	// LBCDeployments are the Deployments labelled as the AWS Load
	// Balancer Controller's.
	LBCDeployments []appsv1.Deployment
	// Externals maps each external reference (stack.ObjectRef.String())
	// to "" when it exists, else why not ("not found", an error), or
	// NotCheckable's marker when its kind is not looked up.
	Externals map[string]string
	// PodSecurity is the Pod Security admission probe.
	PodSecurity PodSecurityProbe
	// Errors are the reads that failed, by area (nodes, storage, ...).
	Errors map[string]string
}

// PodSecurityProbe is what the dry-runs of the Pod Security probe
// returned.
type PodSecurityProbe struct {
	// InvalidLevel is the API server's answer to a dry-run Namespace
	// whose enforce label names no level: Pod Security admission refuses
	// it (admission.go, ValidateNamespace: "require valid labels on
	// create", k8s.io/pod-security-admission v0.34.2); "" means it was
	// accepted, so the admission is off.
	InvalidLevel string
	// Namespaces are the stack's namespaces that enforce a level.
	Namespaces []NamespaceProbe
}

// NamespaceProbe is the probe of one of the stack's namespaces.
type NamespaceProbe struct {
	// Name is the namespace; Want its rendered enforce level.
	Name, Want string
	// Exists is whether it exists; Live its enforce label then.
	Exists bool
	Live   string
	// PodRefusal is the answer to a dry-run pod that runs privileged (an
	// existing namespace enforcing Want): the refusal, "" when admitted.
	PodRefusal string
	// Warnings are the warnings of a dry-run creation of the namespace
	// with its rendered labels (a namespace that does not exist yet): Pod
	// Security warns when it is exempt (exemptNamespaceWarning).
	Warnings []string
}

// notLooked marks an external whose kind preflight does not look up.
const notLooked = "\x00not looked up"

// warnings collects the API server's warnings (rest.WarningHandler).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

// Read takes the Snapshot the Expect needs from the cluster. Only dry-run
// writes are made. It returns an error wrapping ErrUnreachable when the
// API server does not answer; a read that fails later is recorded in
// Snapshot.Errors and fails its check.
func Read(ctx context.Context, cfg *rest.Config, e *Expect) (*Snapshot, error) {
	cfg = rest.CopyConfig(cfg)
	w := &warnings{}
	cfg.WarningHandler = w
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, cfg.Host, err)
	}
	s := &Snapshot{Version: v.GitVersion, Externals: map[string]string{}, Errors: map[string]string{}}
	fail := func(area string, err error) { s.Errors[area] = err.Error() }
	if l, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		fail("nodes", err)
	} else {
		s.Nodes = l.Items
	}
	if l, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil {
		fail("nodes", err)
	} else {
		s.Pods = l.Items
	}
	if l, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{}); err != nil {
		fail("storage", err)
	} else {
		s.StorageClasses = l.Items
	}
	if l, err := cs.StorageV1().CSIDrivers().List(ctx, metav1.ListOptions{}); err != nil {
		fail("storage", err)
	} else {
		for _, d := range l.Items {
			s.CSIDrivers = append(s.CSIDrivers, d.Name)
		}
	}
	if l, err := cs.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{}); err != nil {
		fail("ingress", err)
	} else {
		s.IngressClasses = l.Items
	}
	if len(e.AWSLoadBalancer) > 0 {
		rl, err := cs.Discovery().ServerResourcesForGroupVersion(albParamsGV)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			fail("aws-load-balancer-controller", err)
		default:
			for _, r := range rl.APIResources {
				s.ALBParams = s.ALBParams || r.Name == albParams
			}
		}
		if l, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + lbcName}); err != nil {
			fail("aws-load-balancer-controller", err)
		} else {
			s.LBCDeployments = l.Items
		}
	}
	for _, x := range e.Externals {
		s.Externals[x.Ref.String()] = lookup(ctx, cs, dyn, x.Ref)
	}
	s.PodSecurity = probePodSecurity(ctx, cs, w, e)
	return s, nil
}

// lookup returns "" when the referenced object exists, else why not.
func lookup(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface, ref stack.ObjectRef) string {
	var err error
	get := metav1.GetOptions{}
	switch ref.Kind {
	case "Namespace":
		_, err = cs.CoreV1().Namespaces().Get(ctx, ref.Name, get)
	case "Secret":
		_, err = cs.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, get)
	case "ConfigMap":
		_, err = cs.CoreV1().ConfigMaps(ref.Namespace).Get(ctx, ref.Name, get)
	case "ServiceAccount":
		_, err = cs.CoreV1().ServiceAccounts(ref.Namespace).Get(ctx, ref.Name, get)
	case "StorageClass":
		_, err = cs.StorageV1().StorageClasses().Get(ctx, ref.Name, get)
	case "IngressClass":
		_, err = cs.NetworkingV1().IngressClasses().Get(ctx, ref.Name, get)
	case "ClusterRole":
		_, err = cs.RbacV1().ClusterRoles().Get(ctx, ref.Name, get)
	case "CustomResourceDefinition":
		gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		_, err = dyn.Resource(gvr).Get(ctx, ref.Name, get)
	default:
		return notLooked
	}
	switch {
	case err == nil:
		return ""
	case apierrors.IsNotFound(err):
		return "not found"
	}
	return err.Error()
}

// probePodSecurity makes the Pod Security probe's dry-runs.
func probePodSecurity(ctx context.Context, cs kubernetes.Interface, w *warnings, e *Expect) PodSecurityProbe {
	var p PodSecurityProbe
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	bad := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeName, Labels: map[string]string{enforceLabel: "no-such-level"}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, bad, dry); err != nil {
		p.InvalidLevel = err.Error()
	}
	w.take()
	for _, n := range e.Namespaces {
		want := n.Labels[enforceLabel]
		if want == "" || want == "privileged" {
			continue
		}
		np := NamespaceProbe{Name: n.Name, Want: want}
		live, err := cs.CoreV1().Namespaces().Get(ctx, n.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}}
			if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, dry); err != nil {
				np.Warnings = append(np.Warnings, "dry-run creation refused: "+err.Error())
			}
			np.Warnings = append(np.Warnings, w.take()...)
		case err != nil:
			np.Warnings = append(np.Warnings, "reading the namespace: "+err.Error())
		default:
			np.Exists, np.Live = true, live.Labels[enforceLabel]
			if np.Live == want {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: probeName, Namespace: n.Name},
					Spec: corev1.PodSpec{
						AutomountServiceAccountToken: ptr.To(false),
						Containers: []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10",
							SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}},
					},
				}
				if _, err := cs.CoreV1().Pods(n.Name).Create(ctx, pod, dry); err != nil {
					np.PodRefusal = err.Error()
				}
				w.take()
			}
		}
		p.Namespaces = append(p.Namespaces, np)
	}
	sort.Slice(p.Namespaces, func(i, j int) bool { return p.Namespaces[i].Name < p.Namespaces[j].Name })
	return p
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hasAny reports whether s contains any of the substrings.
func hasAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
