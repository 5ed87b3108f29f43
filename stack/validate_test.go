package stack

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestValidation breaks the sample component one way at a time; each
// case must fail with a message naming the component, the object, the
// field and what is wrong.
func TestValidation(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(s *Stack, e *echo)
		want   string
	}{
		{"duplicate object across components", func(s *Stack, e *echo) {
			other, _ := s.AddComponent("other", Meta{})
			other.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "echo-config"}, Data: map[string]string{"enabled": "no"}})
		}, `other: ConfigMap/demo/echo-config: owned twice: by component "echo" and by component "other"`},
		{"invalid object name", func(s *Stack, e *echo) {
			e.cm.Name = "Echo_Config"
		}, `echo: ConfigMap/demo/Echo_Config: metadata.name: "Echo_Config" must be a DNS-1123 subdomain`},
		{"Service name must start with a letter", func(s *Stack, e *echo) {
			e.client.Name = "1echo"
		}, `echo: Service/demo/1echo: metadata.name: "1echo" must be a DNS-1035 label`},
		{"StatefulSet name too long for pod hostnames", func(s *Stack, e *echo) {
			e.sts.Name = strings.Repeat("e", 53)
		}, "metadata.name: \"" + strings.Repeat("e", 53) + "\" must be a DNS-1123 label of at most 52 characters"},
		{"invalid label value", func(s *Stack, e *echo) {
			e.cm.Labels = map[string]string{"tier": "echo broker!"}
		}, `echo: ConfigMap/demo/echo-config: metadata.labels[tier]: "echo broker!" is not a valid label value`},
		{"invalid label key", func(s *Stack, e *echo) {
			e.cm.Labels = map[string]string{"bad key": "x"}
		}, `metadata.labels[bad key]: not a qualified label key`},
		{"Service selects nothing", func(s *Stack, e *echo) {
			e.client.Spec.Selector = map[string]string{LabelName: "nope"}
		}, `echo: Service/demo/echo: spec.selector: app.kubernetes.io/name=nope selects no pod template in the stack`},
		{"Service named targetPort missing", func(s *Stack, e *echo) {
			e.client.Spec.Ports[0].TargetPort = intstr.FromString("http")
		}, `echo: Service/demo/echo: spec.ports[0].targetPort: named port "http" is not a container port of StatefulSet/demo/echo`},
		{"Service port name too long", func(s *Stack, e *echo) {
			e.client.Spec.Ports[0].Name = "echo-protocol-port"
		}, `spec.ports[0].name: "echo-protocol-port" is not a valid port name`},
		{"container port name over 15 characters", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Ports[1].Name = "prometheus-metrics"
		}, `echo: StatefulSet/demo/echo: spec.template.spec.containers[0].ports[1].name: "prometheus-metrics" is not a valid port name`},
		{"PDB selects nothing", func(s *Stack, e *echo) {
			e.c.Add(PDB("orphan", map[string]string{LabelName: "ghost"}, 1))
		}, `echo: PodDisruptionBudget/demo/orphan: spec.selector: app.kubernetes.io/name=ghost selects no Deployment, StatefulSet, DaemonSet or ReplicaSet in the stack`},
		{"probe on a missing named port", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].ReadinessProbe = HTTPProbe("/ready", "http", ProbeTiming{})
		}, `echo: StatefulSet/demo/echo: spec.template.spec.containers[0].readinessProbe.httpGet.port: named port "http" is not a port of container "echo" (ports: echo, metrics)`},
		{"preStop on a missing named port", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("admin")}}}
		}, `spec.template.spec.containers[0].lifecycle.preStop.tcpSocket.port: named port "admin" is not a port of container "echo"`},
		{"ConfigMap volume dangling", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Volumes[0].ConfigMap.Name = "missing"
		}, `echo: StatefulSet/demo/echo: spec.template.spec.volumes[0].configMap.name: ConfigMap "missing" is not in the stack; add it to a component or declare it with Stack.External`},
		{"ConfigMap key missing", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Env[1].ValueFrom.ConfigMapKeyRef.Key = "mode"
		}, `spec.template.spec.containers[0].env[1].valueFrom.configMapKeyRef.key: ConfigMap "echo-config" has no key "mode" (keys: echo.conf, enabled)`},
		{"Secret reference dangling", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Name = "nope"
		}, `spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name: Secret "nope" is not in the stack`},
		{"declared Secret key missing", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Key = "token"
		}, `secretKeyRef.key: declared Secret "echo-auth" has no key "token" (keys: password)`},
		{"envFrom Secret dangling", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}}}}
		}, `spec.template.spec.containers[0].envFrom[0].secretRef.name: Secret "env" is not in the stack`},
		{"ServiceAccount dangling", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.ServiceAccountName = "echo"
		}, `spec.template.spec.serviceAccountName: ServiceAccount "echo" is not in the stack`},
		{"StorageClass dangling", func(s *Stack, e *echo) {
			e.sts.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr.To("fast")
		}, `spec.volumeClaimTemplates[0].spec.storageClassName: StorageClass "fast" is not in the stack`},
		{"PVC volume dangling", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Volumes = append(e.sts.Spec.Template.Spec.Volumes, corev1.Volume{Name: "extra", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "extra"}}})
		}, `spec.template.spec.volumes[1].persistentVolumeClaim.claimName: PersistentVolumeClaim "extra" is not in the stack`},
		{"volumeMount without volume", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "conf"
		}, `spec.template.spec.containers[0].volumeMounts[0].name: "conf" is not a volume of the pod (volumes: config, data)`},
		{"container without image", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Spec.Containers[0].Image = ""
		}, `spec.template.spec.containers[0].image: empty; every container needs an image with a pinned tag`},
		{"selector does not match template", func(s *Stack, e *echo) {
			e.sts.Spec.Template.Labels = map[string]string{LabelComponent: "other"}
		}, `echo: StatefulSet/demo/echo: spec.selector: app.kubernetes.io/component=server,app.kubernetes.io/instance=demo,app.kubernetes.io/name=echo does not match the pod template labels`},
		{"selector on an unstable label", func(s *Stack, e *echo) {
			e.sts.Spec.Selector.MatchLabels[LabelVersion] = "1.2.3"
		}, `spec.selector.matchLabels[app.kubernetes.io/version]: a selector is immutable and must use only the stable labels`},
		{"StatefulSet without serviceName", func(s *Stack, e *echo) {
			e.sts.Spec.ServiceName = ""
		}, `echo: StatefulSet/demo/echo: spec.serviceName: empty; a StatefulSet names the headless Service`},
		{"StatefulSet serviceName dangling", func(s *Stack, e *echo) {
			e.sts.Spec.ServiceName = "echo-peers"
		}, `spec.serviceName: Service "echo-peers" is not in the stack`},
		{"cluster-scoped object with a namespace", func(s *Stack, e *echo) {
			e.c.Add(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast", Namespace: "demo"}, Provisioner: "x"})
		}, `StorageClass is cluster-scoped but has namespace "demo"`},
		{"type outside the scheme", func(s *Stack, e *echo) {
			e.c.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "x"}})
		}, `is not a known Kubernetes API type (use *unstructured.Unstructured for CRD kinds)`},
		{"typed nil object", func(s *Stack, e *echo) {
			var d *appsv1.Deployment
			e.c.Add(d, nil)
		}, `echo: *v1.Deployment(nil): nil object`},
		{"unstructured without kind", func(s *Stack, e *echo) {
			u := &unstructured.Unstructured{Object: map[string]any{}}
			u.SetName("cr")
			e.c.Add(u)
		}, `unstructured object "cr" has no apiVersion or kind`},
		{"RoleBinding to a missing ServiceAccount", func(s *Stack, e *echo) {
			e.c.Add(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "echo"}},
				&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "echo"},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "echo"},
					Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "echo"}}})
		}, `echo: RoleBinding/demo/echo: subjects[0]: ServiceAccount demo/echo is not in the stack`},
		{"RoleBinding to a missing Role", func(s *Stack, e *echo) {
			e.c.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "echo"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "echo"}})
		}, `echo: RoleBinding/demo/echo: roleRef.name: Role "echo" is not in the stack`},
		{"Ingress to a missing Service", func(s *Stack, e *echo) {
			e.c.Add(ingressTo("web", "http"))
		}, `spec.rules[0].http.paths[0].backend.service.name: Service "web" is not in the stack`},
		{"Ingress to a missing Service port", func(s *Stack, e *echo) {
			e.c.Add(ingressTo("echo", "http"))
		}, `spec.rules[0].http.paths[0].backend.service.port.name: Service "echo" has no port named "http"`},
		{"Secret declared twice", func(s *Stack, e *echo) {
			other, _ := s.AddComponent("other", Meta{})
			other.DeclareSecret("echo-auth", SecretKey{Key: "password", Kind: RandomPassword})
		}, `other: Secret/demo/echo-auth: declared twice: by component "echo" and by component "other"`},
		{"declared Secret with a bad key kind", func(s *Stack, e *echo) {
			e.c.DeclareSecret("token", SecretKey{Key: "token", Kind: "uuid"})
		}, `echo: Secret/demo/token: keys[0].kind: "uuid"; allowed: "password", "cluster-id"`},
		{"declared password too short", func(s *Stack, e *echo) {
			e.c.DeclareSecret("token", SecretKey{Key: "token", Kind: RandomPassword, Length: 8})
		}, `keys[0].length: 8; a generated password needs 16 to 128 characters`},
		{"PDB with both budgets", func(s *Stack, e *echo) {
			p := PDB("both", e.c.SelectorLabels(), 1)
			p.Spec.MinAvailable = ptr.To(intstr.FromInt32(2))
			e.c.Add(p)
		}, `PodDisruptionBudget/demo/both: spec: minAvailable and maxUnavailable are both set`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStack(t)
			e := addEcho(t, s, "echo")
			if _, err := s.Synth(); err != nil {
				t.Fatalf("the unbroken fixture fails: %v", err)
			}
			tc.break_(s, e)
			_, err := s.Synth()
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not contain %q:\n%v", tc.want, err)
			}
			var ve *ValidationError
			if errors.As(err, &ve) && len(ve.Problems) == 0 {
				t.Fatalf("ValidationError without problems")
			}
		})
	}
}

