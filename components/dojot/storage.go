package dojot

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// LocalStorageClass is the guide's StorageClass for local volumes.
const LocalStorageClass = "local-storage"

// LocalVolume is one of the guide's local PersistentVolumes: a directory
// on the nodes of a group, bound to exactly one claim.
type LocalVolume struct {
	// Name of the volume (local-pv-<x>); the PersistentVolume is named
	// <namespace>-<Name> (PVName), because a PersistentVolume is
	// cluster-scoped and two stacks must never render the same one. Path
	// on the node, Size and access mode.
	Name, Path string
	Size       string
	Mode       corev1.PersistentVolumeAccessMode
	// NodeLabels select the nodes that hold the directory.
	NodeLabels map[string]string
	// Claim is the PersistentVolumeClaim (in the stack's namespace) the
	// volume is reserved for.
	Claim string
}

// AddLocalStorage adds the local-storage StorageClass (no provisioner,
// WaitForFirstConsumer) and the volumes, each reserved for its claim so
// that a volume on a group's node can only serve that group's claim.
func AddLocalStorage(s *stack.Stack, volumes []LocalVolume) error {
	if s == nil {
		return fmt.Errorf("dojot: local storage: stack is nil")
	}
	if err := checkVolumes(volumes); err != nil {
		return err
	}
	c, err := s.AddComponent("storage", stack.Meta{App: "storage", Role: "local-volumes"})
	if err != nil {
		return err
	}
	c.Add(&storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: LocalStorageClass},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimRetain),
	})
	return AddLocalVolumes(c, volumes)
}

// checkVolumes validates the volumes' sizes, modes, paths and claims.
func checkVolumes(volumes []LocalVolume) error {
	for i, v := range volumes {
		q, err := resource.ParseQuantity(v.Size)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("dojot: volumes[%d] (%s).size: %q; must be a positive quantity such as \"2Gi\"", i, v.Name, v.Size)
		}
		switch v.Mode {
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod:
		default:
			return fmt.Errorf("dojot: volumes[%d] (%s).mode: %q; allowed: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod", i, v.Name, v.Mode)
		}
		if !strings.HasPrefix(v.Path, "/") {
			return fmt.Errorf("dojot: volumes[%d] (%s).path: %q; must be an absolute path on the node", i, v.Name, v.Path)
		}
		if v.Claim == "" {
			return fmt.Errorf("dojot: volumes[%d] (%s).claim: empty; every local volume is reserved for one claim", i, v.Name)
		}
	}
	return nil
}

// AddLocalVolumes adds the local PersistentVolumes to the component c, of
// the local-storage class (which the caller's stack renders or declares
// external), each reserved for its claim in c's namespace and pinned to
// the nodes with its labels. The monitoring stack uses it for its claims.
func AddLocalVolumes(c *stack.Component, volumes []LocalVolume) error {
	if c == nil {
		return fmt.Errorf("dojot: local volumes: component is nil")
	}
	if err := checkVolumes(volumes); err != nil {
		return err
	}
	for _, v := range volumes {
		size, err := resource.ParseQuantity(v.Size)
		if err != nil {
			return fmt.Errorf("dojot: volume %s.size: %q: %w", v.Name, v.Size, err)
		}
		var reqs []corev1.NodeSelectorRequirement
		for _, k := range slices.Sorted(maps.Keys(v.NodeLabels)) {
			reqs = append(reqs, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{v.NodeLabels[k]}})
		}
		c.Add(&corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: PVName(c.Namespace(), v.Name)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{v.Mode},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              LocalStorageClass,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: v.Path}},
				ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: c.Namespace(), Name: v.Claim},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}}},
			},
		})
	}
	return nil
}

// PVName is the name of the PersistentVolume of the local volume name in
// the stack's namespace: "<namespace>-<name>", unique per stack.
func PVName(namespace, name string) string { return namespace + "-" + name }

// Ephemeral turns the volumeClaimTemplates named claims of c's
// StatefulSets into emptyDir volumes of the same name, for a store whose
// persistence is off (ansible-dojot v0.5.0 with a
// dojot_<service>_persistent_volumes false renders no claim and no mount,
// so the data stays in the pod). Each emptyDir's sizeLimit is the claim's
// request, and the first container that mounts it has its
// ephemeral-storage request and limit raised by that much, so that the
// scheduler reserves the node's disk for it and the kubelet does not
// evict the pod for using what the volume held. An error names a claim
// that no StatefulSet of c has (a renamed claim must not pass silently).
func Ephemeral(c *stack.Component, claims ...string) error {
	if c == nil {
		return fmt.Errorf("dojot: ephemeral: component is nil")
	}
	found := map[string]bool{}
	for _, o := range c.Objects() {
		set, ok := o.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		var keep []corev1.PersistentVolumeClaim
		for _, t := range set.Spec.VolumeClaimTemplates {
			if !slices.Contains(claims, t.Name) {
				keep = append(keep, t)
				continue
			}
			found[t.Name] = true
			size := t.Spec.Resources.Requests[corev1.ResourceStorage]
			sts.EphemeralVolume(&set.Spec.Template.Spec, t.Name, size)
		}
		set.Spec.VolumeClaimTemplates = keep
		if len(keep) == 0 {
			// Nothing left to retain.
			set.Spec.PersistentVolumeClaimRetentionPolicy = nil
		}
	}
	for _, name := range claims {
		if !found[name] {
			return fmt.Errorf("dojot: ephemeral: %s has no volumeClaimTemplate %q", c.Name(), name)
		}
	}
	return nil
}
