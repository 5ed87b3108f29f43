package stack

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Object is a Kubernetes object a Component can own: any k8s.io/api type
// (a pointer such as *appsv1.StatefulSet) or, for CRD-backed kinds only,
// *unstructured.Unstructured.
type Object interface {
	metav1.Object
	runtime.Object
}

// Scheme knows every built-in API group the stack can render. Objects of
// types it does not know are rejected at synthesis unless they are
// *unstructured.Unstructured with an explicit apiVersion and kind.
var Scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		policyv1.AddToScheme, rbacv1.AddToScheme, networkingv1.AddToScheme,
		storagev1.AddToScheme, autoscalingv2.AddToScheme, schedulingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			// The registrations above are static; failing here is a
			// programming error in this file, not a user input.
			panic(fmt.Sprintf("stack: building the scheme: %v", err))
		}
	}
	return s
}

// gvkOf returns the GroupVersionKind of obj: from the scheme for typed
// objects, from the object itself for unstructured ones.
func gvkOf(obj Object) (schema.GroupVersionKind, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		gvk := u.GroupVersionKind()
		if gvk.Kind == "" || gvk.Version == "" {
			return gvk, fmt.Errorf("unstructured object %q has no apiVersion or kind", u.GetName())
		}
		return gvk, nil
	}
	gvks, _, err := Scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("type %T is not a known Kubernetes API type (use *unstructured.Unstructured for CRD kinds): %v", obj, err)
	}
	return gvks[0], nil
}

// clusterScoped lists the built-in kinds that live outside namespaces.
// CRD-backed kinds are namespaced unless the stack holds their CRD with
// spec.scope Cluster or the stack declares them with ClusterScoped.
var clusterScoped = map[schema.GroupKind]bool{
	{Kind: "Namespace"}:                                                             true,
	{Kind: "Node"}:                                                                  true,
	{Kind: "PersistentVolume"}:                                                      true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                 true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                    true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                       true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:               true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                             true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                              true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                           true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                    true,
}

// ObjectRef names one object: its kind (with group), namespace and name.
type ObjectRef struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String renders the reference as Kind/name or Kind/namespace/name, the
// form used in every error message.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

func sortedRefs[V any](m map[ObjectRef]V) []ObjectRef {
	refs := make([]ObjectRef, 0, len(m))
	for r := range m {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs
}
