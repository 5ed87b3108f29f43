// Package sts builds the shape the stateful components share: a
// StatefulSet with its headless and client Services and its
// PodDisruptionBudget, placed through the stack's Topology, restricted,
// with claims retained on delete and scale-down.
package sts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/stack"
)

// Spec describes one stateful workload.
type Spec struct {
	// Name is the StatefulSet's name; pods are <Name>-<ordinal>.
	Name string
	// Service is the headless Service that gives the pods DNS names; it is
	// created when Ports is not empty. Several StatefulSets may share one.
	Service string
	// Replicas is the number of pods.
	Replicas int32
	// Parallel starts and stops pods together instead of one by one.
	Parallel bool
	// Selector selects exactly this workload's pods.
	Selector map[string]string
	// Placement places the pods.
	Placement stack.Placement
	// Security is the pods' identity.
	Security stack.PodSecurity
	// GracePeriod is terminationGracePeriodSeconds.
	GracePeriod int64
	// PodAnnotations go on the pod template (scrape annotations).
	PodAnnotations map[string]string
	// InitContainers, Containers and Volumes make the pod.
	InitContainers []corev1.Container
	Containers     []corev1.Container
	Volumes        []corev1.Volume
	// Claims are the volumeClaimTemplates.
	Claims []corev1.PersistentVolumeClaim
	// Config are the ConfigMaps the pods read at start: a checksum of
	// their content on the pod template rolls the pods when they change.
	Config []*corev1.ConfigMap
}

// ChecksumAnnotation holds the checksum of the ConfigMaps a pod reads.
const ChecksumAnnotation = "iotstack.io/config-checksum"

// Checksum is a SHA-256 over the ConfigMaps' names, keys and values, in a
// fixed order.
func Checksum(cms ...*corev1.ConfigMap) string {
	h := sha256.New()
	for _, cm := range cms {
		fmt.Fprintf(h, "%s\x00", cm.Name)
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%s\x00%s\x00", k, cm.Data[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// StatefulSet builds the StatefulSet of spec.
func StatefulSet(topo stack.Topology, spec Spec) (*appsv1.StatefulSet, error) {
	pod := corev1.PodSpec{
		AutomountServiceAccountToken:  ptr.To(false),
		EnableServiceLinks:            ptr.To(false),
		SecurityContext:               stack.RestrictedPodSecurityContext(spec.Security),
		TerminationGracePeriodSeconds: ptr.To(spec.GracePeriod),
		InitContainers:                spec.InitContainers,
		Containers:                    spec.Containers,
		Volumes:                       spec.Volumes,
	}
	if err := topo.Place(&pod, spec.Selector, spec.Placement); err != nil {
		return nil, fmt.Errorf("placement: %w", err)
	}
	annotations := map[string]string{}
	for k, v := range spec.PodAnnotations {
		annotations[k] = v
	}
	if len(spec.Config) > 0 {
		annotations[ChecksumAnnotation] = Checksum(spec.Config...)
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	policy := appsv1.OrderedReadyPodManagement
	if spec.Parallel {
		policy = appsv1.ParallelPodManagement
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(spec.Replicas),
			ServiceName:         spec.Service,
			PodManagementPolicy: policy,
			Selector:            &metav1.LabelSelector{MatchLabels: copyMap(spec.Selector)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyMap(spec.Selector), Annotations: annotations},
				Spec:       pod,
			},
			VolumeClaimTemplates: spec.Claims,
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		},
	}, nil
}

// Headless returns the headless Service that gives pods matching selector
// their DNS names, published before the pods are ready so peers can find
// each other while they form a quorum.
func Headless(name string, selector map[string]string, ports []corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 selector,
			Ports:                    ports,
		},
	}
}

// Client returns a ClusterIP Service over the ready pods matching selector.
func Client(name string, selector map[string]string, ports []corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: selector, Ports: ports},
	}
}

// ScrapeAnnotations are the conventional Prometheus scrape annotations for
// a metrics port and path.
func ScrapeAnnotations(port int32, path string) map[string]string {
	return map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/port":   fmt.Sprint(port),
		"prometheus.io/path":   path,
	}
}

