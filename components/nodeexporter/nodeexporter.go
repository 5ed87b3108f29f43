// Package nodeexporter renders the Prometheus node exporter
// (quay.io/prometheus/node-exporter v1.12.1) as a DaemonSet on every node,
// for the host's CPU, memory, file systems and network beyond what the
// kubelet and cAdvisor report.
//
// It is an opt-in part (monitoring.nodeExporter) in a stack of its own:
// reading the host needs the host's network and process namespaces and
// its root file system, which Pod Security "restricted" (every other
// namespace of iotstack) forbids. Its namespace alone enforces
// "privileged"; the pod itself takes no more than it needs: hostNetwork
// and hostPID, the host's / mounted read-only at /host (HostToContainer
// propagation, upstream's rslave), a non-root user, no privilege
// escalation, every capability dropped, a read-only root file system.
//
// Facts, from prometheus/node_exporter at tag v1.12.1: Dockerfile
// (busybox, EXPOSE 9100, USER nobody, ENTRYPOINT /bin/node_exporter);
// README.md "Docker" (--net=host, --pid=host, -v /:/host:ro,rslave,
// --path.rootfs=/host, which must match the bind mount of the host root);
// VERSION 1.12.1.
//
// What remains: the timex collector's SYS_TIME capability (README.md) is
// not granted, so that collector may report errors on some systems; no
// alert rules read node exporter series yet (the capacity rules read
// cAdvisor's, which every profile has).
package nodeexporter

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

const (
	// Image is the default image, pinned.
	Image = "quay.io/prometheus/node-exporter:v1.12.1"
	// Port serves /metrics, on the host's network.
	Port   = 9100
	uid    = 65534
	rootfs = "/host"
)

// Config configures the node exporter. Zero fields take defaults.
type Config struct {
	// Name names the DaemonSet; default "node-exporter".
	Name string
	// Image overrides the pinned image.
	Image string
	// Resources default to 250m CPU / 180Mi limits per node.
	Resources stack.Resources
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "node-exporter"
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("250m", "180Mi")
	}
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("node-exporter", c.Name, 40); err != nil {
		return err
	}
	if err := sts.CheckImages("node-exporter", [2]string{"image", c.Image}); err != nil {
		return err
	}
	return c.Resources.Validate("node-exporter: resources")
}

// New adds the node exporter DaemonSet to s, which must enforce Pod
// Security "privileged" (stack.Options.PodSecurity): the restricted and
// baseline levels refuse host namespaces and host paths.
func New(s *stack.Stack, cfg Config) (*stack.Component, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("node-exporter: the stack is required")
	}
	if lvl := s.Options().PodSecurity; lvl != stack.PodSecurityPrivileged {
		return nil, fmt.Errorf("node-exporter: stack %s enforces Pod Security %q; the node exporter needs a namespace of its own that enforces %q (host network, PID namespace and root file system)", s.Name(), lvl, stack.PodSecurityPrivileged)
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: "node-exporter", Role: "exporter", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	sel := c.SelectorLabels()
	sc := stack.RestrictedContainerSecurityContext(true)
	pod := corev1.PodSpec{
		HostNetwork:                  true,
		HostPID:                      true,
		DNSPolicy:                    corev1.DNSClusterFirstWithHostNet,
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid}),
		// Every node, whatever its taints: a node without the exporter is
		// a node without host metrics.
		Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		Containers: []corev1.Container{{
			Name:  "node-exporter",
			Image: cfg.Image,
			Args: []string{
				"--path.rootfs=" + rootfs,
				fmt.Sprintf("--web.listen-address=:%d", Port),
			},
			Ports:           []corev1.ContainerPort{{Name: "metrics", ContainerPort: Port, HostPort: Port}},
			Resources:       cfg.Resources.Requirements(),
			ReadinessProbe:  stack.HTTPProbe("/", "metrics", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
			LivenessProbe:   stack.HTTPProbe("/", "metrics", stack.ProbeTiming{InitialDelaySeconds: 10, PeriodSeconds: 20, TimeoutSeconds: 5}),
			SecurityContext: sc,
			VolumeMounts: []corev1.VolumeMount{{
				Name: "host-root", MountPath: rootfs, ReadOnly: true,
				MountPropagation: ptr.To(corev1.MountPropagationHostToContainer),
			}},
		}},
		Volumes: []corev1.Volume{{Name: "host-root", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: "/", Type: ptr.To(corev1.HostPathDirectory)},
		}}},
	}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("10%"))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel, Annotations: sts.ScrapeAnnotations(Port, "/metrics")},
				Spec:       pod,
			},
		},
	}
	c.Add(ds)
	c.Except("pod-security", "the node exporter reads the host: hostNetwork and hostPID, hostPort 9100 (the host's network) and the host's / as a read-only hostPath; its namespace alone enforces Pod Security privileged, and the container stays non-root, without privilege escalation or capabilities, on a read-only root file system")
	c.Except("pdb", "a DaemonSet pod is not evicted by a node drain (kubectl drain --ignore-daemonsets) and is not rescheduled elsewhere: a budget protects nothing")
	c.Except("zone-spread", "a DaemonSet runs one pod on every node, so it spreads over every zone by construction")
	c.Except("host-anti-affinity", "a DaemonSet runs exactly one pod per node by construction")
	return c, nil
}
