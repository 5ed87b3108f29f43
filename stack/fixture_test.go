package stack

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// testTopology is three zones with one 4 vCPU / 32 GiB node each, like the
// minimal-3az profile.
func testTopology() Topology {
	return Topology{
		Zones: []string{"zone-a", "zone-b", "zone-c"},
		Pools: []NodePool{{
			Name: "main", InstanceType: "r7g.xlarge", Arch: "arm64",
			CPU: resource.MustParse("4"), Memory: resource.MustParse("32Gi"), NodesPerZone: 1,
			Labels: map[string]string{"role": "main"},
		}},
	}
}

func newTestStack(t testing.TB) *Stack {
	t.Helper()
	s, err := New(Options{Name: "demo", PartOf: "iotstack-test", Topology: testTopology()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// echo is a small but complete stateful component built only with the
// package's helpers, the shape every real component follows. Tests break
// its objects on purpose through the pointers kept here.
type echo struct {
	c        *Component
	sts      *appsv1.StatefulSet
	client   *corev1.Service
	headless *corev1.Service
	cm       *corev1.ConfigMap
	secret   *SecretSpec
}

func addEcho(t testing.TB, s *Stack, name string) *echo {
	t.Helper()
	c, err := s.AddComponent(name, Meta{App: name, Role: "server", Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{c: c}
	e.secret = c.DeclareSecret(name+"-auth", SecretKey{Key: "password", Kind: RandomPassword})
	sel := c.SelectorLabels()
	e.cm = &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-config"},
		Data: map[string]string{
			"echo.conf": "listen 7000\nmode: on\n",
			"enabled":   "yes",
		},
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext:              RestrictedPodSecurityContext(PodSecurity{UID: 10001, GID: 10001, FSGroup: 10001}),
		Containers: []corev1.Container{{
			Name:  "echo",
			Image: "example.org/echo:1.2.3",
			Args:  []string{"--config", "/etc/echo/echo.conf"},
			Ports: []corev1.ContainerPort{{Name: "echo", ContainerPort: 7000}, {Name: "metrics", ContainerPort: 9100}},
			Env: []corev1.EnvVar{
				e.secret.Ref("password").EnvVar("ECHO_PASSWORD"),
				{Name: "ECHO_MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: e.cm.Name}, Key: "enabled"}}},
			},
			Resources:       MustLimits("1", "1Gi").Requirements(),
			ReadinessProbe:  HTTPProbe("/ready", "echo", ProbeTiming{PeriodSeconds: 5}),
			LivenessProbe:   TCPProbe("echo", ProbeTiming{InitialDelaySeconds: 10}),
			SecurityContext: RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "config", MountPath: "/etc/echo"}, {Name: "data", MountPath: "/data"}},
		}},
		Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: e.cm.Name}}}}},
	}
	if err := s.Topology().Place(&pod, sel, Placement{Pool: "main", SpreadZones: true, OnePerHost: true}); err != nil {
		t.Fatal(err)
	}
	ports := []corev1.ServicePort{{Name: "echo", Port: 7000, TargetPort: intstr.FromString("echo")}}
	e.headless = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-headless"},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, PublishNotReadyAddresses: true, Selector: sel, Ports: ports},
	}
	e.client = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Selector: sel, Ports: append([]corev1.ServicePort(nil), ports...)},
	}
	e.sts = &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(3)),
			ServiceName:         e.headless.Name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: sel},
			Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: pod},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("8Gi")}},
				},
			}},
		},
	}
	c.Add(e.sts, e.client, e.headless, e.cm, PDB(name, sel, 0))
	return e
}

func parseQuantity(s string) (resource.Quantity, error) { return resource.ParseQuantity(s) }
