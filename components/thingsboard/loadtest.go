package thingsboard

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// LoadTestImage is thingsboard/performance-tests' image at the version its
// documentation pins.
const LoadTestImage = "thingsboard/tb-ce-performance-test:3.3.3"

// maxConnectionsPerPod keeps each generator pod under the ~64.5k
// connections one client IP can open (thingsboard/performance-tests).
const maxConnectionsPerPod = 60000

// LoadTestConfig configures the ThingsBoard article's performance test: MQTT
// devices sending SMART_METER telemetry (3 data points per message).
type LoadTestConfig struct {
	// Replicas is the number of generator pods; default 10.
	Replicas int32
	// Devices is the total number of devices, split evenly over the pods;
	// default 100000.
	Devices int
	// MessagesPerSecond is the total rate over all pods; default 6667
	// (the ThingsBoard article's 20,000 data points per second).
	MessagesPerSecond int
	// DurationSeconds is how long each pod sends; default 3600.
	DurationSeconds int
	// Image overrides the pinned image.
	Image string
	// Pool is the client node pool; default "client".
	Pool string
	// Resources default to 1 CPU / 768 MiB limits.
	Resources stack.Resources
	// CredentialsSecret names the Secret with keys username and password
	// of a tenant administrator (with LOAD_DEMO: tenant@thingsboard.org);
	// it is not generated: create it before starting the test. Default
	// "tb-loadtest-rest".
	CredentialsSecret string
}

// Default fills zero fields.
func (c *LoadTestConfig) Default() {
	if c.Replicas == 0 {
		c.Replicas = 10
	}
	if c.Devices == 0 {
		c.Devices = 100000
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = 6667
	}
	if c.DurationSeconds == 0 {
		c.DurationSeconds = 3600
	}
	if c.Image == "" {
		c.Image = LoadTestImage
	}
	if c.Pool == "" {
		c.Pool = "client"
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("1", "768Mi")
	}
	if c.CredentialsSecret == "" {
		c.CredentialsSecret = "tb-loadtest-rest"
	}
}

// Validate checks a defaulted LoadTestConfig.
//
// It checks the configuration as the constructor uses it, with the
// defaults filled in (Default on a copy), so a zero field, which means
// the default, is valid wherever its default is.
func (c LoadTestConfig) Validate() error {
	c.Default()
	if c.Replicas < 1 || c.Replicas > 1000 {
		return fmt.Errorf("loadtest: replicas %d; allowed 1 to 1000", c.Replicas)
	}
	if c.Devices < 1 {
		return fmt.Errorf("loadtest: devices %d; must be at least 1", c.Devices)
	}
	if c.Devices%int(c.Replicas) != 0 {
		return fmt.Errorf("loadtest: devices %d do not split evenly over %d pods (each pod takes devices/replicas, the rest would never connect)", c.Devices, c.Replicas)
	}
	if per := c.Devices / int(c.Replicas); per > maxConnectionsPerPod {
		return fmt.Errorf("loadtest: %d devices per pod; one pod's IP opens about 64.5k connections, so keep it at most %d: use at least %d replicas", per, maxConnectionsPerPod, (c.Devices+maxConnectionsPerPod-1)/maxConnectionsPerPod)
	}
	if c.MessagesPerSecond < int(c.Replicas) {
		return fmt.Errorf("loadtest: messagesPerSecond %d is below one per pod (%d pods); MESSAGES_PER_SECOND is per pod", c.MessagesPerSecond, c.Replicas)
	}
	if c.DurationSeconds < 1 {
		return fmt.Errorf("loadtest: durationSeconds %d; must be at least 1", c.DurationSeconds)
	}
	if err := sts.CheckImages("loadtest", [2]string{"image", c.Image}); err != nil {
		return err
	}
	return c.Resources.Validate("loadtest.resources")
}