// ScriptVolume returns a volume mounting the ConfigMap's keys as
// executable files.
func ScriptVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap},
		DefaultMode:          ptr.To(int32(0o555)),
	}}}
}

// EmptyDir returns a scratch volume, for writable paths under a read-only
// root filesystem.
func EmptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

// PodEnv returns the downward-API variables every component script uses:
// POD_NAME, POD_NAMESPACE and POD_IP.
func PodEnv() []corev1.EnvVar {
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	return []corev1.EnvVar{field("POD_NAME", "metadata.name"), field("POD_NAMESPACE", "metadata.namespace"), field("POD_IP", "status.podIP")}
}

// Port returns a Service port that targets the container port of the same
// name.
func Port(name string, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromString(name)}
}

// Hosts returns the per-pod host names of a StatefulSet behind its
// headless Service, in ordinal order.
func Hosts(s *stack.Stack, name, headless string, replicas int32) []string {
	out := make([]string, replicas)
	for i := range out {
		out[i] = s.PodHost(fmt.Sprintf("%s-%d", name, i), headless)
	}
	return out
}

// HostsFit rejects more one-per-host replicas than the pool (or, with no
// pool, the whole topology) has nodes: the rest would stay Pending.
func HostsFit(topo stack.Topology, component, pool string, replicas int32) error {
	hosts := 0
	if pool == "" {
		for _, p := range topo.Pools {
			hosts += p.Nodes(topo)
		}
	} else {
		p, err := topo.Pool(pool)
		if err != nil {
			return fmt.Errorf("%s: pool: %w", component, err)
		}
		hosts = p.Nodes(topo)
	}
	if int(replicas) > hosts {
		return fmt.Errorf("%s: replicas %d exceed the %d nodes available; with one per host the rest could never be scheduled", component, replicas, hosts)
	}
	return nil
}

// Tag returns the tag of an image reference (name:tag or
// name:tag@digest), or "" when stack.ParseImage refuses it; components
// check their images with CheckImages first.
func Tag(image string) string {
	img, err := stack.ParseImage(image)
	if err != nil {
		return ""
	}
	return img.Tag
}

// CheckImages parses each image (field name, reference) with
// stack.ParseImage and returns the first error as
// "<component>: <field>: <reason>".
func CheckImages(component string, images ...[2]string) error {
	for _, im := range images {
		if _, err := stack.ParseImage(im[1]); err != nil {
			return fmt.Errorf("%s: %s: %w", component, im[0], err)
		}
	}
	return nil
}

// ZoneLetter names the i-th zone's StatefulSet of a component that runs
// one StatefulSet per zone: a, b, ..., z, then aa, ab, ...
func ZoneLetter(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}
	return ZoneLetter(i/26-1) + ZoneLetter(i%26)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CheckName checks a component's name, which becomes its workloads',
// Services' and pods' names: a DNS-1035 label of at most max characters
// (max leaves room for the suffixes the component appends). component
// prefixes the error.
func CheckName(component, name string, max int) error {
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 || len(name) > max {
		return fmt.Errorf("%s: name %q must be a DNS-1035 label of at most %d characters", component, name, max)
	}
	return nil
}

// EphemeralVolume adds the emptyDir volume name of size to pod (sizeLimit
// size), for data a store keeps in the pod instead of on a claim, and
// raises the ephemeral-storage request and limit of the first container
// mounting it by size: the scheduler then reserves the node's disk for
// it, and the kubelet does not evict the pod for using what the volume
// may hold.
func EphemeralVolume(pod *corev1.PodSpec, name string, size resource.Quantity) {
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(size)}}})
	for i := range pod.Containers {
		ct := &pod.Containers[i]
		if !slices.ContainsFunc(ct.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == name }) {
			continue
		}
		for _, l := range []corev1.ResourceList{ct.Resources.Requests, ct.Resources.Limits} {
			if l != nil {
				q := l[corev1.ResourceEphemeralStorage]
				q.Add(size)
				l[corev1.ResourceEphemeralStorage] = q
			}
		}
		return
	}
}