func ingressTo(service, port string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: service, Port: networkingv1.ServiceBackendPort{Name: port}}},
				}},
			}},
		}}},
	}
}

// TestValidationReportsEverything checks that all problems come at once,
// sorted, so one run shows the whole list.
func TestValidationReportsEverything(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.sts.Spec.Template.Spec.Containers[0].Image = ""
	e.cm.Name = "Bad_Name"
	e.client.Spec.Selector = map[string]string{LabelName: "nope"}
	_, err := s.Synth()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %T %v; want *ValidationError", err, err)
	}
	// Bad_Name also breaks the two references to echo-config.
	if len(ve.Problems) < 3 {
		t.Fatalf("got %d problems, want at least 3:\n%v", len(ve.Problems), err)
	}
	if !strings.HasPrefix(err.Error(), "stack demo: ") {
		t.Errorf("error does not name the stack: %v", err)
	}
}

func TestOptionalReferencesAreNotRequired(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.sts.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "overrides"}, Optional: ptr.To(true)}}}
	if _, err := s.Synth(); err != nil {
		t.Fatal(err)
	}
}

func TestWorkloadKindsChecked(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: e.c.SelectorFor("web")},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: e.c.SelectorFor("web")},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.29", ReadinessProbe: TCPProbe("http", ProbeTiming{})}}}},
	}}
	e.c.Add(d)
	_, err := s.Synth()
	if err == nil || !strings.Contains(err.Error(), `echo: Deployment/demo/web: spec.template.spec.containers[0].readinessProbe.tcpSocket.port: named port "http"`) {
		t.Fatalf("got %v", err)
	}
}

// TestRuntimeLabels: a Service may select on a label a controller sets at
// run time, once the stack declares it; its other labels must still match.
func TestRuntimeLabels(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	sel := e.c.SelectorLabels()
	sel["role"] = "leader"
	e.c.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "echo-leader"}, Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{{Name: "echo", Port: 7000}}}})
	if _, err := s.Synth(); err == nil || !strings.Contains(err.Error(), "Service/demo/echo-leader: spec.selector") {
		t.Fatalf("undeclared runtime label: %v", err)
	}
	s.RuntimeLabel("role", "set by the echo leader election")
	if _, err := s.Synth(); err != nil {
		t.Fatal(err)
	}
	sel[LabelName] = "other"
	if _, err := s.Synth(); err == nil {
		t.Fatal("a runtime label excused a mismatch of the other labels")
	}
}
