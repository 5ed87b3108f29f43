// Command extend-profile shows how a Go program imports iotstack: it builds
// the minimal-3az profile, adds a component of its own (an Eclipse
// Mosquitto MQTT broker for device tests, one replica per zone), and
// synthesizes the result into a directory of plain YAML that
// `kubectl apply -k` accepts.
//
//	go run ./examples/extend-profile -out /tmp/my-stack
package main

import (
	"flag"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// MosquittoConfig is the example component's Config: documented fields,
// defaults filled by Default, checked by Validate.
type MosquittoConfig struct {
	// Replicas is the number of brokers; one per zone is the point.
	Replicas int32
	// Image is the broker image with a pinned tag.
	Image string
	// Resources are the broker's requests and limits.
	Resources stack.Resources
	// Placement says where the brokers run.
	Placement stack.Placement
}

// Default fills zero fields.
func (c *MosquittoConfig) Default() {
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.Image == "" {
		c.Image = "eclipse-mosquitto:2.0.22"
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("0.5", "256Mi")
	}
}

// Validate names the field, the value and what is allowed.
func (c MosquittoConfig) Validate() error {
	if c.Replicas < 1 {
		return fmt.Errorf("mosquitto: replicas %d; must be at least 1", c.Replicas)
	}
	return c.Resources.Validate("mosquitto.resources")
}

// Mosquitto is the handle dependents wire from.
type Mosquitto struct {
	// Host is the client Service's DNS name.
	Host string
	// Port is the MQTT port.
	Port int32
	// Client is the MQTT port as a network-policy endpoint: a component
	// that connects declares it with Uses(mq.Client), and the broker's
	// NetworkPolicy admits that component's pods (nothing else reaches
	// the broker).
	Client stack.Endpoint
}

// AddMosquitto adds the broker to s and returns its handle.
func AddMosquitto(s *stack.Stack, cfg MosquittoConfig) (*Mosquitto, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := s.AddComponent("mosquitto", stack.Meta{App: "mosquitto", Role: "broker", Version: "2.0.22"})
	if err != nil {
		return nil, err
	}
	sel := c.SelectorLabels()
	conf := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "mosquitto"},
		Data: map[string]string{"mosquitto.conf": "listener 1883\n" +
			"allow_anonymous true\n" +
			"persistence false\n" +
			"log_dest stdout\n"},
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: 1883, GID: 1883, FSGroup: 1883}),
		Containers: []corev1.Container{{
			Name:            "mosquitto",
			Image:           cfg.Image,
			Command:         []string{"mosquitto", "-c", "/mosquitto/config/mosquitto.conf"},
			Ports:           []corev1.ContainerPort{{Name: "mqtt", ContainerPort: 1883}},
			Resources:       cfg.Resources.Requirements(),
			ReadinessProbe:  stack.TCPProbe("mqtt", stack.ProbeTiming{PeriodSeconds: 5}),
			LivenessProbe:   stack.TCPProbe("mqtt", stack.ProbeTiming{InitialDelaySeconds: 10, PeriodSeconds: 20}),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "config", MountPath: "/mosquitto/config"}},
		}},
		Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: conf.Name}}}}},
	}
	if err := s.Topology().Place(&pod, sel, cfg.Placement); err != nil {
		return nil, fmt.Errorf("mosquitto: placement: %w", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "mosquitto"},
		Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{
			{Name: "mqtt", Port: 1883, TargetPort: intstr.FromString("mqtt")}}},
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "mosquitto"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(cfg.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: pod},
		},
	}
	c.Add(conf, svc, stack.PDB("mosquitto", sel, 1), deploy)
	return &Mosquitto{Host: s.ServiceHost(svc.Name), Port: 1883, Client: c.Pods("").Port("mqtt")}, nil
}

// run builds the extended stack and writes it to dir.
func run(dir string) (*stack.Output, *Mosquitto, error) {
	p, err := profiles.Get(profiles.Minimal3AZ)
	if err != nil {
		return nil, nil, err
	}
	s, err := p.Build(profiles.Options{})
	if err != nil {
		return nil, nil, err
	}
	pool := s.Topology().Pools[0].Name
	mq, err := AddMosquitto(s, MosquittoConfig{Placement: stack.Placement{Pool: pool, SpreadZones: true, OnePerHost: true}})
	if err != nil {
		return nil, nil, err
	}
	// ThingsBoard's rule engine publishes to the broker (an MQTT rule
	// node): declaring it lets the broker's NetworkPolicy admit it.
	if re := s.ComponentByName("tb-rule-engine"); re != nil {
		re.Uses(mq.Client)
	}
	out, err := s.Synth()
	if err != nil {
		return nil, nil, err
	}
	if err := stack.Write(stack.Target{Dir: dir, Output: out}); err != nil {
		return nil, nil, err
	}
	return out, mq, nil
}

func main() {
	dir := flag.String("out", "extended-stack", "directory to write the YAML to (replaced)")
	flag.Parse()
	out, mq, err := run(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d objects to %s; devices connect to %s:%d\n", len(out.Objects), *dir, mq.Host, mq.Port)
}