// NewLoadTest adds the performance test against target to s, a stack of
// its own so that applying ThingsBoard never starts load by accident.
func NewLoadTest(s *stack.Stack, target *Handle, cfg LoadTestConfig) error {
	if s == nil {
		return fmt.Errorf("loadtest: stack is nil; pass the stack to add the load test to")
	}
	if target == nil {
		return fmt.Errorf("loadtest: target is nil; pass the ThingsBoard handle thingsboard.New returned")
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return err
	}
	c, err := s.AddComponent("tb-ce-performance-test", stack.Meta{App: "tb-ce-performance-test", Role: "load-generator", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return err
	}
	c.Except("probes", "the load generator serves nothing to probe; it runs its test and idles")
	// The generators create devices through tb-core's REST API and
	// publish to the MQTT transport, in ThingsBoard's stack. A Handle
	// built by hand (ThingsBoard deployed by other means) has no
	// components to admit them: its own policies decide.
	for _, e := range []stack.Endpoint{target.RESTEndpoint(), target.MQTTEndpoint()} {
		if !e.IsZero() {
			c.Uses(e)
		}
	}
	s.External("Secret", cfg.CredentialsSecret, "tenant administrator credentials (keys username, password) of the ThingsBoard under test")
	sel := c.SelectorLabels()
	secret := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: cfg.CredentialsSecret}, Key: key}}
	}
	env := []corev1.EnvVar{
		{Name: "REST_URL", Value: target.RESTURL},
		{Name: "REST_USERNAME", ValueFrom: secret("username")},
		{Name: "REST_PASSWORD", ValueFrom: secret("password")},
		{Name: "MQTT_HOST", Value: target.MQTTHost},
		{Name: "MQTT_PORT", Value: "1883"},
		{Name: "DEVICE_API", Value: "MQTT"},
		{Name: "TEST_API", Value: "device"},
		{Name: "TEST_PAYLOAD_TYPE", Value: "SMART_METER"},
		{Name: "USE_INSTANCE_IDX", Value: "true"},
		{Name: "USE_INSTANCE_IDX_REGEX", Value: "true"},
		{Name: "INSTANCE_IDX_REGEX_SOURCE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "INSTANCE_IDX_REGEX", Value: "([0-9]+)$"},
		{Name: "DEVICE_COUNT", Value: fmt.Sprint(cfg.Devices / int(cfg.Replicas))},
		{Name: "DEVICE_CREATE_ON_START", Value: "true"},
		{Name: "DEVICE_DELETE_ON_COMPLETE", Value: "false"},
		{Name: "MESSAGES_PER_SECOND", Value: fmt.Sprint(cfg.MessagesPerSecond / int(cfg.Replicas))},
		{Name: "DURATION_IN_SECONDS", Value: fmt.Sprint(cfg.DurationSeconds)},
		{Name: "WARMUP_ENABLED", Value: "true"},
		{Name: "EXIT_AFTER_COMPLETE", Value: "false"},
		{Name: "JAVA_OPTS", Value: fmt.Sprintf("-Xmx%dm", cfg.Resources.HeapMiB(66))},
	}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: "tb-ce-performance-test", Service: "tb-ce-performance-test", Replicas: cfg.Replicas, Parallel: true, Selector: sel,
		Placement:   stack.Placement{Pool: cfg.Pool, SpreadZones: true},
		Security:    stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod: 30,
		Containers: []corev1.Container{{
			Name:            "load",
			Image:           cfg.Image,
			Env:             env,
			Resources:       cfg.Resources.Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(false),
		}},
	})
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	set.Spec.Template.Spec.AutomountServiceAccountToken = ptr.To(false)
	// Several generators per client node: prefer spreading them.
	set.Spec.Template.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
		Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: stack.HostnameLabel}}}}
	c.Add(sts.Headless("tb-ce-performance-test", sel, nil), set, stack.PDB("tb-ce-performance-test", sel, 0))
	return nil
}
