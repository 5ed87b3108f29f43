package stack

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// PodSecurity describes the identity a pod runs with. The zero UID is not
// allowed: every workload the stack renders runs as non-root.
type PodSecurity struct {
	// UID and GID the containers run as; the image's own non-root user.
	UID, GID int64
	// FSGroup owns mounted volumes so the non-root user can write its data
	// directory; usually the same as GID.
	FSGroup int64
}

// RestrictedPodSecurityContext returns the pod-level part of the Pod
// Security Standard "restricted": non-root user and group, fsGroup for the
// data volume (changed only on mismatch, so large volumes mount fast), and
// the runtime's default seccomp profile.
func RestrictedPodSecurityContext(s PodSecurity) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:        ptr.To(true),
		RunAsUser:           ptr.To(s.UID),
		RunAsGroup:          ptr.To(s.GID),
		FSGroup:             ptr.To(s.FSGroup),
		FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch),
		SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// RestrictedContainerSecurityContext returns the container-level part of
// "restricted": no privilege escalation, every capability dropped, non-root,
// seccomp RuntimeDefault, and a read-only root filesystem when the image
// allows it (writable paths then come from emptyDir or data volumes).
func RestrictedContainerSecurityContext(readOnlyRootFilesystem bool) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		Privileged:               ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(readOnlyRootFilesystem),
		RunAsNonRoot:             ptr.To(true),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
