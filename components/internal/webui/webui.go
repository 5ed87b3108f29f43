// Package webui builds the shape the operators' web UIs share (kafka-ui,
// pgAdmin, RedisInsight): one restricted pod in a Deployment, whose state
// is scratch space (emptyDir) rebuilt from its configuration at every
// start, a ClusterIP Service with one port named "http" that kubectl
// port-forward reaches, and an optional Ingress made by the profile
// (Share), with the UI's own login in front of everything it serves.
//
// The stack's NetworkPolicy for such a pod admits nobody unless an
// Ingress routes to the Service (then the ingress controller, on the http
// port only): kubectl port-forward goes through the kubelet and is not
// subject to NetworkPolicy.
package webui

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// PortName is the name of the UI's container and Service port.
const PortName = "http"

// Spec describes one UI's pod.
type Spec struct {
	// Name names the Deployment and the Service.
	Name string
	// Pool is the node pool; empty means any node.
	Pool string
	// Security is the pod's identity.
	Security stack.PodSecurity
	// Container is the UI's container; its port named PortName is served.
	Container corev1.Container
	// Volumes are the pod's volumes.
	Volumes []corev1.Volume
	// Config are the ConfigMaps the pod reads at start (checksummed on
	// the pod template, so a change rolls the pod).
	Config []*corev1.ConfigMap
}

// Build adds the UI's Deployment, Service and ConfigMaps to c and returns
// the Service's port.
func Build(c *stack.Component, spec Spec) (int32, error) {
	var port int32
	for _, p := range spec.Container.Ports {
		if p.Name == PortName {
			port = p.ContainerPort
		}
	}
	if port == 0 {
		return 0, fmt.Errorf("%s: the container declares no port named %s", spec.Name, PortName)
	}
	sel := c.SelectorLabels()
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(spec.Security),
		Containers:                   []corev1.Container{spec.Container},
		Volumes:                      spec.Volumes,
	}
	if err := c.Stack().Topology().Place(&pod, sel, stack.Placement{Pool: spec.Pool}); err != nil {
		return 0, fmt.Errorf("%s: placement: %w", spec.Name, err)
	}
	tpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: pod}
	if len(spec.Config) > 0 {
		tpl.Annotations = map[string]string{sts.ChecksumAnnotation: sts.Checksum(spec.Config...)}
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			// One pod with its state in an emptyDir: replace, never run two.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: tpl,
		},
	}
	for _, cm := range spec.Config {
		c.Add(cm)
	}
	c.Add(sts.Client(spec.Name, sel, []corev1.ServicePort{{Name: PortName, Port: port, TargetPort: intstr.FromString(PortName)}}), deploy)
	return port, nil
}

// CheckPath checks an ingress path prefix of a UI: empty (no ingress) or
// /<segment>/ with lower-case letters, digits and hyphens.
func CheckPath(component, path string) error {
	if path == "" {
		return nil
	}
	seg := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
	ok := strings.HasPrefix(path, "/") && strings.HasSuffix(path, "/") && seg != ""
	for _, r := range seg {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%s: path %q; allowed empty (kubectl port-forward only) or one path segment like /kafka-ui/ (lower-case letters, digits, hyphens)", component, path)
	}
	return nil
}

// Tmp is the scratch volume mounted at /tmp.
func Tmp() (corev1.Volume, corev1.VolumeMount) {
	return sts.EmptyDir("tmp"), corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}
}
